"""Amazon Bedrock Runtime (``boto3`` / ``botocore``): Converse, ConverseStream, InvokeModel and
InvokeModelWithResponseStream, sync only (boto3 has no async client; aioboto3 is not covered).

botocore builds client classes at run time, so the one stable place every call passes through is
``botocore.client.BaseClient._make_api_call``; it is wrapped once, covers clients made before and after
``instrument()``, and lets every other service and operation through untouched. Bedrock reports input tokens
without the cached ones (``cacheReadInputTokens`` / ``cacheWriteInputTokens`` apart, like Anthropic), so llmtrace's
``input`` adds them back. InvokeModel bodies are each model family's own JSON (Anthropic messages, Meta Llama,
Amazon Nova and Titan, Mistral, Cohere); where a body carries no usage, the ``x-amzn-bedrock-*-token-count``
headers (or a stream's ``amazon-bedrock-invocationMetrics``) do. Errors are one ``ClientError`` class per error
code, generated per botocore session, so the error table matches them by code.
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Callable
from typing import Any

from .._guard import report_internal_error
from ..call import LLMRecord
from ..classification import ErrorRules, ErrorTable, response_headers, response_status, valid_status
from ..retries import Transport
from ..semconv import ErrorType, FinishReason
from ..streams import StreamState
from ._contract import Provider, Streamed, WrapTarget
from ._instrumentor import instrumentor_class
from ._reading import (
    StreamedToolCalls,
    as_float,
    as_int,
    as_items,
    as_stop_sequences,
    as_tools,
    get_path,
    keep_text,
    server_of,
)

__all__ = [
    "PROVIDER",
    "TARGETS",
    "BedrockInstrumentor",
    "errors",
    "model_id",
    "read_request",
    "read_response",
    "settle",
    "stream_in",
    "stream_state",
]

SERVICE = "bedrock-runtime"
TARGETS = (WrapTarget("botocore.client", "BaseClient._make_api_call", "chat"),)
# operation -> (streams, response key holding the event stream)
_OPERATIONS: dict[str, tuple[bool, str | None]] = {
    "Converse": (False, None),
    "ConverseStream": (True, "stream"),
    "InvokeModel": (False, None),
    "InvokeModelWithResponseStream": (True, "body"),
}
# request parameter -> its spellings across Converse's inferenceConfig and the model families' native bodies
_PARAMS: dict[str, tuple[str, ...]] = {
    "temperature": ("temperature",),
    "max_tokens": ("maxTokens", "max_tokens", "max_gen_len", "maxTokenCount", "max_new_tokens"),
    "top_p": ("topP", "top_p", "p"),
    "top_k": ("topK", "top_k", "k"),
    "seed": ("seed", "random_seed"),
    "stop": ("stopSequences", "stop_sequences", "stop"),
}
_STOP_KEYS = ("stop_reason", "stopReason", "finish_reason", "completionReason")
_CONFIG_KEYS = ("inferenceConfig", "textGenerationConfig", "additionalModelRequestFields")


def model_id(raw: Any) -> str | None:
    """The model id of a ``modelId``: foundation-model and inference-profile ARNs give their trailing id
    (``arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-...`` -> ``anthropic.claude-...``);
    plain ids, cross-region profiles (``us.``/``eu.``/``global.``) and opaque application-profile ARNs stay."""
    if not isinstance(raw, str) or not raw:
        return None
    if raw.startswith("arn:") and "/" in raw:
        kind, _, rest = raw.split(":", 5)[-1].partition("/")
        if kind in ("foundation-model", "inference-profile") and rest:
            return rest
    return raw


def _service(client: Any) -> str | None:
    return get_path(client, "meta", "service_model", "service_name")


def _param(sources: list[dict[str, Any]], name: str) -> Any:
    return next((s[key] for s in sources for key in _PARAMS[name] if key in s), None)


def _request_body(params: dict[str, Any]) -> dict[str, Any]:
    """InvokeModel's ``body`` (bytes, str or a seekable file) as JSON; the file is rewound for the SDK."""
    body = params.get("body")
    if hasattr(body, "read"):
        if not (hasattr(body, "seek") and getattr(body, "seekable", lambda: True)()):
            return {}  # a one-shot stream is the SDK's to read
        position = body.tell()
        data = body.read()
        body.seek(position)
        body = data
    try:
        parsed = json.loads(body) if isinstance(body, (bytes, bytearray, str)) else None
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def read_request(target: WrapTarget, client: Any, kwargs: dict[str, Any]) -> LLMRecord | None:
    """Read one bedrock-runtime call (``_make_api_call(operation_name, api_params)``) into a record; every other
    service and operation is not an LLM call (None)."""
    operation = kwargs.get("operation_name")
    if operation not in _OPERATIONS or _service(client) != SERVICE:
        return None
    params = kwargs.get("api_params") or {}
    streaming, _ = _OPERATIONS.get(operation, (False, None))
    host, port = server_of({"base_url": get_path(client, "meta", "endpoint_url")})
    record = LLMRecord(provider="bedrock", operation="chat", model=model_id(params.get("modelId")), streaming=streaming)
    record.server_address, record.server_port = host, port
    region = get_path(client, "meta", "region_name")
    record.region = region if isinstance(region, str) and region else None
    if operation in ("Converse", "ConverseStream"):
        _converse_request(record, params)
    else:
        _invoke_request(record, _request_body(params))
    return record


