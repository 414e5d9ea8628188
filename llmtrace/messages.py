"""Opt-in content in the OTel GenAI message schema: ``{"role", "parts": [...]}`` for input and output alike.

Used only when ``capture_content`` is on. Providers keep the request's messages as the SDK took them (that is what
``llm.prompt.hash`` hashes); this module turns them into the conventions' JSON (semantic-conventions v1.41.0,
``docs/gen-ai/gen-ai-{input,output}-messages.json`` and ``gen-ai-system-instructions.json``). Parts are typed
``text``, ``tool_call`` (id, name, arguments), ``tool_call_response`` (id, response) and ``reasoning``; a block of
any other kind (an image, a document) is kept as ``{"type": <its kind>}``, without its data.

The content blocks recognised here are the shapes the chat APIs share: role/content messages with ``tool_calls``
and ``tool`` results, typed blocks (``text``, ``tool_use``, ``tool_result``, ``thinking``), and the camel/snake-cased
single-key blocks (``text``, ``toolUse``/``toolResult``, ``function_call``/``function_response``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .hashing import canonical_json, to_jsonable

__all__ = ["input_messages", "output_messages", "redact_leaves", "system_parts", "to_plain"]

Part = dict[str, Any]
_ROLES = {"model": "assistant", "chatbot": "assistant", "ai": "assistant", "developer": "system", "human": "user"}
# Normalized llm.stop_reason -> the conventions' FinishReason.
_FINISH = {"stop": "stop", "length": "length", "tool_use": "tool_call", "content_filter": "content_filter"}


def input_messages(messages: Any) -> list[dict[str, Any]]:
    """The request's messages (as the SDK took them) as a list of ``{"role", "parts"}`` messages."""
    if isinstance(messages, (str, bytes)) or not isinstance(messages, (list, tuple)):
        messages = [messages]
    converted = [_message(_plain(m)) for m in messages if m is not None]
    return [m for m in converted if m is not None]


def system_parts(system: Any) -> list[Part]:
    """System instructions (a string, blocks, or system messages) as a list of parts."""
    items = system if isinstance(system, (list, tuple)) else [system]
    parts: list[Part] = []
    for item in (_plain(i) for i in items):
        if isinstance(item, dict) and "role" in item:
            parts.extend(_content_parts(_content_of(item)))
        else:
            parts.extend(_content_parts(item))
    return parts


def output_messages(text: str, tool_calls: list[tuple[Any, Any, Any]] | None, finish: str | None) -> list[Any]:
    """The completion as one assistant message: its text, then its tool calls, and why it finished."""
    parts: list[Part] = [{"type": "text", "content": text}] if text else []
    parts += [_tool_call(call_id, name, arguments) for call_id, name, arguments in tool_calls or ()]
    return [{"role": "assistant", "parts": parts, "finish_reason": _FINISH.get(finish or "", finish or "error")}]


def to_plain(value: Any) -> Any:
    """``value`` as plain JSON data (dicts, lists, strings, numbers), SDK objects inside it included."""
    return json.loads(canonical_json(value))


