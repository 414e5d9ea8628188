"""Every PromQL query the CLI sends, built in one place, with label values escaped (no query injection).

Window sums are exact, not ``increase()``'s extrapolation: the counter's last value in the window minus its
value at the window start (or all of it for series that started inside the window). Prometheus' OTLP receiver
gives every process its own ``instance`` series, so counters do not reset inside a series.
"""

from __future__ import annotations

from dataclasses import dataclass

from .semconv import Attr

__all__ = ["Filters", "QueryBuilder", "escape_label_value"]


def escape_label_value(value: str) -> str:
    """A PromQL double-quoted string literal body: backslash, quote and newlines escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


@dataclass(frozen=True)
class Filters:
    """Label filters from ``--provider --model --agent --tenant`` (exact matches)."""

    provider: str | None = None
    model: str | None = None
    agent: str | None = None
    tenant: str | None = None

    def matchers(self, *, attribution: bool = True, extra: str = "") -> str:
        """``{...}`` selector body; latency/ttft/retries have no agent/tenant labels (``attribution=False``)."""
        keys = ("provider", "model", "agent", "tenant") if attribution else ("provider", "model")
        parts = [f'{key}="{escape_label_value(value)}"' for key in keys if (value := getattr(self, key)) is not None]
        if extra:
            parts.append(extra)
        return "{" + ", ".join(parts) + "}"

    def span_tags(self) -> dict[str, str]:
        """The same filters as Jaeger tag filters on llmtrace's spans (exact matches)."""
        names = {"provider": Attr.PROVIDER, "model": Attr.MODEL, "agent": Attr.AGENT, "tenant": Attr.TENANT}
        return {tag: value for key, tag in names.items() if (value := getattr(self, key)) is not None}

    @property
    def by_attribution(self) -> bool:
        return self.agent is not None or self.tenant is not None


@dataclass(frozen=True)
class QueryBuilder:
    """Queries over a window of ``seconds`` ending at the query's evaluation time."""

    filters: Filters
    seconds: int

    def window(self, metric: str, extra: str = "", by: str = "", attribution: bool = True) -> str:
        """Exact increase of a counter (or histogram component) over the window, summed ``by`` labels."""
        sel = f"{metric}{self.filters.matchers(attribution=attribution, extra=extra)}"
        last = f"max_over_time({sel}[{self.seconds}s])"
        grouping = f" by ({by})" if by else ""
        return f"sum{grouping} (({last} - {sel} offset {self.seconds}s) or {last})"

    def calls(self, by: str = "", extra: str = "") -> str:
        return self.window("llm_calls_total", extra, by)

    def errors(self, by: str = "") -> str:
        return self.calls(by, 'status="error"')

    def tokens(self, token_type: str, by: str = "") -> str:
        return self.window("llm_tokens_total", f'type="{escape_label_value(token_type)}"', by)

    def cost(self, by: str = "") -> str:
        return self.window("llm_cost_usd_total", "", by)

    def tokens_estimated(self, token_type: str, by: str = "") -> str:
        """Tokens llmtrace estimated for calls whose provider reported no usage (never in ``tokens``)."""
        return self.window("llm_tokens_estimated_total", f'type="{escape_label_value(token_type)}"', by)

    def cost_estimated(self, by: str = "") -> str:
        """Cost of the estimated tokens (never in ``cost``)."""
        return self.window("llm_cost_estimated_usd_total", "", by)

    def unpriced(self, by: str = "") -> str:
        """Calls to models no price table knows (labelled by provider and model only)."""
        return self.window("llm_unpriced_calls_total", by=by, attribution=False)

    def latency_avg(self, by: str = "") -> str:
        return (
            f"{self.window('llm_latency_seconds_sum', by=by, attribution=False)} / "
            f"{self.window('llm_latency_seconds_count', by=by, attribution=False)}"
        )

    def quantile(self, histogram: str, q: float, by: str = "") -> str:
        labels = f"{by}, le" if by else "le"
        return f"histogram_quantile({q}, {self.window(f'{histogram}_bucket', by=labels, attribution=False)})"
