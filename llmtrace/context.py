"""Attribution context: which agent, session, tenant and user a call belongs to.

Set explicitly with ``llmtrace.attributes(...)`` (a context manager, so it follows asyncio tasks and threads
started inside it), or propagated from upstream services through OTel baggage (keys ``llm.agent`` etc.).
Explicit values win over baggage.

Frameworks that trace their own agent runs (pydantic-ai, google-adk, crewai, or an app's own tracer) name the agent
the OTel GenAI way: an ``invoke_agent`` span with ``gen_ai.agent.name``, and pydantic-ai also the baggage entry
``gen_ai.agent.name``, which reaches its nested spans. Outside an llmtrace agent run, a call takes its agent from
the current span when that is such an agent span, else from that baggage, so llmtrace adds no agent span of its own
there and its calls, tools and metrics still carry the agent. Order: explicit, current agent span, ``llm.agent``
baggage, ``gen_ai.agent.name`` baggage.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import NamedTuple

from opentelemetry import baggage, trace
from opentelemetry import context as otel_context

__all__ = [
    "Attribution",
    "attributes",
    "current_attribution",
    "merged_attribution",
    "reset_attribution",
    "set_attribution",
]


class Attribution(NamedTuple):
    agent: str | None = None
    session: str | None = None
    tenant: str | None = None
    user: str | None = None


try:  # the context key of the current span: read directly, get_current_span's ABC isinstance check costs ~0.5 us
    from opentelemetry.trace.propagation import _SPAN_KEY
except ImportError:  # pragma: no cover - an OTel API without it: the public accessor
    _SPAN_KEY = None

_EMPTY = Attribution()
_current: ContextVar[Attribution] = ContextVar("llmtrace_attribution", default=_EMPTY)
_BAGGAGE_KEYS = ("llm.agent", "llm.session", "llm.tenant", "llm.user")


@contextmanager
def attributes(
    *, agent: str | None = None, session: str | None = None, tenant: str | None = None, user: str | None = None
) -> Iterator[Attribution]:
    """Attribute every LLM call made inside the block to an agent, session, tenant and/or user.

    Nested blocks inherit the outer values they do not set. ``agent`` and ``tenant`` become metric labels
    (configurable); ``session`` and ``user`` go on spans only, never on metrics (cardinality).

    Example::

        with llmtrace.attributes(agent="planner", tenant="acme", session=conversation_id):
            client.chat.completions.create(...)
    """
    merged = merged_attribution(agent=agent, session=session, tenant=tenant, user=user)
    token = _current.set(merged)
    try:
        yield merged
    finally:
        _current.reset(token)


def merged_attribution(
    *, agent: str | None = None, session: str | None = None, tenant: str | None = None, user: str | None = None
) -> Attribution:
    """The explicit attribution with the given fields set and the others inherited."""
    outer = _current.get()
    return Attribution(
        agent if agent is not None else outer.agent,
        session if session is not None else outer.session,
        tenant if tenant is not None else outer.tenant,
        user if user is not None else outer.user,
    )


def set_attribution(attribution: Attribution) -> Token[Attribution]:
    """Make ``attribution`` the explicit one (agent runs re-enter theirs on each resume of a generator)."""
    return _current.set(attribution)


def reset_attribution(token: Token[Attribution]) -> None:
    _current.reset(token)


def current_attribution() -> Attribution:
    """The explicit attribution, its agent completed from the current span (a framework's agent run), then every
    field it does not set from OTel baggage."""
    explicit = _current.get()
    if all(explicit):
        return explicit
    ctx = otel_context.get_current()
    if explicit.agent is None:
        agent = _span_agent(ctx.get(_SPAN_KEY) if _SPAN_KEY is not None else trace.get_current_span(ctx))
        if agent is not None:
            explicit = Attribution(agent, explicit.session, explicit.tenant, explicit.user)
    entries = baggage.get_all(ctx)
    if not entries:
        return explicit
    values = [
        value if value is not None else entries.get(key) for value, key in zip(explicit, _BAGGAGE_KEYS, strict=True)
    ]
    if values[0] is None:
        values[0] = entries.get(_GENAI_AGENT)
    return Attribution(*(str(v) if v is not None else None for v in values))


_GENAI_AGENT = "gen_ai.agent.name"
_GENAI_OPERATION = "gen_ai.operation.name"
_INVOKE_AGENT = "invoke_agent"


def _span_agent(span: trace.Span | None) -> str | None:
    """``gen_ai.agent.name`` of ``span`` when it is a recording SDK span of an agent run (``gen_ai.operation.name``
    ``invoke_agent``), else None. The conventions name such spans ``invoke_agent {name}``: the name, a plain field,
    is checked first, so a call inside any other span (a web request's) reads no attribute at all."""
    if span is None or not span.is_recording():
        return None
    name = getattr(span, "name", None)  # SDK spans expose name and attributes (ReadableSpan); API spans do not
    if type(name) is not str or not name.startswith(_INVOKE_AGENT):
        return None
    attributes = getattr(span, "attributes", None)
    if attributes is None or attributes.get(_GENAI_OPERATION) != _INVOKE_AGENT:
        return None
    agent = attributes.get(_GENAI_AGENT)
    return agent if type(agent) is str and agent else None
