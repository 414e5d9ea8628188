"""An MCP server over stdio, run as a subprocess by test_mcp: its tool returns the ``_meta`` it received, so the
test sees the trace context that crossed the process boundary."""

from __future__ import annotations

import json

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("stdio-echo", version="0.9.1")


@server.tool()
def received_meta(ctx: Context) -> str:
    """The request's _meta as JSON text."""
    return json.dumps(dict(ctx.request_context.meta or {}), sort_keys=True)


if __name__ == "__main__":
    server.run("stdio")
