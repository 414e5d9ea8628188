"""Provider instrumentors. Each module holds provider knowledge only; ``_base`` holds the mechanics."""

from __future__ import annotations

__all__ = ["PROVIDER_MODULES"]

# llm.provider name -> (instrumentor module, class name, SDK import name that must be importable)
PROVIDER_MODULES: dict[str, tuple[str, str, str]] = {
    "openai": ("llmtrace.providers.openai", "OpenAIInstrumentor", "openai"),
    "anthropic": ("llmtrace.providers.anthropic", "AnthropicInstrumentor", "anthropic"),
    "ollama": ("llmtrace.providers.ollama", "OllamaInstrumentor", "ollama"),
    "mistral": ("llmtrace.providers.mistral", "MistralInstrumentor", "mistralai.client"),
    "cohere": ("llmtrace.providers.cohere", "CohereInstrumentor", "cohere"),
    "litellm": ("llmtrace.providers.litellm", "LiteLLMInstrumentor", "litellm"),
    "bedrock": ("llmtrace.providers.bedrock", "BedrockInstrumentor", "botocore"),
    "google": ("llmtrace.providers.google_genai", "GoogleGenAIInstrumentor", "google.genai"),
}
