"""Checks of a provider's error table that every provider's tests make alike."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from types import ModuleType

from llmtrace.classification import ErrorInfo, classify
from llmtrace.semconv import ErrorType

__all__ = [
    "assert_maps_every",
    "assert_most_specific_first",
    "classified",
    "first_row_kind",
    "listed_classes",
    "public_exceptions",
]


def listed_classes(provider: ModuleType) -> list[type[BaseException]]:
    """The exception classes in ``provider``'s error table, in order (predicate rows left out)."""
    return [match for match, _ in provider.errors() if isinstance(match, type)]


def first_row_kind(provider: ModuleType, exc: BaseException) -> ErrorType | None:
    """The error type of the first table row matching ``exc`` (a class or a predicate), None when none does."""
    for match, kind in provider.errors():
        if isinstance(exc, match) if isinstance(match, type) else match(exc):
            return kind
    return None


def classified(provider: ModuleType, exc: BaseException) -> ErrorInfo:
    """``exc`` classified as a call of ``provider`` would be: its table and its error readers."""
    import dataclasses

    rules = dataclasses.replace(provider.PROVIDER.error_readers, table=provider.errors())
    return classify(exc, rules)


def assert_maps_every(provider: ModuleType, public: Iterable[type[BaseException]]) -> None:
    """Every class in ``public`` is listed in ``provider``'s table itself (not only through a base)."""
    listed = listed_classes(provider)
    assert [cls.__name__ for cls in public if cls not in listed] == []


def assert_most_specific_first(provider: ModuleType) -> None:
    """No class in the table is shadowed by a base listed before it."""
    listed = listed_classes(provider)
    for i, cls in enumerate(listed):
        for later in listed[i + 1 :]:
            assert not issubclass(later, cls) or later is cls, f"{later.__name__} is shadowed by {cls.__name__}"


def public_exceptions(module: ModuleType, *, exclude: Iterable[str] = ()) -> list[type[BaseException]]:
    """The public exception classes defined in ``module``."""
    skip = set(exclude)
    return [
        cls
        for name, cls in vars(module).items()
        if inspect.isclass(cls)
        and issubclass(cls, BaseException)
        and not issubclass(cls, Warning)
        and cls.__module__ == module.__name__
        and not name.startswith("_")
        and name not in skip
    ]