def _converse_request(record: LLMRecord, params: dict[str, Any]) -> None:
    sources = [params.get(k) or {} for k in _CONFIG_KEYS]
    _request_params(record, sources)
    record.messages = params.get("messages")
    record.system = params.get("system") or None
    _tools(record, get_path(params, "toolConfig", "tools"))


def _invoke_request(record: LLMRecord, body: dict[str, Any]) -> None:
    """Any model family's native body: the keys differ, the meaning does not."""
    sources = [body, *(body.get(k) or {} for k in _CONFIG_KEYS)]
    _request_params(record, [s for s in sources if isinstance(s, dict)])
    if "texts" in body or ("inputText" in body and "embed" in (record.model or "")):
        record.operation = "embeddings"
        record.messages = body.get("texts") or body.get("inputText")
        return
    if "messages" in body or "message" in body:
        history = body.get("chat_history") or []
        record.messages = body.get("messages") or [*history, {"role": "USER", "message": body.get("message")}]
    else:
        record.operation = "completion"
        record.messages = body.get("prompt") or body.get("inputText")
    record.system = body.get("system") or body.get("preamble") or None
    _tools(record, body.get("tools") or get_path(body, "toolConfig", "tools"))


def _request_params(record: LLMRecord, sources: list[dict[str, Any]]) -> None:
    record.temperature = as_float(_param(sources, "temperature"))
    record.max_tokens = as_int(_param(sources, "max_tokens"))
    record.top_p = as_float(_param(sources, "top_p"))
    record.top_k = as_float(_param(sources, "top_k"))
    record.seed = as_int(_param(sources, "seed"))
    record.stop_sequences = as_stop_sequences(_param(sources, "stop"))


def _tools(record: LLMRecord, tools: Any) -> None:
    """Converse and Nova wrap each tool as ``{"toolSpec": {...}}``: unwrap so names and hashes match other APIs."""
    if as_tools(tools):
        record.tools = [t.get("toolSpec", t) if isinstance(t, dict) else t for t in tools]


# -- responses --------------------------------------------------------------------------------------------------------


def read_response(record: LLMRecord, response: Any) -> None:
    """Read a Converse response; any response's request id (InvokeModel bodies: ``_read_invoke_body_once``)."""
    if record.response_id is None:
        record.response_id = get_path(response, "ResponseMetadata", "RequestId")
    if isinstance(response, dict) and ("output" in response or "stopReason" in response):
        _read_message(record, get_path(response, "output", "message"))
        _finish(record, response.get("stopReason"))
        _converse_usage(record, response.get("usage"))


def _finish(record: LLMRecord, reason: Any) -> None:
    if reason:
        record.finish_reasons.append(str(reason))


def _read_message(record: LLMRecord, message: Any) -> None:
    for block in as_items(get_path(message, "content")):
        keep_text(record, get_path(block, "text"))
        use = get_path(block, "toolUse")
        if use is not None:
            record.tool_calls += 1
            record.keep_tool_call(get_path(use, "toolUseId"), get_path(use, "name"), get_path(use, "input"))


