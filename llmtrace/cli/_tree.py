"""One trace as a tree for ``trace``: workflows and agent runs, the LLM calls and tools inside them, each node with
its cost (a run's is its rollup ``llm.run.cost_usd``: everything inside it; a call's is ``llm.cost_usd``)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.tree import Tree

from ..backends import LLMSpan
from ..semconv import Attr, Operation
from ._format import fmt_int, fmt_usd

__all__ = ["render_tree", "span_tree"]

_KINDS = {
    Operation.INVOKE_AGENT.value: "agent",
    Operation.INVOKE_WORKFLOW.value: "workflow",
    Operation.EXECUTE_TOOL.value: "tool",
}


def _kind(tags: dict[str, Any]) -> str:
    if Attr.PROVIDER in tags:
        return "llm"
    return _KINDS.get(tags.get(Attr.OPERATION, ""), "span")


def _node(span: LLMSpan) -> dict[str, Any]:
    tags = span.tags
    kind = _kind(tags)
    cost = tags.get(Attr.RUN_COST_USD) if kind in ("agent", "workflow") else tags.get(Attr.COST_USD)
    node: dict[str, Any] = {
        "name": span.name,
        "span_id": span.span_id,
        "kind": kind,
        "duration_ms": span.duration_us / 1000,
        "cost_usd": cost,
        "error_type": tags.get(Attr.ERROR_TYPE),
        "children": [],
    }
    if kind == "llm":
        node.update(model=tags.get(Attr.MODEL), tokens_in=tags.get(Attr.TOKENS_INPUT))
        node["tokens_out"] = tags.get(Attr.TOKENS_OUTPUT)
    elif kind in ("agent", "workflow"):
        node.update(calls=tags.get(Attr.RUN_CALLS), tool_calls=tags.get(Attr.RUN_TOOL_CALLS))
        node["tool_errors"] = tags.get(Attr.RUN_TOOL_ERRORS)
    return node


def span_tree(spans: list[LLMSpan]) -> list[dict[str, Any]]:
    """The trace's roots, each with its ``children`` (in start order). A span whose parent is not in the trace
    (not yet arrived, or sampled out) is shown as a root."""
    nodes = {s.span_id: _node(s) for s in spans}
    roots = []
    for span in sorted(spans, key=lambda s: (s.start_us, s.span_id)):
        parent = nodes.get(span.parent_id or "")
        (parent["children"] if parent is not None else roots).append(nodes[span.span_id])
    return roots


def _label(node: dict[str, Any]) -> str:
    parts = [f"[bold]{escape(node['name'])}[/bold]"]
    if node["cost_usd"] is not None:
        parts.append(fmt_usd(node["cost_usd"]))
    parts.append(f"{node['duration_ms']:,.1f} ms")
    if node["kind"] == "llm" and node.get("tokens_in") is not None:
        parts.append(f"{fmt_int(node['tokens_in'])} in / {fmt_int(node.get('tokens_out'))} out")
    if node["kind"] in ("agent", "workflow") and node.get("calls") is not None:
        tools = f", {_count(node['tool_calls'], 'tool call')} ({fmt_int(node['tool_errors'])} failed)"
        parts.append(_count(node["calls"], "LLM call") + (tools if node.get("tool_calls") else ""))
    if node["error_type"]:
        parts.append(f"[red]error {escape(str(node['error_type']))}[/red]")
    return "  ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{fmt_int(n)} {noun}{'' if n == 1 else 's'}"


def render_tree(trace_id: str, roots: list[dict[str, Any]]) -> Tree:
    """The trace as a rich Tree: one branch per span, labelled with its cost, duration and outcome."""
    tree = Tree(f"trace {trace_id}")

    def add(branch: Tree, node: dict[str, Any]) -> None:
        child = branch.add(_label(node))
        for grandchild in node["children"]:
            add(child, grandchild)

    for root in roots:
        add(tree, root)
    return tree
