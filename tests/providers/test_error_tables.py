"""Every public exception class of each SDK is covered by its provider's error table (most specific first)."""

from __future__ import annotations

import inspect

import anthropic
import openai
import pytest

from llmtrace.providers import anthropic as anthropic_provider
from llmtrace.providers import openai as openai_provider

# Bases that carry no meaning of their own: classified from the HTTP status / exception kind instead.
_BASES = {
    "OpenAIError",
    "AnthropicError",
    "APIError",
    "APIStatusError",
    "APIWebhookValidationError",
    "InvalidWebhookSignatureError",
    "WebSocketConnectionClosedError",
    "WebSocketQueueFullError",
    "SubjectTokenProviderError",
    "RetryableError",
    "OAuthError",
    "IdentityTokenFileError",
}


def _public_errors(module, root):
    exc_module = module._exceptions
    return [
        cls
        for name, cls in vars(exc_module).items()
        if inspect.isclass(cls) and issubclass(cls, root) and not name.startswith("_") and name not in _BASES
    ]


@pytest.mark.parametrize(
    ("sdk", "root", "provider"),
    [(openai, openai.OpenAIError, openai_provider), (anthropic, anthropic.AnthropicError, anthropic_provider)],
)
def test_every_public_exception_is_mapped(sdk, root, provider):
    table = provider.errors()
    listed = [cls for cls, _ in table]
    missing = [cls.__name__ for cls in _public_errors(sdk, root) if cls not in listed]
    assert missing == []


@pytest.mark.parametrize("provider", [openai_provider, anthropic_provider])
def test_subclasses_come_before_their_bases(provider):
    listed = [cls for cls, _ in provider.errors()]
    for i, cls in enumerate(listed):
        for later in listed[i + 1 :]:
            assert not issubclass(later, cls) or later is cls, f"{later.__name__} is shadowed by {cls.__name__}"
