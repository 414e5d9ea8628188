"""Every public exception class of each SDK is covered by its provider's error table (most specific first)."""

from __future__ import annotations

import inspect

import anthropic
import openai
import pytest

from llmtrace.providers import anthropic as anthropic_provider
from llmtrace.providers import openai as openai_provider

from .._error_tables import assert_maps_every, assert_most_specific_first

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
    assert_maps_every(provider, _public_errors(sdk, root))


@pytest.mark.parametrize("provider", [openai_provider, anthropic_provider])
def test_subclasses_come_before_their_bases(provider):
    assert_most_specific_first(provider)
