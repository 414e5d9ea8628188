"""Every attribute, metric and enum name llmtrace emits: the single source of truth.

Dashboards, PromQL rules and users depend on these strings; nothing else in the package spells one.
The ``gen_ai.*`` names follow the OpenTelemetry GenAI semantic conventions v1.41.0; they live in their own
section so that layer can be swapped as the conventions move.
"""

from __future__ import annotations

from enum import Enum

from .providers._registry import genai_provider_names

__all__ = [
    "GENAI_DURATION_BUCKETS_S",
    "GENAI_OPERATION_NAMES",
    "GENAI_PROVIDER_NAMES",
    "GENAI_TOKEN_BUCKETS",
    "LATENCY_BUCKETS_S",
    "MCP",
    "RUN_CALLS_BUCKETS",
    "RUN_COST_BUCKETS_USD",
    "RUN_DURATION_BUCKETS_S",
    "TTFT_BUCKETS_S",
    "Attr",
    "ErrorType",
    "FinishReason",
    "GenAI",
    "Metric",
    "Operation",
    "PromName",
    "TokenType",
]


class Attr:
    """Primary ``llm.*`` span attributes (DESIGN.md section 4)."""

    PROVIDER = "llm.provider"
    VIA = "llm.via"  # a routing library between the app and the provider (litellm); llm.provider is who served it
    OPERATION = "llm.operation"
    MODEL = "llm.model"
    RESPONSE_MODEL = "llm.response.model"
    RESPONSE_ID = "llm.response.id"
    SUCCESS = "llm.success"
    LATENCY_MS = "llm.latency_ms"
    STREAMING = "llm.streaming"
    TTFT_MS = "llm.ttft_ms"
    CHUNKS = "llm.chunks"
    INTER_CHUNK_P50_MS = "llm.stream.inter_chunk_p50_ms"
    INTER_CHUNK_P99_MS = "llm.stream.inter_chunk_p99_ms"
    STREAM_INCOMPLETE = "llm.stream.incomplete"
    TOKENS_INPUT = "llm.tokens.input"
    TOKENS_OUTPUT = "llm.tokens.output"
    TOKENS_TOTAL = "llm.tokens.total"
    TOKENS_CACHE_READ = "llm.tokens.cache_read"
    TOKENS_CACHE_WRITE = "llm.tokens.cache_write"
    TOKENS_REASONING = "llm.tokens.reasoning"
    TOKENS_ESTIMATED = "llm.tokens.estimated"
    COST_USD = "llm.cost_usd"
    COST_INPUT_USD = "llm.cost.input_usd"
    COST_OUTPUT_USD = "llm.cost.output_usd"
    COST_CACHE_USD = "llm.cost.cache_usd"
    COST_PRICING = "llm.cost.pricing"
    COST_UNPRICED = "llm.cost.unpriced"
    TEMPERATURE = "llm.temperature"
    MAX_TOKENS = "llm.max_tokens"
    TOP_P = "llm.top_p"
    STOP_REASON = "llm.stop_reason"
    RETRY_COUNT = "llm.retry_count"
    ERROR_TYPE = "llm.error.type"
    ERROR_STATUS = "llm.error.status"
    ERROR_RETRY_AFTER_S = "llm.error.retry_after_s"
    ERROR_MESSAGE = "llm.error.message"
    PROMPT_HASH = "llm.prompt.hash"
    PROMPT_SYSTEM_HASH = "llm.prompt.system_hash"
    PROMPT_MESSAGE_COUNT = "llm.prompt.message_count"
    PROMPT_LENGTH = "llm.prompt.length"
    PROMPT_SYSTEM_LENGTH = "llm.prompt.system_length"
    RESPONSE_HASH = "llm.response.hash"
    RESPONSE_LENGTH = "llm.response.length"
    TOOLS_HASH = "llm.tools.hash"
    TOOLS_COUNT = "llm.tools.count"
    TOOLS_NAMES = "llm.tools.names"
    RESPONSE_TOOL_CALLS = "llm.response.tool_calls"
    # The tool calls the model asked for, in order (where the provider's reader keeps them): names, call ids, and the
    # hash of each call's canonical arguments (equal to llm.tool.arguments_hash of the execute_tool span that ran it).
    RESPONSE_TOOL_CALL_NAMES = "llm.response.tool_call_names"
    RESPONSE_TOOL_CALL_IDS = "llm.response.tool_call_ids"
    RESPONSE_TOOL_CALL_ARGUMENT_HASHES = "llm.response.tool_call_argument_hashes"
    AGENT = "llm.agent"  # on calls: the innermost agent run (or attributes()); on agent spans: the agent's name
    SESSION = "llm.session"  # also what agent(conversation=...) sets
    TENANT = "llm.tenant"
    USER = "llm.user"
    # An agent run's total cost, on the run's own span, set by the app (llmtrace records calls, not runs): the scale
    # profile's gateways keep every trace whose run cost reaches a threshold (collector/scale/gateway.yaml).
    RUN_COST_USD = "llm.run.cost_usd"
    SERVER_ADDRESS = "server.address"
    SERVER_PORT = "server.port"
    CLOUD_REGION = "cloud.region"  # the provider region the call went to (AWS SDK semconv puts it on the span)
    # Agent runs, workflows and tool executions (agent, workflow and tool spans; llm.operation says which).
    AGENT_ID = "llm.agent_id"
    WORKFLOW = "llm.workflow"
    TOOL_NAME = "llm.tool.name"
    TOOL_CALL_ID = "llm.tool.call_id"
    TOOL_TYPE = "llm.tool.type"
    TOOL_ARGUMENTS_HASH = "llm.tool.arguments_hash"
    TOOL_ARGUMENTS_LENGTH = "llm.tool.arguments_length"
    TOOL_RESULT_HASH = "llm.tool.result_hash"
    TOOL_RESULT_LENGTH = "llm.tool.result_length"
    # A run's rollup: every LLM call and tool execution inside it, nested runs included (exact under sampling).
    RUN_CALLS = "llm.run.calls"
    RUN_CALL_ERRORS = "llm.run.call_errors"
    RUN_RETRIES = "llm.run.retries"
    RUN_TOKENS_INPUT = "llm.run.tokens.input"
    RUN_TOKENS_OUTPUT = "llm.run.tokens.output"
    RUN_COST_USD = "llm.run.cost_usd"
    RUN_UNPRICED_CALLS = "llm.run.unpriced_calls"
    RUN_TOOL_CALLS = "llm.run.tool_calls"
    RUN_TOOL_ERRORS = "llm.run.tool_errors"
    # Agent-framework events on an agent span (integrations): a handoff to another agent, a guardrail's verdict.
    EVENT_HANDOFF = "llm.agent.handoff"
    EVENT_GUARDRAIL = "llm.agent.guardrail"
    HANDOFF_FROM_AGENT = "llm.handoff.from_agent"  # also on the agent span a handoff started
    HANDOFF_TO_AGENT = "llm.handoff.to_agent"
    GUARDRAIL_NAME = "llm.guardrail.name"
    GUARDRAIL_TRIGGERED = "llm.guardrail.triggered"