def _add_usage(record: LLMRecord, uncached: Any, output: Any, cache_read: Any, cache_write: Any) -> None:
    """Bedrock's input count leaves out cache reads and writes; llmtrace's input includes them."""
    read, write = as_int(cache_read) or 0, as_int(cache_write) or 0
    if (uncached := as_int(uncached)) is not None:
        record.input_tokens = uncached + read + write
    if (output := as_int(output)) is not None:
        record.output_tokens = output
    record.cache_read_tokens = read or record.cache_read_tokens
    record.cache_write_tokens = write or record.cache_write_tokens


def _converse_usage(record: LLMRecord, usage: Any) -> None:
    if isinstance(usage, dict):
        _add_usage(
            record,
            usage.get("inputTokens"),
            usage.get("outputTokens"),
            usage.get("cacheReadInputTokens", usage.get("cacheReadInputTokenCount")),
            usage.get("cacheWriteInputTokens", usage.get("cacheWriteInputTokenCount")),
        )


def _header_usage(record: LLMRecord, headers: Any) -> None:
    """InvokeModel's usage headers: every model family has them, whatever its body says."""
    if not isinstance(headers, dict) or "x-amzn-bedrock-input-token-count" not in headers:
        return
    if record.operation == "embeddings":
        record.output_tokens = 0
    _add_usage(
        record,
        _int_text(headers.get("x-amzn-bedrock-input-token-count")),
        _int_text(headers.get("x-amzn-bedrock-output-token-count")),
        _int_text(headers.get("x-amzn-bedrock-cache-read-input-token-count")),
        _int_text(headers.get("x-amzn-bedrock-cache-write-input-token-count")),
    )


