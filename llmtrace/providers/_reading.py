"""Reading SDK objects: the small, defensive accessors every provider module uses on requests and responses.

SDK responses are pydantic models, dataclasses or plain dicts depending on the SDK (and on ``with_raw_response``);
providers read them through these so a missing or malformed field is None, never an exception.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

from ..call import LLMRecord

__all__ = [
    "SYSTEM_ROLES",
    "StreamedToolCalls",
    "add_finish_reason",
    "as_float",
    "as_int",
    "as_items",
    "as_stop_sequences",
    "as_tools",
    "get_path",
    "ids_from_first_chunk",
    "is_raw_response",
    "keep_function_calls",
    "keep_text",
    "parses_later",
    "read_choices",
    "read_token_usage",
    "server_of",
    "split_system",
]


def keep_function_calls(record: LLMRecord, calls: Sequence[Any]) -> None:
    """Tool calls in the ``{"id", "function": {"name", "arguments"}}`` shape most chat APIs share, kept for
    captured content (``gen_ai.output.messages``)."""
    for call in calls:
        function = get_path(call, "function")
        record.keep_tool_call(get_path(call, "id"), get_path(function, "name"), get_path(function, "arguments"))


class _PendingCall:
    """One tool call being streamed: its id and name (from whichever piece has them) and its arguments, whole (an
    object) or as the JSON text pieces seen so far."""

    __slots__ = ("arguments", "call_id", "name", "pieces")

    def __init__(self, call_id: Any, name: Any, arguments: Any) -> None:
        self.call_id = call_id
        self.name = name
        self.arguments = arguments
        self.pieces: list[str] = []


def _slot(index: Any) -> Any:
    """A stream's block or choice index as a dict key: an int or a string as sent, anything else (a malformed
    chunk's list or object) as no index."""
    return index if isinstance(index, (int, str)) else None


class StreamedToolCalls:
    """The tool calls a stream asks for, assembled from their pieces, in the order they started.

    Streams open a call (id, name) and then send its arguments as JSON text pieces: OpenAI-shaped
    ``delta.tool_calls`` (``delta``), Anthropic ``tool_use`` blocks with ``input_json_delta`` pieces, Bedrock
    ``toolUse`` blocks, Cohere ``tool-call-start``/``-delta`` events (``start`` and ``add``). ``flush`` counts
    them into the record and keeps them for captured content, so a streamed call reads as the same call unstreamed.
    """

    __slots__ = ("calls", "open")

    def __init__(self) -> None:
        self.calls: list[_PendingCall] = []
        self.open: dict[Any, _PendingCall] = {}  # the call each stream slot (block or choice/tool index) is filling

    def start(self, slot: Any, call_id: Any, name: Any, arguments: Any = None) -> None:
        """A call opens in ``slot`` (arguments: what the opening piece already holds, e.g. Anthropic's ``{}``)."""
        self._open(_slot(slot), call_id, name, arguments)

    def _open(self, key: Any, call_id: Any, name: Any, arguments: Any) -> _PendingCall:
        call = self.open[key] = _PendingCall(call_id, name, arguments)
        self.calls.append(call)
        return call

    def add(self, slot: Any, piece: Any) -> None:
        """A piece of the arguments of the call open in ``slot`` (ignored when none is, or it is no text)."""
        call = self.open.get(_slot(slot))
        if call is not None and isinstance(piece, str):
            call.pieces.append(piece)

    def delta(self, choice: Any, piece: Any) -> None:
        """One OpenAI-shaped ``tool_calls`` entry of a delta (``{"index", "id", "function": {"name",
        "arguments"}}``): a piece naming a new id opens a call, the others add to the call at their index. APIs
        that send each call whole in one piece (Mistral, with no index) are read by the same rule."""
        call_id = get_path(piece, "id")
        if call_id in ("", "null"):  # Mistral's SDK fills a missing id with the string "null"
            call_id = None
        function = get_path(piece, "function")
        slot = (_slot(choice), as_int(get_path(piece, "index")) or 0)
        call = self.open.get(slot)
        if call is None or (call_id is not None and call.call_id is not None and call_id != call.call_id):
            call = self._open(slot, call_id, None, None)
        call.call_id = call.call_id or call_id
        call.name = call.name or get_path(function, "name")
        arguments = get_path(function, "arguments")
        if isinstance(arguments, str):
            call.pieces.append(arguments)
        elif arguments is not None:
            call.arguments = arguments

    def flush(self, record: LLMRecord) -> None:
        """Count the calls into ``record`` and keep each one (id, name, arguments) for captured content."""
        for call in self.calls:
            text = "".join(call.pieces)
            record.tool_calls += 1
            record.keep_tool_call(call.call_id, call.name, text or call.arguments)
        self.calls, self.open = [], {}


def get_path(obj: Any, *names: str) -> Any:
    """Read ``obj.a.b`` or ``obj["a"]["b"]`` alike; None when any step is missing (SDK objects or raw dicts)."""
    for name in names:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def as_int(value: Any) -> int | None:
    """A token count as int, or None when the provider sent nothing usable (None, bool, negative, NaN, infinite
    (JSON parsers accept ``Infinity``), junk)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value)


def as_float(value: Any) -> float | None:
    """A numeric request parameter (temperature, top_p, ...) as float, or None when absent or not a number."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def as_items(value: Any) -> list[Any] | tuple[Any, ...]:
    """A response's list field (choices, content blocks, tool calls) as a sequence; anything else as empty."""
    return value if isinstance(value, (list, tuple)) else ()