class GenAI:
    """OTel GenAI semantic-convention names (v1.41.0) used by the mirror layer."""

    OPERATION_NAME = "gen_ai.operation.name"
    PROVIDER_NAME = "gen_ai.provider.name"
    REQUEST_MODEL = "gen_ai.request.model"
    REQUEST_STREAM = "gen_ai.request.stream"
    REQUEST_TEMPERATURE = "gen_ai.request.temperature"
    REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
    REQUEST_TOP_P = "gen_ai.request.top_p"
    REQUEST_TOP_K = "gen_ai.request.top_k"
    REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
    REQUEST_SEED = "gen_ai.request.seed"
    RESPONSE_ID = "gen_ai.response.id"
    RESPONSE_MODEL = "gen_ai.response.model"
    RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
    RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
    USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
    USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
    USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
    USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
    USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"
    CONVERSATION_ID = "gen_ai.conversation.id"
    AGENT_NAME = "gen_ai.agent.name"
    AGENT_ID = "gen_ai.agent.id"
    WORKFLOW_NAME = "gen_ai.workflow.name"
    TOOL_NAME = "gen_ai.tool.name"
    TOOL_CALL_ID = "gen_ai.tool.call.id"
    TOOL_TYPE = "gen_ai.tool.type"
    # Opt-in tool content (capture_content only), JSON strings on the execute_tool span as the conventions put them.
    TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
    TOOL_CALL_RESULT = "gen_ai.tool.call.result"
    ERROR_TYPE = "error.type"
    RESEND_COUNT = "http.request.resend_count"
    USER_ID = "user.id"
    SESSION_ID = "session.id"
    # Content (opt-in only): one event per call, attributes hold JSON strings.
    EVENT_OPERATION_DETAILS = "gen_ai.client.inference.operation.details"
    INPUT_MESSAGES = "gen_ai.input.messages"
    OUTPUT_MESSAGES = "gen_ai.output.messages"
    SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
    TOOL_DEFINITIONS = "gen_ai.tool.definitions"
    # Opt-in metric mirror.
    METRIC_TOKEN_USAGE = "gen_ai.client.token.usage"
    METRIC_OPERATION_DURATION = "gen_ai.client.operation.duration"
    METRIC_TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"
    TOKEN_TYPE = "gen_ai.token.type"


