"""Fingerprints of prompts, system prompts, tools and completions: identify without storing.

Canonical JSON (sorted keys, no whitespace) makes equal content hash equal regardless of dict order or
SDK object type. With a key configured the hash is an HMAC, so a short guessable prompt ("yes") cannot be
confirmed from the exported hash; the key id (first 8 hex of sha256(key)) travels with it for rotation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

__all__ = ["Hasher", "canonical_arguments", "canonical_json", "template_text", "text_length", "to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """JSON ``default=`` hook: pydantic models (SDK types) and other objects become plain data."""
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_none=True)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    return str(obj)


def canonical_json(obj: Any) -> str:
    """Deterministic JSON text of ``obj``: sorted keys, compact separators, unicode kept."""
    return _ENCODER.encode(obj)


# One encoder for every call: ``json.dumps`` with options builds a new JSONEncoder each time.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=to_jsonable)


def canonical_arguments(arguments: Any) -> str:
    """Tool-call arguments as canonical JSON text, whether they come as an object or as JSON text.

    OpenAI sends a tool call's arguments as JSON text, Anthropic and Gemini as an object, and a tool receives them as
    keyword arguments: all of them canonicalize alike, so the hash of what the model asked for equals the hash of
    what the tool was given. Text that is not JSON stays as it is.
    """
    if isinstance(arguments, (str, bytes)):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return arguments if isinstance(arguments, str) else arguments.decode("utf-8", "replace")
    return canonical_json(arguments)


_TEXT_KEYS = frozenset({"content", "text", "input", "prompt", "thinking"})


def text_length(obj: Any) -> int:
    """Characters of text content in a message structure (strings under content/text keys, or bare strings)."""
    if isinstance(obj, str):
        return len(obj)
    if isinstance(obj, dict):
        return sum(text_length(v) for k, v in obj.items() if k in _TEXT_KEYS)
    if isinstance(obj, (list, tuple)):
        return sum(text_length(item) for item in obj)
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return text_length(dump(exclude_none=True))
    return 0


def template_text(system: Any) -> str | None:
    """The text that identifies a prompt template, whatever shape a provider gives the system prompt.

    One rule for every provider, so one template has one ``llm.prompt.system_hash``: Anthropic's ``system=`` string
    or text blocks, OpenAI/Mistral/Cohere/Ollama/LiteLLM system (and developer) messages, Gemini's
    ``system_instruction`` parts and Bedrock's ``system`` blocks all reduce to their text pieces, in order, joined by
    a newline. Blocks without text (cache points) add nothing. None when there is no text at all (the caller then
    hashes the structure).
    """
    if isinstance(system, str):
        return system
    pieces: list[str] = []
    _collect_text(system, pieces)
    return "\n".join(pieces) if pieces else None


def _collect_text(obj: Any, out: list[str]) -> None:
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _collect_text(item, out)
    elif isinstance(obj, dict):
        for key in ("content", "text", "parts"):  # a message, a text block or part, a Gemini Content
            if key in obj:
                _collect_text(obj[key], out)
                return
    elif callable(dump := getattr(obj, "model_dump", None)):
        _collect_text(dump(exclude_none=True), out)


_MEMO_SIZE = 512


class Hasher:
    """Hashes canonical content with sha256, or HMAC-sha256 when a key is configured.

    System prompts (immutable strings) and tool lists (usually module constants) repeat on every call of an
    agent, so their hashes are memoized: strings by value, tool lists by identity + length (a list mutated in
    place to the same length keeps its old hash until evicted; build a new list to change tools).
    """

    __slots__ = ("_key", "_prefix", "_text_memo", "_tools_memo")

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key
        self._prefix = f"hmac-sha256:{hashlib.sha256(key).hexdigest()[:8]}:" if key else "sha256:"
        self._text_memo: dict[str, str] = {}
        self._tools_memo: dict[int, tuple[Any, int, str]] = {}

    def hash_text(self, text: str) -> str:
        data = text.encode("utf-8", "surrogatepass")
        if self._key is None:
            return self._prefix + hashlib.sha256(data).hexdigest()
        return self._prefix + hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def hash_obj(self, obj: Any) -> str:
        if isinstance(obj, str):
            return self.hash_str(obj)
        return self.hash_text(canonical_json(obj))

    def hash_str(self, text: str) -> str:
        """``hash_text`` memoized by value, for strings that repeat (system prompts)."""
        digest = self._text_memo.get(text)
        if digest is None:
            if len(self._text_memo) >= _MEMO_SIZE:
                self._text_memo.clear()
            digest = self._text_memo[text] = self.hash_text(text)
        return digest

    def hash_tools(self, tools: list[Any]) -> str:
        """Tool definitions hash independent of their order: the set of tools identifies a toolbox."""
        cached = self._tools_memo.get(id(tools))
        if cached is not None and cached[0] is tools and cached[1] == len(tools):
            return cached[2]
        items = sorted(canonical_json(tool) for tool in tools)
        digest = self.hash_text("[" + ",".join(items) + "]")
        if len(self._tools_memo) >= _MEMO_SIZE:
            self._tools_memo.clear()
        self._tools_memo[id(tools)] = (tools, len(tools), digest)  # holding `tools` keeps its id unique
        return digest