def as_stop_sequences(value: Any) -> list[str] | None:
    """Stop sequences in any of the shapes SDKs take them (one string, a list or tuple of them) as a list of
    strings; None when there are none."""
    if isinstance(value, str):
        return [value] if value else None
    if isinstance(value, (list, tuple)) and value:
        return [str(s) for s in value]
    return None


def keep_text(record: LLMRecord, text: Any) -> bool:
    """Add a piece of completion text to the record; whether it was one (a non-empty string)."""
    if isinstance(text, str) and text:
        record.output_text.append(text)
        return True
    return False


def add_finish_reason(record: LLMRecord, choice: Any) -> bool:
    """Keep a choice's ``finish_reason`` (the provider's spelling; the core maps it); whether it had one."""
    reason = get_path(choice, "finish_reason")
    if reason:
        record.finish_reasons.append(str(reason))
    return bool(reason)


def read_choices(record: LLMRecord, choices: Any, read_text: Callable[[LLMRecord, Any], bool] = keep_text) -> None:
    """The ``choices`` of a whole OpenAI-shaped response, which many APIs copy: each choice's text (a chat
    ``message``'s content, or a completion's ``text``) through ``read_text``, its tool calls and its finish reason."""
    for choice in as_items(choices):
        message = get_path(choice, "message")
        read_text(record, get_path(message, "content") if message is not None else get_path(choice, "text"))
        calls = as_items(get_path(message, "tool_calls"))
        record.tool_calls += len(calls)
        keep_function_calls(record, calls)
        add_finish_reason(record, choice)


SYSTEM_ROLES = ("system", "developer")  # OpenAI's newer name for the system prompt; other APIs copy both


def split_system(messages: Any) -> tuple[Any, list[Any] | None]:
    """Chat messages -> (the conversation, its system prompts or None). The system prompts identify the prompt
    template (``hashing.template_text`` turns any of their shapes into the template's text), so every provider
    splits them by this one rule; anything but a list or tuple is returned as it is."""
    if not isinstance(messages, (list, tuple)):
        return messages, None
    system = [m for m in messages if get_path(m, "role") in SYSTEM_ROLES]
    if not system:
        return messages, None
    return [m for m in messages if get_path(m, "role") not in SYSTEM_ROLES], system


def read_token_usage(record: LLMRecord, usage: Any) -> bool:
    """The two counts of an OpenAI-shaped usage object (``prompt_tokens`` includes cached tokens,
    ``completion_tokens`` reasoning ones), which many APIs copy; False when there is no usage. The callers read
    their API's own extra fields after it."""
    if usage is None:
        return False
    record.input_tokens = as_int(get_path(usage, "prompt_tokens"))
    record.output_tokens = as_int(get_path(usage, "completion_tokens"))
    return True


def ids_from_first_chunk(record: LLMRecord, chunk: Any) -> None:
    """A stream's response id and model, from the first chunk that has them (OpenAI-shaped chunks repeat them)."""
    if record.response_id is None:
        record.response_id = get_path(chunk, "id")
        record.response_model = get_path(chunk, "model")


def as_tools(value: Any) -> list[Any] | tuple[Any, ...] | None:
    """The request's tool definitions when it has any (a non-empty list), else None: nothing to hash or count."""
    return value if isinstance(value, (list, tuple)) and value else None


def server_of(client: Any) -> tuple[str | None, int | None]:
    """Host and port of an SDK client's base URL (remembered per URL object: clients are few, calls are many)."""
    url = get_path(client, "base_url")
    if url is None:
        return None, None
    if isinstance(url, str):
        return _split_url(url)
    cached = _URLS.get(id(url))
    if cached is not None and cached[0] is url:
        return cached[1]
    server = _split_url(str(url))
    if len(_URLS) >= 256:
        _URLS.clear()
    _URLS[id(url)] = (url, server)  # holding the URL keeps its id unique while cached
    return server


_URLS: dict[int, tuple[Any, tuple[str | None, int | None]]] = {}


def is_raw_response(response: Any) -> bool:
    """Whether an SDK returned its raw-response wrapper (``with_raw_response``): decided once per type, because
    asking a pydantic model for a missing attribute costs microseconds (it raises inside ``__getattr__``)."""
    kind = type(response)
    raw = _RAW_TYPES.get(kind)
    if raw is None:
        # every instance of a wrapper type sets ``http_response`` in __init__: the first one answers for its type
        raw = _RAW_TYPES[kind] = hasattr(response, "http_response") and callable(getattr(response, "parse", None))
    return raw


_RAW_TYPES: dict[type, bool] = {}


def parses_later(record: LLMRecord, response: Any) -> bool:
    """Whether a raw response still holds what the call is about: a stream (made on ``parse()``), or a body that
    only an async ``parse()`` can read (``with_streaming_response``). A sync raw body is parsed on the spot."""
    return is_raw_response(response) and (record.streaming or inspect.iscoroutinefunction(response.parse))


@functools.lru_cache(maxsize=256)
def _split_url(url: str) -> tuple[str | None, int | None]:
    """Parsed once per distinct base URL: clients are few, calls are many."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None)
    return parts.hostname, port