class MCP:
    """MCP tool calls (``llmtrace.integrations.mcp``): the OTel MCP conventions' names (semantic-conventions-genai
    ``model/mcp``), and llmtrace's names for what they have none for (the server's own name and version)."""

    METHOD_NAME = "mcp.method.name"
    PROTOCOL_VERSION = "mcp.protocol.version"
    SESSION_ID = "mcp.session.id"
    JSONRPC_REQUEST_ID = "jsonrpc.request.id"
    RPC_STATUS_CODE = "rpc.response.status_code"
    NETWORK_TRANSPORT = "network.transport"
    SERVER_NAME = "llm.mcp.server.name"
    SERVER_VERSION = "llm.mcp.server.version"
    TOOLS_CALL = "tools/call"
    TOOL_ERROR = "tool_error"  # error.type of a tool result with isError=true, as the conventions name it


class Metric:
    """Metric instrument names and units (DESIGN.md section 5); Prometheus names in comments."""

    CALLS = "llm.calls"  # llm_calls_total
    TOKENS = "llm.tokens"  # llm_tokens_total
    COST = "llm.cost.usd"  # llm_cost_usd_total
    LATENCY = "llm.latency"  # llm_latency_seconds_*
    TTFT = "llm.ttft"  # llm_ttft_seconds_*
    RETRIES = "llm.retries"  # llm_retries_total
    UNPRICED_CALLS = "llm.unpriced_calls"  # llm_unpriced_calls_total
    # Counts llmtrace computed because the provider reported none (llm.tokens.estimated=true on the span): kept
    # out of TOKENS and COST, which hold provider-reported usage only.
    TOKENS_ESTIMATED = "llm.tokens.estimated"  # llm_tokens_estimated_total
    COST_ESTIMATED = "llm.cost.estimated.usd"  # llm_cost_estimated_usd_total
    # Agent and workflow runs (label operation: invoke_agent / invoke_workflow; label agent: the run's name).
    RUNS = "llm.runs"  # llm_runs_total
    RUN_DURATION = "llm.run.duration"  # llm_run_duration_seconds_*
    RUN_COST = "llm.run.cost.usd"  # llm_run_cost_usd_* (histogram: p50/p99 cost per run)
    RUN_CALLS = "llm.run.calls"  # llm_run_calls_* (histogram: LLM calls per run)
    TOOL_CALLS = "llm.tool.calls"  # llm_tool_calls_total
    TOOL_DURATION = "llm.tool.duration"  # llm_tool_duration_seconds_*
    # Metric label keys.
    L_PROVIDER = "provider"
    L_MODEL = "model"
    L_OPERATION = "operation"
    L_STATUS = "status"
    L_ERROR_TYPE = "error_type"
    L_STREAMING = "streaming"
    L_TYPE = "type"
    L_AGENT = "agent"
    L_TENANT = "tenant"
    L_TOOL = "tool"
    STATUS_OK = "ok"
    STATUS_ERROR = "error"


