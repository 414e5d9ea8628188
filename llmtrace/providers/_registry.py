"""The one list of providers: everything else that names providers derives from it.

Config validation (``disabled_providers``), the ``gen_ai.provider.name`` mapping, the genai-prices ids,
``instrument()``, ``doctor``, the demo and the test tables read ``PROVIDERS``; a test holds it equal to
pyproject's entry points and extras. This module imports nothing of llmtrace, so any module may use it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ENDPOINTS", "PROVIDERS", "Endpoint", "ProviderSpec", "genai_provider_names", "prices_provider_ids"]


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """One instrumented provider SDK.

    ``name``: the ``llm.provider`` value and the ``instrument(providers=[...])`` key; ``sdk_module``: the import
    that triggers patching; ``module``/``instrumentor``: where its instrumentor lives (the entry point);
    ``genai_name``: the ``gen_ai.provider.name`` spec value (None: the spec has none, ``name`` is used);
    ``prices_id``: genai-prices' provider id (None: matched by model name only, or never list-priced);
    ``extra``/``distribution``: the pyproject extra that installs the SDK, and the SDK's distribution.
    """

    name: str
    sdk_module: str
    module: str
    instrumentor: str
    extra: str
    distribution: str
    genai_name: str | None = None
    prices_id: str | None = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An ``llm.provider`` value without an SDK of its own: a host behind an OpenAI-compatible or cloud client."""

    name: str
    genai_name: str | None = None
    prices_id: str | None = None


PROVIDERS: tuple[ProviderSpec, ...] = (
    ProviderSpec("openai", "openai", "llmtrace.providers.openai", "OpenAIInstrumentor", "openai", "openai",
                 "openai", "openai"),
    ProviderSpec("anthropic", "anthropic", "llmtrace.providers.anthropic", "AnthropicInstrumentor", "anthropic",
                 "anthropic", "anthropic", "anthropic"),
    ProviderSpec("ollama", "ollama", "llmtrace.providers.ollama", "OllamaInstrumentor", "ollama", "ollama"),
    ProviderSpec("mistral", "mistralai.client", "llmtrace.providers.mistral", "MistralInstrumentor", "mistral",
                 "mistralai", "mistral_ai", "mistral"),
    ProviderSpec("cohere", "cohere", "llmtrace.providers.cohere", "CohereInstrumentor", "cohere", "cohere",
                 "cohere", "cohere"),
    ProviderSpec("litellm", "litellm", "llmtrace.providers.litellm", "LiteLLMInstrumentor", "litellm", "litellm"),
    ProviderSpec("bedrock", "botocore", "llmtrace.providers.bedrock", "BedrockInstrumentor", "bedrock", "boto3",
                 "aws.bedrock", "aws"),
    ProviderSpec("google", "google.genai", "llmtrace.providers.google_genai", "GoogleGenAIInstrumentor", "google",
                 "google-genai", "gcp.gemini", "google"),
    ProviderSpec("together", "together", "llmtrace.providers.together", "TogetherInstrumentor", "together",
                 "together", None, "together"),
    ProviderSpec("groq", "groq", "llmtrace.providers.groq", "GroqInstrumentor", "groq", "groq", "groq", "groq"),
    ProviderSpec("huggingface", "huggingface_hub.inference", "llmtrace.providers.huggingface",
                 "HuggingFaceInstrumentor", "huggingface", "huggingface_hub"),
)  # fmt: skip

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("vertex", "gcp.vertex_ai", "google"),  # genai-prices' google provider covers Vertex AI's Gemini
    Endpoint("azure", "azure.ai.openai", "azure"),
    Endpoint("deepseek", "deepseek", "deepseek"),
    Endpoint("xai", "x_ai", "x-ai"),
    Endpoint("openrouter", None, "openrouter"),
    Endpoint("fireworks", None, "fireworks"),
    Endpoint("cerebras", None, "cerebras"),
    Endpoint("perplexity", None, "perplexity"),
)


def genai_provider_names() -> dict[str, str]:
    """``llm.provider`` -> ``gen_ai.provider.name``, where the spec has a value."""
    return {p.name: p.genai_name for p in (*PROVIDERS, *ENDPOINTS) if p.genai_name is not None}


def prices_provider_ids() -> dict[str, str]:
    """``llm.provider`` -> genai-prices provider id, where genai-prices has one."""
    return {p.name: p.prices_id for p in (*PROVIDERS, *ENDPOINTS) if p.prices_id is not None}
