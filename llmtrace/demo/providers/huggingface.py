"""Hugging Face Inference wire format (a TGI server: OpenAI-shaped chat completions and TGI's own text generation;
JSON and SSE) and the demo's ``InferenceClient`` caller.

Served under ``/huggingface``, the server's root: ``InferenceClient(base_url=<url>/huggingface)`` posts chat to
``/huggingface/v1/chat/completions`` and ``text_generation`` (its model being the URL) to ``/huggingface`` itself,
TGI's compat route, with ``{"inputs", "parameters", "stream"}``. Generation details carry ``generated_tokens``,
``prefill`` (the prompt's tokens, only for ``decoder_input_details``) and, on a stream's last event,
``input_length``; the last streamed token is the special end-of-sequence token. Chat streams report usage only
when asked (``stream_options.include_usage``), then ``data: [DONE]``.

Errors are TGI's and the Hub's: ``{"error": ..., "error_type": ...}`` for TGI validation (422) and generation
failures, the Hub's ``X-Error-Code: RepoNotFound`` on an unknown model, ``{"error": ..., "estimated_time": ...}``
for a model still loading (503), and ``Retry-After`` plus the IETF ``RateLimit`` headers on a 429. The SDK has no
retry loop and sends no retry-count header: the attempt index comes from ``x-llmtrace-call``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..fake_server import ERRORS, Exchange, Handler, Reply, Route, StreamEvent, WireFormat, rand_id
from . import DemoProvider

__all__ = ["CONTEXT_LENGTH_MESSAGE", "DEMO", "PREFIX", "WIRE"]

PREFIX = "/huggingface"
_TGI_VERSION = "3.3.6-sha-fake"
_EOS = "</s>"
# TGI's own wording for a prompt over the model's context (its validation error, HTTP 422).
CONTEXT_LENGTH_MESSAGE = (
    "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. "
    "Given: 210000 `inputs` tokens and 200 `max_new_tokens`"
)
# fault -> (HTTP status, body) as TGI and the Hub answer them
_ERROR_BODIES: dict[str, tuple[int, dict[str, Any]]] = {
    "bad_request": (422, {"error": "Input validation error: `temperature` must be strictly positive",
                          "error_type": "validation"}),
    "context_length": (422, {"error": CONTEXT_LENGTH_MESSAGE, "error_type": "validation"}),
    "server_error": (500, {"error": "Request failed during generation: Server error: CUDA out of memory",
                           "error_type": "generation"}),
    "overloaded": (503, {"error": "Model is currently loading", "estimated_time": 20.0}),
    "rate_limit": (429, {"error": ERRORS["rate_limit"][1]}),
    "auth": (401, {"error": "Invalid credentials in Authorization header"}),
    "permission": (403, {"error": ERRORS["permission"][1]}),
    "not_found": (404, {"error": ERRORS["not_found"][1]}),
}  # fmt: skip


def send_error(handler: Handler, exchange: Exchange, fault: str) -> None:
    """TGI's or the Hub's error body for ``fault``; 429s say when to come back in both header styles."""
    exchange.status, body = _ERROR_BODIES[fault]
    unused = _unused_kwargs(exchange) if fault == "bad_request" else []
    if unused:  # a transformers backend, not TGI: the SDK drops these and posts again
        exchange.status, body = 400, {"error": f"The following `model_kwargs` are not used by the model: {unused}"}
    headers = {"x-request-id": "req-" + rand_id(exchange)}
    if fault == "rate_limit":
        headers.update({"retry-after": "1", "ratelimit": '"api";r=0;t=1', "ratelimit-policy": '"fixed";q=500;w=300'})
    elif fault == "not_found":
        headers["x-error-code"] = "RepoNotFound"
    handler.send_json(exchange.status, body, headers)


def _unused_kwargs(exchange: Exchange) -> list[str]:
    """TGI-only generation parameters in a text-generation request (``watermark``): a non-TGI backend rejects them."""
    parameters = (exchange.request_body or {}).get("parameters") or {}
    return [name for name in ("watermark",) if exchange.path in _GENERATE and parameters.get(name)]


# -- chat completions (OpenAI's shape, as TGI serves it) ----------------------------------------------------------


def _usage(reply: Reply) -> dict[str, int]:
    u = reply.usage
    reply.exchange.usage = {"input": u["input"], "output": u["output"]}  # TGI reports no cache or reasoning counts
    return {"prompt_tokens": u["input"], "completion_tokens": u["output"], "total_tokens": u["input"] + u["output"]}


def _envelope(ex: Exchange, kind: str) -> dict[str, Any]:
    return {"object": kind, "id": ex.response_id, "created": 1_760_000_000, "model": ex.model,
            "system_fingerprint": _TGI_VERSION}  # fmt: skip


def _tool_call(reply: Reply) -> dict[str, Any]:
    function = {"description": None, "name": reply.tool_name, "arguments": reply.tool_args}
    return {"id": "0", "type": "function", "function": function}


def _chat(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    ex = reply.exchange
    ex.response_id = "chatcmpl-" + rand_id(ex)
    finish = "tool_calls" if reply.tool_name else "content_filter" if ex.fault == "content_filter" else "stop"
    ex.finish_reason = finish
    usage = _usage(reply)
    if ex.fault == "malformed" and not ex.stream:
        return handler.send_malformed()
    if ex.stream:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return handler.send_stream(reply, _chat_events(reply, finish, usage if include_usage else None))
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.tool_name:
        message = {"role": "assistant", "tool_calls": [_tool_call(reply)]}
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
    payload = {**_envelope(ex, "chat.completion"), "choices": [choice], "usage": usage}
    handler.send_json(200, payload, cut=ex.fault == "stream_cut")


def _chat_events(reply: Reply, finish: str, usage: dict[str, int] | None) -> Iterator[StreamEvent]:
    head = _envelope(reply.exchange, "chat.completion.chunk")

    def chunk(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}],
                "usage": None}  # fmt: skip

    if reply.tool_name:
        yield None, chunk({"role": "assistant", "tool_calls": [{"index": 0, **_tool_call(reply)}]}), True
    for piece in reply.pieces:
        yield None, chunk({"role": "assistant", "content": piece}), True
    yield None, chunk({"role": "assistant", "content": ""}, finish), False
    if usage is not None:
        yield None, {**head, "choices": [], "usage": usage}, False
    yield None, "[DONE]", False


# -- text generation (TGI's own API) ------------------------------------------------------------------------------


def _token(index: int, text: str, special: bool = False) -> dict[str, Any]:
    return {"id": 1000 + index, "text": text, "logprob": -0.25, "special": special}


def _generate(handler: Handler, reply: Reply, body: dict[str, Any]) -> None:
    ex = reply.exchange
    parameters = body.get("parameters") or {}
    finish = "stop_sequence" if parameters.get("stop") else "eos_token"
    ex.finish_reason = finish
    u = reply.usage
    ex.usage = {"input": u["input"], "output": u["output"]}
    if ex.fault == "malformed" and not ex.stream:
        return handler.send_malformed()
    if ex.stream:
        return handler.send_stream(reply, _generate_events(reply, finish))
    result: dict[str, Any] = {"generated_text": reply.text}
    if parameters.get("details"):
        prefill = [{"id": i, "text": f"▁p{i}", "logprob": None if i == 0 else -1.5} for i in range(u["input"])]
        result["details"] = {
            "finish_reason": finish,
            "generated_tokens": u["output"],
            "seed": parameters.get("seed"),
            "prefill": prefill if parameters.get("decoder_input_details") else [],
            "tokens": [_token(i, piece) for i, piece in enumerate(reply.pieces)],
        }
    elif not parameters.get("decoder_input_details"):
        ex.usage = None  # no details: TGI reports no counts at all
    handler.send_json(200, [result], cut=ex.fault == "stream_cut")


def _generate_events(reply: Reply, finish: str) -> Iterator[StreamEvent]:
    u = reply.usage
    for index, piece in enumerate(reply.pieces):
        yield None, {"index": index + 1, "token": _token(index, piece), "generated_text": None, "details": None}, True
    last = len(reply.pieces) + 1
    details = {"finish_reason": finish, "generated_tokens": u["output"], "seed": None, "input_length": u["input"]}
    final = {"index": last, "token": _token(last, _EOS, special=True), "generated_text": reply.text,
             "details": details}  # fmt: skip
    yield None, final, False


_GENERATE = (PREFIX, PREFIX + "/")  # TGI's compat route: generate, or generate_stream when "stream" is true
_ROUTES: dict[str, Route] = {
    **dict.fromkeys(_GENERATE, _generate),
    PREFIX + "/v1/chat/completions": _chat,
}
WIRE = WireFormat("huggingface", _ROUTES.get, send_error)


def make_client(server: Any) -> Any:
    """The fake TGI's URL (the SDK takes headers per client, so clients are made per call)."""
    from huggingface_hub import constants

    # The demo talks to the fake server only: without this the SDK's user-agent telemetry fetches an agent
    # registry from huggingface.co inside the first call (which llmtrace would count as an attempt of it).
    constants.HF_HUB_DISABLE_TELEMETRY = True
    return server.url + PREFIX


def call(base_url: Any, plan: Any, headers: dict[str, str]) -> None:
    """One chat completion (streamed with usage when the plan says so); a client per call, for its headers."""
    from huggingface_hub import InferenceClient

    client = InferenceClient(base_url=base_url, api_key="hf_demo", headers=headers, timeout=5.0)
    messages = [{"role": "system", "content": plan.system()}, *plan.messages()]
    kwargs: dict[str, Any] = {"model": plan.model, "messages": messages, "max_tokens": 200}
    with client:
        if not plan.streaming:
            client.chat_completion(**kwargs)
            return
        for _ in client.chat_completion(**kwargs, stream=True, stream_options={"include_usage": True}):
            pass


DEMO = DemoProvider(
    "huggingface",
    ("meta-llama/Llama-3.1-8B-Instruct", "HuggingFaceH4/zephyr-7b-beta"),
    make_client,
    call,
    priced=False,
    cache_read=False,
)