class PromName:
    """What each ``Metric`` is called once it reaches Prometheus (the OTLP translation: dots to underscores, the unit
    as a suffix, ``_total`` on counters); what the CLI's PromQL queries. Histograms add ``_bucket``/``_sum``/``_count``.
    """

    CALLS = "llm_calls_total"
    TOKENS = "llm_tokens_total"
    COST = "llm_cost_usd_total"
    LATENCY = "llm_latency_seconds"
    TTFT = "llm_ttft_seconds"
    RETRIES = "llm_retries_total"
    UNPRICED_CALLS = "llm_unpriced_calls_total"
    TOKENS_ESTIMATED = "llm_tokens_estimated_total"
    COST_ESTIMATED = "llm_cost_estimated_usd_total"
    RUNS = "llm_runs_total"
    RUN_DURATION = "llm_run_duration_seconds"
    RUN_COST = "llm_run_cost_usd"
    RUN_CALLS = "llm_run_calls"
    TOOL_CALLS = "llm_tool_calls_total"
    TOOL_DURATION = "llm_tool_duration_seconds"


class Operation(str, Enum):
    """``llm.operation`` of the spans that are not LLM calls (the GenAI conventions' operation names)."""

    INVOKE_AGENT = "invoke_agent"
    INVOKE_WORKFLOW = "invoke_workflow"
    EXECUTE_TOOL = "execute_tool"


class ErrorType(str, Enum):
    """Normalized ``llm.error.type`` values, provider-neutral."""

    RATE_LIMIT = "rate_limit"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    AUTH = "auth"
    PERMISSION = "permission"
    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    CONTEXT_LENGTH = "context_length"
    CONTENT_FILTER = "content_filter"
    SERVER_ERROR = "server_error"
    OVERLOADED = "overloaded"
    INVALID_RESPONSE = "invalid_response"  # 2xx with a body the SDK could not parse
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


class FinishReason(str, Enum):
    """Normalized ``llm.stop_reason`` values."""

    STOP = "stop"
    LENGTH = "length"
    TOOL_USE = "tool_use"
    CONTENT_FILTER = "content_filter"
    ERROR = "error"


class TokenType(str, Enum):
    """Values of the ``type`` label on ``llm.tokens``."""

    INPUT = "input"
    OUTPUT = "output"
    CACHE_READ = "cache_read"
    CACHE_WRITE = "cache_write"
    REASONING = "reasoning"


# llm.operation -> gen_ai.operation.name
GENAI_OPERATION_NAMES: dict[str, str] = {
    "chat": "chat",
    "completion": "text_completion",
    "embeddings": "embeddings",
    "responses": "chat",
}

# llm.provider (friendly) -> gen_ai.provider.name (spec value where the spec has one), from the provider registry.
GENAI_PROVIDER_NAMES: dict[str, str] = genai_provider_names()

LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 30.0, 60.0, 120.0)
TTFT_BUCKETS_S = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
# From the GenAI metrics spec (gen_ai.client.operation.duration / token.usage advisory boundaries).
GENAI_DURATION_BUCKETS_S = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
GENAI_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
# Agent runs and tools: seconds to minutes per run, fractions of a cent to dollars, one to hundreds of calls.
RUN_DURATION_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
RUN_COST_BUCKETS_USD = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Calls per run are integers, and histogram_quantile interpolates linearly inside a bucket: bounds half-way between
# integers put each count from 1 to 10 alone in a bucket centred on it, so the p50 of runs that all made k calls reads
# k (with le=1, runs of one call read 0.5), and a run of 0 calls (tools only) has the le=0 bucket, read as 0. Past 10,
# wider buckets that still end half-way between integers.
RUN_CALLS_BUCKETS = (0, 0.5, *(k + 0.5 for k in range(1, 11)), 12.5, 15.5, 20.5, 30.5, 50.5, 100.5, 200.5)
