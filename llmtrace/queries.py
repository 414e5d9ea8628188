"""Every PromQL query the CLI sends, built in one place, with label values escaped (no query injection).

``window_total`` is THE definition of "how much of a counter happened in a window", shared by the CLI, the Grafana
dashboards and the recording rules and alerts (both generated from it: ``grafana/generate.py``,
``collector/rules/generate.py``; tests check the committed files equal a fresh generation). It is exact, not
``increase()``'s extrapolation:

- a series that had a sample at the window start (looking back up to the lookback delta, 5 min by default):
  ``increase(x[w] anchored)``, i.e. its last value minus that sample, plus every counter reset inside the window;
- a series that first appears inside the window (a process that started, or a label set first seen, in it): all of
  it. ``anchored`` alone would start from its first sample and drop that sample's value, which is the whole
  count of a process that exports once, at exit; the ``first_over_time(...) unless ... offset w`` term adds it back.

Without the second term a batch job, a serverless function or a restarted service is under-counted. Requires
Prometheus >= 3.16 (``anchored`` always on); see docs/stack.md for what else a Prometheus must do.
"""

from __future__ import annotations

from dataclasses import dataclass

from .semconv import Attr, Metric, PromName

__all__ = ["Filters", "QueryBuilder", "escape_label_value", "increase_exact", "window_total"]


def escape_label_value(value: str) -> str:
    """A PromQL double-quoted string literal body: backslash, quote and newlines escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


def increase_exact(selector: str, window: str) -> str:
    """Per series: exactly how much the counter ``selector`` grew in ``(t - window, t]``, counting a series born in
    the window from zero. ``window`` is a PromQL duration or a Grafana variable such as ``$__range``."""
    born = f"first_over_time({selector}[{window}]) unless {selector} offset {window}"
    return f"increase({selector}[{window}] anchored) + (({born}) or last_over_time({selector}[{window}]) * 0)"


def window_total(selector: str, window: str, by: str = "") -> str:
    """The exact total of counter ``selector`` over ``window``, summed ``by`` the given labels (all if empty).

    Example: ``window_total('llm_cost_usd_total{tenant="acme"}', "1h", "model")``.
    """
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} ({increase_exact(selector, window)})"


def _type_matcher(token_type: str) -> str:
    return f'{Metric.L_TYPE}="{escape_label_value(token_type)}"'


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
        return window_total(sel, f"{self.seconds}s", by)

    def calls(self, by: str = "", extra: str = "") -> str:
        return self.window(PromName.CALLS, extra, by)

    def errors(self, by: str = "") -> str:
        return self.calls(by, f'{Metric.L_STATUS}="{Metric.STATUS_ERROR}"')

    def tokens(self, token_type: str, by: str = "") -> str:
        return self.window(PromName.TOKENS, _type_matcher(token_type), by)

    def cost(self, by: str = "") -> str:
        return self.window(PromName.COST, "", by)

    def tokens_estimated(self, token_type: str, by: str = "") -> str:
        """Tokens llmtrace estimated for calls whose provider reported no usage (never in ``tokens``)."""
        return self.window(PromName.TOKENS_ESTIMATED, _type_matcher(token_type), by)

    def cost_estimated(self, by: str = "") -> str:
        """Cost of the estimated tokens (never in ``cost``)."""
        return self.window(PromName.COST_ESTIMATED, "", by)

    def unpriced(self, by: str = "") -> str:
        """Calls to models no price table knows (labelled by provider and model only)."""
        return self.window(PromName.UNPRICED_CALLS, by=by, attribution=False)

    def latency_avg(self, by: str = "") -> str:
        return (
            f"{self.window(f'{PromName.LATENCY}_sum', by=by, attribution=False)} / "
            f"{self.window(f'{PromName.LATENCY}_count', by=by, attribution=False)}"
        )

    def quantile(self, histogram: str, q: float, by: str = "", attribution: bool = False) -> str:
        """Quantile ``q`` of a histogram over the window; ``attribution``: it has agent/tenant labels (the run
        histograms), not provider/model only (latency, TTFT)."""
        labels = f"{by}, le" if by else "le"
        return f"histogram_quantile({q}, {self.window(f'{histogram}_bucket', by=labels, attribution=attribution)})"

    # -- agent runs and tools (labelled by agent and tenant; tools by agent only) ---------------------------------

    def runs(self, by: str = "", extra: str = "") -> str:
        return self.window(PromName.RUNS, extra, by)

    def run_errors(self, by: str = "") -> str:
        return self.runs(by, f'{Metric.L_STATUS}="{Metric.STATUS_ERROR}"')

    def run_sum(self, histogram: str, by: str = "") -> str:
        """The exact total of a run histogram's observations (``llm_run_cost_usd``: the runs' cost)."""
        return self.window(f"{histogram}_sum", by=by)

    def run_average(self, histogram: str, by: str = "") -> str:
        """Observations' mean over the window (exact: total over count), e.g. calls per run."""
        return f"{self.run_sum(histogram, by)} / ({self.window(f'{histogram}_count', by=by)} > 0)"

    def tool_calls(self, by: str = "", extra: str = "") -> str:
        """Tool executions; their series carry no tenant, so only ``--agent`` filters them."""
        selector = f"{PromName.TOOL_CALLS}{Filters(agent=self.filters.agent).matchers(extra=extra)}"
        return window_total(selector, f"{self.seconds}s", by)

    def tool_errors(self, by: str = "") -> str:
        return self.tool_calls(by, f'{Metric.L_STATUS}="{Metric.STATUS_ERROR}"')