def _int_text(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _read_invoke_body(record: LLMRecord, body: dict[str, Any]) -> None:
    """A non-streamed InvokeModel body of any model family."""
    if record.operation == "embeddings":
        record.output_tokens = 0
        _add_usage(record, body.get("inputTextTokenCount"), None, None, None)
        return
    if "id" in body or "response_id" in body:
        record.response_id = body.get("id") or body.get("response_id")
    _read_text_fields(record, body)
    usage = body.get("usage")
    if isinstance(usage, dict) and "input_tokens" in usage:  # Anthropic
        _add_usage(
            record,
            usage.get("input_tokens"),
            usage.get("output_tokens"),
            usage.get("cache_read_input_tokens"),
            usage.get("cache_creation_input_tokens"),
        )
    else:  # Nova (camelCase), Llama, Titan text; Mistral and Cohere have only the headers
        _converse_usage(record, usage)
        output = body.get("generation_token_count")
        if output is None and isinstance(body.get("results"), list):
            output = sum(as_int(get_path(r, "tokenCount")) or 0 for r in body["results"])
        _add_usage(record, body.get("prompt_token_count", body.get("inputTextTokenCount")), output, None, None)


def _read_text_fields(record: LLMRecord, body: dict[str, Any]) -> bool:
    """Text, tool calls and stop reason in whichever family's shape; returns whether text or a tool call came."""
    before = (len(record.output_text), record.tool_calls)
    for block in body.get("content") or ():  # Anthropic message
        if get_path(block, "type") in ("tool_use", "server_tool_use"):
            record.tool_calls += 1
            record.keep_tool_call(get_path(block, "id"), get_path(block, "name"), get_path(block, "input"))
        keep_text(record, get_path(block, "text"))
    _read_message(record, get_path(body, "output", "message"))  # Nova
    keep_text(record, body.get("generation"))  # Llama
    keep_text(record, body.get("outputText"))  # Titan stream
    keep_text(record, body.get("text"))  # Cohere
    for part in body.get("results") or body.get("outputs") or body.get("choices") or ():  # Titan, Mistral
        keep_text(
            record, get_path(part, "outputText") or get_path(part, "text") or get_path(part, "message", "content")
        )
        _finish(record, get_path(part, "completionReason") or get_path(part, "stop_reason"))
        _finish(record, get_path(part, "finish_reason"))
    _finish(record, next((body[k] for k in _STOP_KEYS if body.get(k)), None))
    return (len(record.output_text), record.tool_calls) != before


# -- streams ----------------------------------------------------------------------------------------------------------


class BedrockStreamState(StreamState):
    """ConverseStream events, or InvokeModelWithResponseStream ``chunk`` events of any model family.

    The stream is complete when its closing usage arrived: ConverseStream's ``metadata`` event, or the
    ``amazon-bedrock-invocationMetrics`` Bedrock appends to the last chunk of every model family. A tool call
    opens a block (``toolUse`` with its id and name, or Anthropic's ``tool_use``) whose input follows as JSON text
    pieces.
    """

    __slots__ = ("done", "record", "tools")

    def __init__(self, record: LLMRecord) -> None:
        self.record = record
        self.done = False
        self.tools = StreamedToolCalls()

    def process_chunk(self, event: Any) -> bool:
        if not isinstance(event, dict):
            return False
        chunk = event.get("chunk")
        if chunk is not None:
            return self._model_chunk(chunk)
        return self._converse_event(event)

    def _converse_event(self, event: dict[str, Any]) -> bool:
        record = self.record
        if "contentBlockDelta" in event:
            block = event["contentBlockDelta"]
            delta = get_path(block, "delta")
            if not keep_text(record, get_path(delta, "text")):
                self.tools.add(get_path(block, "contentBlockIndex"), get_path(delta, "toolUse", "input"))
            return bool(delta)
        use = get_path(event, "contentBlockStart", "start", "toolUse")
        if use is not None:
            index = get_path(event, "contentBlockStart", "contentBlockIndex")
            self.tools.start(index, get_path(use, "toolUseId"), get_path(use, "name"))
        elif "messageStop" in event:
            _finish(record, get_path(event, "messageStop", "stopReason"))
        elif "metadata" in event:
            _converse_usage(record, get_path(event, "metadata", "usage"))
            self.done = True
        return False

    def _model_chunk(self, chunk: Any) -> bool:
        raw = get_path(chunk, "bytes")
        body = json.loads(raw) if isinstance(raw, (bytes, str)) else None
        if not isinstance(body, dict):
            return False
        metrics = body.pop("amazon-bedrock-invocationMetrics", None)
        content = self._converse_event(body) or self._anthropic_event(body)
        if body.get("type") is None and not any(k in body for k in ("contentBlockDelta", "messageStop", "metadata")):
            content = _read_text_fields(self.record, body) or content
        if isinstance(metrics, dict):
            self._metrics(metrics)
        return content

    def _anthropic_event(self, body: dict[str, Any]) -> bool:
        kind, record = body.get("type"), self.record
        if kind == "content_block_delta":
            if not keep_text(record, get_path(body, "delta", "text")):
                self.tools.add(get_path(body, "index"), get_path(body, "delta", "partial_json"))
            return True
        block = get_path(body, "content_block")
        if kind == "content_block_start" and get_path(block, "type") in ("tool_use", "server_tool_use"):
            index = get_path(body, "index")
            self.tools.start(index, get_path(block, "id"), get_path(block, "name"), get_path(block, "input"))
        elif kind == "message_start":
            record.response_id = get_path(body, "message", "id") or record.response_id
        elif kind == "message_delta":
            _finish(record, get_path(body, "delta", "stop_reason"))
        return False

    def _metrics(self, metrics: dict[str, Any]) -> None:
        _add_usage(
            self.record,
            metrics.get("inputTokenCount"),
            metrics.get("outputTokenCount"),
            metrics.get("cacheReadInputTokenCount"),
            metrics.get("cacheWriteInputTokenCount"),
        )
        self.done = True

    def flush(self, record: LLMRecord) -> None:
        self.tools.flush(record)

    @property
    def terminated(self) -> bool:
        return self.done


def stream_in(record: LLMRecord, result: Any) -> Streamed | None:
    """ConverseStream keeps its event stream under ``stream``, InvokeModelWithResponseStream under ``body``: the
    user gets the same dict with the proxy in its place."""
    if not record.streaming or not isinstance(result, dict):
        return None
    key = "stream" if "stream" in result else "body"
    if result.get(key) is None:
        return None
    read_response(record, result)  # the request id

    def put(proxy: Any) -> dict[str, Any]:
        result[key] = proxy
        return result

    return Streamed(result[key], put)


def stream_state(record: LLMRecord, stream: Any) -> StreamState:
    return BedrockStreamState(record)


def settle(record: LLMRecord, result: Any) -> Any:
    """InvokeModel's body is read here (the user would have), as part of the call: a failure to read is the call's
    failure, raised unchanged. The user gets an equivalent body over the same bytes."""
    if record.streaming or not isinstance(result, dict) or "contentType" not in result:
        return result
    from botocore.response import StreamingBody

    body = result.get("body")
    if not hasattr(body, "read"):
        return result
    data = body.read()
    result["body"] = StreamingBody(io.BytesIO(data), len(data))
    try:
        _read_invoke_response(record, result, data)
    except Exception:
        report_internal_error("bedrock.invoke_body")
    return result


# -- errors -----------------------------------------------------------------------------------------------------------


def _error_code(exc: BaseException) -> tuple[str, str]:
    """(code, lower-cased message) of a botocore ``ClientError``; stream exception events spell the code in camel
    case (``throttlingException``), so its first letter is raised."""
    error = get_path(exc, "response", "Error")
    if not isinstance(error, dict):
        return "", ""
    code = str(error.get("Code") or "")
    return code[:1].upper() + code[1:], str(error.get("Message", "")).lower()


def _codes(*codes: str, marker: str = "") -> Callable[[BaseException], bool]:
    """A predicate row: the error's code is one of ``codes`` (and its message says ``marker``)."""
    wanted = frozenset(codes)

    def matches(exc: BaseException) -> bool:
        code, message = _error_code(exc)
        return code in wanted and marker in message

    return matches


# Bedrock Runtime error codes (modeled ones and the service-wide auth ones) -> error type, most specific first.
ERROR_CODES: tuple[tuple[tuple[str, ...], str, ErrorType], ...] = (
    (("ValidationException",), "input is too long", ErrorType.CONTEXT_LENGTH),
    (("ValidationException",), "too many input tokens", ErrorType.CONTEXT_LENGTH),
    (("ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"), "", ErrorType.RATE_LIMIT),
    (("ServiceUnavailableException", "ModelNotReadyException"), "", ErrorType.OVERLOADED),
    (("ModelTimeoutException", "RequestTimeout", "RequestTimeoutException"), "", ErrorType.TIMEOUT),
    (("InternalServerException", "ModelErrorException", "ModelStreamErrorException"), "", ErrorType.SERVER_ERROR),
    (("AccessDeniedException",), "", ErrorType.PERMISSION),
    (
        ("UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException", "IncompleteSignature"),
        "",
        ErrorType.AUTH,
    ),
    (("ResourceNotFoundException",), "", ErrorType.NOT_FOUND),
    (("ValidationException", "ConflictException", "SerializationException"), "", ErrorType.BAD_REQUEST),
)


@functools.cache
def errors() -> ErrorTable:
    """botocore exceptions and Bedrock error codes -> error types, most specific first (subclasses before bases).

    A ``ClientError`` with a code not listed here is left to the core's fallbacks (its class is named after the
    code, e.g. ``TooManyRequestsException`` reads as a rate limit)."""
    import urllib3.exceptions as urllib3_exc
    from botocore import eventstream
    from botocore import exceptions as exc
    from botocore.parsers import ResponseParserError

    by_code = tuple((_codes(*codes, marker=marker), kind) for codes, marker, kind in ERROR_CODES)
    return (
        *by_code,
        (exc.ReadTimeoutError, ErrorType.TIMEOUT),
        (exc.ConnectTimeoutError, ErrorType.TIMEOUT),
        (exc.EndpointConnectionError, ErrorType.CONNECTION),
        (exc.ProxyConnectionError, ErrorType.CONNECTION),
        (exc.SSLError, ErrorType.CONNECTION),
        (exc.ConnectionClosedError, ErrorType.CONNECTION),
        (exc.ResponseStreamingError, ErrorType.CONNECTION),
        (exc.ConnectionError, ErrorType.CONNECTION),
        (exc.HTTPClientError, ErrorType.CONNECTION),
        (exc.IncompleteReadError, ErrorType.CONNECTION),
        (urllib3_exc.ReadTimeoutError, ErrorType.TIMEOUT),
        (urllib3_exc.ProtocolError, ErrorType.CONNECTION),
        (eventstream.ParserError, ErrorType.INVALID_RESPONSE),
        (ResponseParserError, ErrorType.INVALID_RESPONSE),
        (exc.CapacityNotAvailableError, ErrorType.RATE_LIMIT),
        (exc.NoCredentialsError, ErrorType.AUTH),
        (exc.PartialCredentialsError, ErrorType.AUTH),
        (exc.CredentialRetrievalError, ErrorType.AUTH),
        (exc.NoAuthTokenError, ErrorType.AUTH),
        (exc.TokenRetrievalError, ErrorType.AUTH),
        (exc.UnknownCredentialError, ErrorType.AUTH),
        (exc.RefreshWithMFAUnsupportedError, ErrorType.AUTH),
        (exc.SSOError, ErrorType.AUTH),
        (exc.LoginError, ErrorType.AUTH),
        (exc.ParamValidationError, ErrorType.BAD_REQUEST),
        (exc.ValidationError, ErrorType.BAD_REQUEST),
        (exc.MissingParametersError, ErrorType.BAD_REQUEST),
        (exc.BotoCoreError, ErrorType.UNKNOWN),  # configuration errors (regions, endpoints, profiles)
    )


def _metadata(exc: BaseException) -> dict[str, Any]:
    metadata = get_path(exc, "response", "ResponseMetadata")
    return metadata if isinstance(metadata, dict) else {}


def error_status(exc: BaseException) -> int | None:
    """botocore keeps the HTTP status in the error response's ``ResponseMetadata``."""
    status = _metadata(exc).get("HTTPStatusCode")
    return status if valid_status(status) else response_status(exc)


def error_headers(exc: BaseException) -> Any:
    return _metadata(exc).get("HTTPHeaders") or response_headers(exc)


def retry_delay(exc: BaseException) -> float | None:
    """AWS's ``x-amz-retry-after`` (milliseconds), when a service sends it instead of ``Retry-After``."""
    value = get_path(error_headers(exc), "x-amz-retry-after")
    try:
        return max(float(value) / 1000.0, 0.0) if value is not None else None
    except (TypeError, ValueError):
        return None


PROVIDER = Provider(
    name="bedrock",
    requires=("botocore >= 1.34",),
    targets=TARGETS,
    read_request=read_request,
    read_response=read_response,
    stream_in=stream_in,
    stream_state=stream_state,
    settle=settle,
    transports=(Transport("botocore.endpoint", "Endpoint", "_send"),),  # one call per HTTP attempt, every client
    errors=errors,
    error_readers=ErrorRules(status=error_status, headers=error_headers, retry_delay=retry_delay),
    # Converse's stop reasons and each model family's own (Anthropic, Titan, Cohere, Llama, Mistral, Nova)
    finish_reasons={
        "end_turn": FinishReason.STOP,
        "stop_sequence": FinishReason.STOP,
        "finish": FinishReason.STOP,
        "complete": FinishReason.STOP,
        "max_tokens": FinishReason.LENGTH,
        "model_context_window_exceeded": FinishReason.LENGTH,
        "error_limit": FinishReason.LENGTH,
        "tool_use": FinishReason.TOOL_USE,
        "tool_call": FinishReason.TOOL_USE,
        "content_filtered": FinishReason.CONTENT_FILTER,
        "guardrail_intervened": FinishReason.CONTENT_FILTER,
        "error_toxic": FinishReason.CONTENT_FILTER,
        "refusal": FinishReason.CONTENT_FILTER,
        "malformed_model_output": FinishReason.ERROR,
        "malformed_tool_use": FinishReason.ERROR,
    },
)

BedrockInstrumentor = instrumentor_class(
    PROVIDER,
    "BedrockInstrumentor",
    """Instruments ``boto3`` / ``botocore`` ``bedrock-runtime`` clients (made before or after ``instrument()``):
    ``converse``, ``converse_stream``, ``invoke_model``, ``invoke_model_with_response_stream``.

    Example::

        from llmtrace.providers.bedrock import BedrockInstrumentor
        BedrockInstrumentor().instrument()
    """,
)


def _read_invoke_response(record: LLMRecord, result: dict[str, Any], data: bytes) -> None:
    record.response_id = get_path(result, "ResponseMetadata", "RequestId")
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    if isinstance(body, dict):
        _read_invoke_body(record, body)
    # Bedrock's usage headers are what it bills (cache reads/writes apart), for every model family: they win.
    _header_usage(record, get_path(result, "ResponseMetadata", "HTTPHeaders"))
