"""Hugging Face Inference (``huggingface_hub.InferenceClient`` / ``AsyncInferenceClient``): ``chat_completion``
(also reached as ``client.chat.completions.create``) and ``text_generation``, streamed or not.

``chat_completion`` speaks the OpenAI chat shape (TGI's and the HF router's ``/v1/chat/completions``), so its
responses and chunks are read by the OpenAI module's readers. ``text_generation`` speaks TGI's own API: a plain
string, or with ``details=True`` a ``details`` object (``generated_tokens``; the prompt's tokens as ``prefill`` only
with ``decoder_input_details=True``); its SSE stream carries one token per event and ``details`` (with
``input_length``) on the last one. Without details the SDK hands out bare token strings: no counts, no finish
reason (the core then estimates the tokens, flagged).

huggingface_hub 2.x sends through one shared ``httpx2.Client`` (``get_session()``) or a per-client
``httpx2.AsyncClient``, and has no retry loop for inference: a 429 or a 503 (model loading) reaches the caller on
the first attempt. The only second attempt it makes is ``text_generation``'s: a 400 saying some ``model_kwargs``
are unused makes it forget them and post again (counted as a retry). Raw transport errors other than timeouts
(a refused connection, a cut stream) pass through as httpx2 exceptions.

genai-prices prices Hugging Face per inference provider behind the router (``huggingface_together``, ...), which
a call does not say here: calls are priced only by a rate card, or by genai-prices' model-name match.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..call import LLMRecord
from ..classification import ErrorRules, ErrorTable, http_client_errors, response_headers, response_status
from ..semconv import ErrorType, FinishReason
from ..streams import StreamState
from . import openai as openai_shape
from ._contract import HTTPX2, Provider, WrapTarget, generator_stream
from ._instrumentor import instrumentor_class
from ._reading import as_float, as_int, as_items, as_tools, get_path, server_of, split_system

__all__ = [
    "PROVIDER",
    "TARGETS",
    "HuggingFaceInstrumentor",
    "TextGenerationStreamState",
    "errors",
    "read_request",
    "read_response",
    "stream_state",
]

_SYNC = "huggingface_hub.inference._client"
_ASYNC = "huggingface_hub.inference._generated._async_client"
TARGETS = (
    WrapTarget(_SYNC, "InferenceClient.chat_completion", "chat"),
    WrapTarget(_ASYNC, "AsyncInferenceClient.chat_completion", "chat", is_async=True),
    WrapTarget(_SYNC, "InferenceClient.text_generation", "completion"),
    WrapTarget(_ASYNC, "AsyncInferenceClient.text_generation", "completion", is_async=True),
)


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def _model_and_server(client: Any, model: Any) -> tuple[str | None, tuple[str | None, int | None]]:
    """The model id the call names (a URL is an endpoint, not a model) and the endpoint's host and port.

    The call's ``model`` wins for the payload; the client's ``model``/``base_url`` wins for the URL."""
    client_model = get_path(client, "model")
    url = client_model if _is_url(client_model) else model if _is_url(model) else None
    named = next((m for m in (model, client_model) if isinstance(m, str) and m and not _is_url(m)), None)
    return named, server_of({"base_url": url}) if url else (None, None)


def read_request(target: WrapTarget, client: Any, kwargs: dict[str, Any]) -> LLMRecord:
    """Read chat_completion()/text_generation() arguments into a record (request side only)."""
    model, (host, port) = _model_and_server(client, kwargs.get("model"))
    chat = target.operation == "chat"
    stop = kwargs.get("stop")
    record = LLMRecord(
        provider="huggingface",
        operation=target.operation,
        model=model,
        streaming=bool(kwargs.get("stream")),
        server_address=host,
        server_port=port,
        temperature=as_float(kwargs.get("temperature")),
        max_tokens=as_int(kwargs.get("max_tokens" if chat else "max_new_tokens")),
        top_p=as_float(kwargs.get("top_p")),
        top_k=None if chat else as_float(kwargs.get("top_k")),
        seed=as_int(kwargs.get("seed")),
        stop_sequences=[str(s) for s in stop] if isinstance(stop, (list, tuple)) else None,
    )
    if not chat:
        record.messages = kwargs.get("prompt")
        return record
    record.messages, record.system = split_system(kwargs.get("messages"))
    record.tools = as_tools(kwargs.get("tools"))
    return record


def _read_details(record: LLMRecord, details: Any, input_tokens: int | None) -> None:
    """TGI's ``details``: the finish reason and the generated count; the prompt's count when TGI sent it."""
    reason = get_path(details, "finish_reason")
    if reason:
        record.finish_reasons.append(str(reason))
    record.output_tokens = as_int(get_path(details, "generated_tokens"))
    record.input_tokens = input_tokens


def read_response(record: LLMRecord, response: Any) -> None:
    """A ``ChatCompletionOutput`` (OpenAI's shape), or text_generation's string / ``TextGenerationOutput``."""
    if record.operation == "chat":
        openai_shape.read_response(record, response)
        return
    if isinstance(response, str):
        record.output_text.append(response)
        return
    text = get_path(response, "generated_text")
    if isinstance(text, str):
        record.output_text.append(text)
    details = get_path(response, "details")
    if details is not None:
        prefill = as_items(get_path(details, "prefill"))
        _read_details(record, details, len(prefill) or None)


class TextGenerationStreamState(StreamState):
    """text_generation's stream: token strings (``details=False``) or ``TextGenerationStreamOutput`` events, the
    last of which carries ``details`` (finish reason, ``generated_tokens``, ``input_length``)."""

    __slots__ = ("details", "record")

    def __init__(self, record: LLMRecord) -> None:
        self.record = record
        self.details = False  # whether events carry details: then the stream must end with them

    def process_chunk(self, chunk: Any) -> bool:
        if isinstance(chunk, str):
            self.record.output_text.append(chunk)
            return bool(chunk)
        self.details = True
        token = get_path(chunk, "token")
        text = get_path(token, "text")
        special = get_path(token, "special") is True
        if isinstance(text, str) and text and not special:
            self.record.output_text.append(text)
        details = get_path(chunk, "details")
        if details is not None:
            _read_details(self.record, details, as_int(get_path(details, "input_length")))
        return bool(text) and not special

    @property
    def terminated(self) -> bool:
        # Bare strings say nothing of the end: a cut stream still fails in the transport, which raises.
        return not self.details or bool(self.record.finish_reasons)


def stream_state(record: LLMRecord, stream: Any) -> StreamState:
    if record.operation == "chat":
        return openai_shape.stream_state(record, stream)
    return TextGenerationStreamState(record)


def _cause_response(exc: BaseException) -> Any:
    """TGI errors (``TextGenerationError``) are raised ``from`` the ``HfHubHTTPError`` that holds the response."""
    cause = exc.__cause__
    return cause if cause is not None and getattr(cause, "response", None) is not None else exc


def _status(exc: BaseException) -> int | None:
    return response_status(_cause_response(exc))


def _headers(exc: BaseException) -> Any:
    return response_headers(_cause_response(exc))


def _retry_delay(exc: BaseException) -> float | None:
    """The Hub's IETF ``RateLimit`` header (``"api";r=0;t=55``): seconds until the window resets, when no
    ``Retry-After`` says it."""
    headers = _headers(exc)
    if headers is None:
        return None
    from huggingface_hub.utils import parse_ratelimit_headers

    info = parse_ratelimit_headers(headers)
    return float(info.reset_in_seconds) if info is not None and info.remaining == 0 else None


def _message(exc: BaseException) -> str:
    """The server's own words when the SDK parsed them (``server_message``), else the formatted message."""
    server = getattr(exc, "server_message", None)
    return server if isinstance(server, str) and server else str(exc)


# TGI's validation wording for a prompt over the model's context: no "context length" marker the core knows.
_TGI_TOO_LONG = ("tokens + `max_new_tokens` must be <=", "`inputs` must have less than")


def _tgi_too_long(exc: BaseException) -> bool:
    return _status(exc) == 422 and any(marker in str(exc) for marker in _TGI_TOO_LONG)


def errors() -> ErrorTable:
    """Every public class of ``huggingface_hub.errors``, most specific first, and the raw httpx2 errors.

    ``HfHubHTTPError`` covers every HTTP status without a class of its own: the status decides (429 rate limit,
    503 model loading/overloaded, ...). The Hub's file, cache, CLI and sandbox errors are never raised by an
    inference call; they are listed so that one raised inside a call still lands somewhere deliberate.
    """
    import httpx2
    from huggingface_hub import errors as hf

    return (
        (_tgi_too_long, ErrorType.CONTEXT_LENGTH),
        (hf.InferenceTimeoutError, ErrorType.TIMEOUT),
        (hf.ValidationError, ErrorType.BAD_REQUEST),  # TGI validation: 422
        (hf.OverloadedError, ErrorType.OVERLOADED),  # TGI's queue is full: 429
        (hf.IncompleteGenerationError, ErrorType.SERVER_ERROR),
        (hf.GenerationError, ErrorType.SERVER_ERROR),  # 424: the model failed while generating
        (hf.UnknownError, ErrorType.SERVER_ERROR),
        (hf.TextGenerationError, ErrorType.SERVER_ERROR),
        (hf.GatedRepoError, ErrorType.PERMISSION),
        (hf.RepositoryNotFoundError, ErrorType.NOT_FOUND),
        (hf.DisabledRepoError, ErrorType.PERMISSION),
        (hf.RevisionNotFoundError, ErrorType.NOT_FOUND),
        (hf.RemoteEntryNotFoundError, ErrorType.NOT_FOUND),
        (hf.BucketNotFoundError, ErrorType.NOT_FOUND),
        (hf.JobNotFoundError, ErrorType.NOT_FOUND),
        (hf.BucketBatchError, ErrorType.SERVER_ERROR),
        (hf.BadRequestError, ErrorType.BAD_REQUEST),
        (hf.HfHubHTTPError, ErrorType.SERVER_ERROR),
        (hf.OfflineModeIsEnabled, ErrorType.CONNECTION),  # HF_HUB_OFFLINE=1
        (hf.LocalTokenNotFoundError, ErrorType.AUTH),
        (hf.OIDCError, ErrorType.AUTH),
        (hf.DeviceCodeError, ErrorType.AUTH),
        (hf.HFValidationError, ErrorType.BAD_REQUEST),  # a malformed repo id
        (hf.HfUriError, ErrorType.BAD_REQUEST),
        (hf.InferenceEndpointTimeoutError, ErrorType.TIMEOUT),
        (hf.InferenceEndpointError, ErrorType.SERVER_ERROR),
        *((cls, ErrorType.UNKNOWN) for cls in _local_errors(hf)),
        *http_client_errors(httpx2),
    )


def _local_errors(hf: Any) -> tuple[type[BaseException], ...]:
    """Errors of the Hub's local machinery (cache, files, serialization, CLI, sandboxes): subclasses first."""
    return (
        hf.IncompleteSnapshotError,
        hf.LocalEntryNotFoundError,
        hf.EntryNotFoundError,
        hf.RevisionResolutionError,
        hf.CachedRepoTreeNotFoundError,
        hf.CorruptedCacheException,
        hf.CacheNotFound,
        hf.DryRunError,
        hf.FileMetadataError,
        hf.FileDuplicationError,
        hf.XetDownloadError,
        hf.SafetensorsParsingError,
        hf.NotASafetensorsRepoError,
        hf.DDUFInvalidEntryNameError,
        hf.DDUFExportError,
        hf.DDUFCorruptedFileError,
        hf.DDUFError,
        hf.StrictDataclassFieldValidationError,
        hf.StrictDataclassClassValidationError,
        hf.StrictDataclassDefinitionError,
        hf.StrictDataclassError,
        hf.SandboxCommandError,
        hf.SandboxError,
        hf.ConfirmationError,
        hf.CLIExtensionInstallError,
        hf.CLIError,
    )


# TGI's finish reasons (text_generation's details, and chat completions served by older TGI).
FINISH_REASONS = {
    "eos_token": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
}


def is_inference_request(url: str) -> bool:
    """The SDK's own Hub lookups (``/api/...``: the user-agent harness list on a process's first call, the provider
    mapping of ``provider="auto"``) are not attempts of the inference call; everything else it sends is."""
    return not urlsplit(url).path.startswith("/api/")


PROVIDER = Provider(
    name="huggingface",
    requires=("huggingface_hub >= 2.0",),
    targets=TARGETS,
    read_request=read_request,
    read_response=read_response,
    stream_in=generator_stream,
    stream_state=stream_state,
    transports=HTTPX2,
    errors=errors,
    error_readers=ErrorRules(status=_status, headers=_headers, retry_delay=_retry_delay, message=_message),
    finish_reasons=FINISH_REASONS,
    is_attempt=is_inference_request,
)

HuggingFaceInstrumentor = instrumentor_class(
    PROVIDER,
    "HuggingFaceInstrumentor",
    """Instruments ``huggingface_hub``'s ``InferenceClient`` and ``AsyncInferenceClient``: chat completions and
    text generation, streamed or not.

    Example::

        from llmtrace.providers.huggingface import HuggingFaceInstrumentor
        HuggingFaceInstrumentor().instrument()
    """,
)
