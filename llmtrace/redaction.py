"""Scrub secrets and personal data from text before it may leave the process (opt-in content, error messages).

Built-in patterns: emails, payment card numbers (Luhn-checked), API keys/tokens, US SSNs, phone numbers.
A user hook runs after them for domain-specific rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["Redactor"]

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")),
    (
        "api_key",
        re.compile(
            r"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}"
            r"|gh[pousr]_[A-Za-z0-9]{36,}|xox[abposr]-[A-Za-z0-9-]{10,}|(?:Bearer\s+)[A-Za-z0-9._~+/-]{20,}=*)"
        ),
    ),
    ("ssn", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    ("card", re.compile(r"\b(?:\d[ -]?){12,18}\d\b")),
    ("phone", re.compile(r"(?<![\w-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]\d{3}[ .-]\d{4}\b")),
)


def _luhn_ok(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


class Redactor:
    """Replaces sensitive substrings with ``[REDACTED:<kind>]`` and caps the length."""

    __slots__ = ("_hook", "max_length")

    def __init__(self, hook: Callable[[str], str] | None = None, max_length: int = 4096) -> None:
        self._hook = hook
        self.max_length = max_length

    def __call__(self, text: str, max_length: int | None = None) -> str:
        for kind, pattern in _PATTERNS:
            text = pattern.sub(_replacer(kind), text)
        if self._hook is not None:
            text = self._hook(text)
        limit = self.max_length if max_length is None else max_length
        return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _replacer(kind: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        if kind == "card" and not _luhn_ok(match.group(0)):
            return match.group(0)
        return f"[REDACTED:{kind}]"

    return replace