def redact_leaves(value: Any, redact: Callable[[str], str]) -> Any:
    """Every string in ``value`` (not the keys) through ``redact``, so the JSON stays valid after redaction."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_leaves(item, redact) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_leaves(item, redact) for item in value]
    return value


# -- messages -----------------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """SDK objects (pydantic models, dataclass-like types) as plain data; dicts and strings as they are."""
    if isinstance(value, (dict, str, list, tuple)) or value is None:
        return value
    return to_jsonable(value)


def _message(m: Any) -> dict[str, Any] | None:
    if not isinstance(m, dict):
        return {"role": "user", "parts": _content_parts(m)}
    kind = m.get("type")
    if kind == "function_call":  # an input item replaying the model's tool call
        return {
            "role": "assistant",
            "parts": [_tool_call(m.get("call_id") or m.get("id"), m.get("name"), m.get("arguments"))],
        }
    if kind == "function_call_output":
        return {"role": "tool", "parts": [_tool_response(m.get("call_id"), m.get("output"))]}
    if "role" not in m and not any(k in m for k in ("content", "parts", "message")):
        return {"role": "user", "parts": _content_parts(m)}
    role = _role(m.get("role"))
    content = _content_of(m)
    if role == "tool" and m.get("tool_call_id") is not None:
        parts = [_tool_response(m.get("tool_call_id"), _response_value(content))]
    else:
        parts = _content_parts(content)
    for call in m.get("tool_calls") or ():
        call = _plain(call)
        if isinstance(call, dict):
            function = _plain(call.get("function")) or {}
            parts.append(_tool_call(call.get("id"), function.get("name"), function.get("arguments")))
    return {"role": role, "parts": parts}


def _role(role: Any) -> str:
    text = str(getattr(role, "value", role) or "user").lower()
    return _ROLES.get(text, text)


def _content_of(m: dict[str, Any]) -> Any:
    for key in ("content", "parts", "message"):
        if key in m:
            return m[key]
    return None


def _content_parts(content: Any) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, (list, tuple)):
        return [part for block in content for part in _block(_plain(block))]
    return _block(_plain(content))


def _block(block: Any) -> list[Part]:
    """One content block as parts (usually one)."""
    if isinstance(block, str):
        return [{"type": "text", "content": block}] if block else []
    if not isinstance(block, dict):
        return [] if block is None else [{"type": "text", "content": str(block)}]
    kind = block.get("type")
    if kind in ("text", "input_text", "output_text") or (kind is None and isinstance(block.get("text"), str)):
        return [{"type": "text", "content": str(block.get("text") or "")}]
    if kind == "tool_use":
        return [_tool_call(block.get("id"), block.get("name"), block.get("input"))]
    if kind == "tool_result":
        return [_tool_response(block.get("tool_use_id"), _response_value(block.get("content")))]
    if kind == "thinking":
        return [{"type": "reasoning", "content": str(block.get("thinking") or "")}]
    return _keyed_block(block) or [{"type": str(kind or next(iter(block), "unknown"))}]


def _keyed_block(block: dict[str, Any]) -> list[Part]:
    """Blocks named by their single key: ``toolUse``/``toolResult`` and ``function_call``/``function_response``."""
    use = block.get("toolUse")
    if isinstance(use, dict):
        return [_tool_call(use.get("toolUseId"), use.get("name"), use.get("input"))]
    result = block.get("toolResult")
    if isinstance(result, dict):
        return [_tool_response(result.get("toolUseId"), _response_value(result.get("content")))]
    call = block.get("function_call", block.get("functionCall"))
    if isinstance(call, dict):
        return [_tool_call(call.get("id"), call.get("name"), call.get("args"))]
    response = block.get("function_response", block.get("functionResponse"))
    if isinstance(response, dict):
        return [_tool_response(response.get("id") or response.get("name"), response.get("response"))]
    return []


def _tool_call(call_id: Any, name: Any, arguments: Any) -> Part:
    return {"type": "tool_call", "id": _id(call_id), "name": str(name or ""), "arguments": _arguments(arguments)}


def _tool_response(call_id: Any, response: Any) -> Part:
    return {"type": "tool_call_response", "id": _id(call_id), "response": response}


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


def _arguments(arguments: Any) -> Any:
    """Tool arguments as an object when they are JSON text (OpenAI-style APIs send a string)."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments
    return _plain(arguments)


def _response_value(content: Any) -> Any:
    """A tool result: its text when it is text (or text blocks), else the value as plain data."""
    content = _plain(content)
    if isinstance(content, (list, tuple)):
        texts = [p["content"] for block in content for p in _block(_plain(block)) if p.get("type") == "text"]
        if len(texts) == len(content):
            return "".join(texts)
        return [_plain(block) for block in content]
    return content
