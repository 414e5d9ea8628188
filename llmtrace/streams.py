"""One sync/async pair of stream proxies: TTFT, chunk count, inter-chunk gaps, and an end that happens once.

The proxies are ``wrapt.ObjectProxy`` subclasses, so every public attribute of the SDK stream (``response``,
helper properties, ``isinstance`` checks) passes through untouched; only iteration, context-manager exit and
``close()`` are observed. The span ends when the stream is exhausted, raises, is closed, or is collected.

The per-chunk path is the hot one (agents stream thousands of chunks). SDK stream classes whose ``__iter__``
returns a fresh generator (openai, anthropic, mistral, ...) get the same from the proxy: a generator that feeds
each chunk to the provider state and appends one timestamp, about a third of the cost of a Python-level
``__next__`` per chunk. Streams that are their own iterator (generators: ollama, google-genai) keep
``iter(stream) is stream`` and go through ``__next__``. Both paths share one underlying iterator.

A raw response whose stream (or body) the SDK makes on ``parse()`` gets ``RawResponseProxy``, which hands the
stream it makes to one of the pair.
"""

from __future__ import annotations

import inspect
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import wrapt

from ._guard import report_internal_error
from .call import LLMCall, LLMRecord
from .exceptions import IncompleteStreamError
from .retries import ACTIVE_CALL

__all__ = ["AsyncStreamProxy", "RawResponseProxy", "StreamState", "SyncStreamProxy"]


class StreamState(ABC):
    """Provider-specific accumulator fed every chunk; writes what the stream told into the record at the end."""

    __slots__ = ()

    @abstractmethod
    def process_chunk(self, chunk: Any) -> bool:
        """Absorb one chunk/event; return True when it carried content (text, tool-call or reasoning delta)."""

    def flush(self, record: LLMRecord) -> None:
        """Copy what the stream told into ``record`` at its end (usage, ids, finish reasons, output text).

        Most states write into the record as chunks arrive and have nothing left to do here."""
        return None

    @property
    def terminated(self) -> bool:
        """Whether the provider's terminal event arrived; a stream that ends without it was cut."""
        return True


class _Ending(wrapt.ObjectProxy):
    """A proxy whose call ends once, early, when the user closes the SDK object (``close``/``aclose``)."""

    def _self_end(self, exc: BaseException | None, early: bool) -> None:
        raise NotImplementedError

    def _self_closer(self, close: Any) -> Any:
        """The SDK's ``close``/``aclose`` wrapped so the call ends once it has run; a coroutine function stays one.

        Mirroring the SDK's own method keeps each stream class's contract (openai's async ``close``, litellm's sync
        one, an async generator's ``aclose`` that returns an awaitable)."""
        if inspect.iscoroutinefunction(close):

            async def close_async(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await close(*args, **kwargs)
                finally:
                    self._self_end(None, early=True)

            return close_async

        def close_now(*args: Any, **kwargs: Any) -> Any:
            try:
                result = close(*args, **kwargs)
            except BaseException:
                self._self_end(None, early=True)
                raise
            if inspect.isawaitable(result):
                return self._self_end_after(result)
            self._self_end(None, early=True)
            return result

        return close_now

    async def _self_end_after(self, closing: Any) -> Any:
        try:
            return await closing
        finally:
            self._self_end(None, early=True)


class _StreamObserver(_Ending):
    """Shared state and the once-only end for both proxies."""

    def __init__(self, wrapped: Any, call: LLMCall, state: StreamState) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_state = state
        self._self_iter: Any = None
        # Lazy streams (generators: google-genai, ollama) send their request, retries included, on the first
        # next(): the call is active until the first item arrives so the transport hook counts those attempts.
        self._self_pending = True
        # Bound once: the per-chunk path is one call into the provider state plus a timestamp.
        self._self_process = state.process_chunk
        self._self_stamps = call.chunk_stamps

    def _self_end(self, exc: BaseException | None, early: bool) -> None:
        call = self._self_call
        if call.ended:
            return
        try:
            self._self_state.flush(call.record)
            call.record.stream_incomplete = early
        except Exception:
            report_internal_error("stream.finish")
        if exc is None and not early and not self._self_state.terminated:
            exc = IncompleteStreamError("stream ended before the provider's terminal event")
        if exc is None:
            call.finish()
        else:
            call.fail(exc)

    def _self_chunk(self, chunk: Any) -> None:
        """Feed one chunk to the provider state; a content chunk gets a timestamp (TTFT, count, gaps)."""
        try:
            if self._self_process(chunk):
                self._self_stamps.append(time.perf_counter_ns())
        except Exception:
            report_internal_error("stream.chunk")

    def __del__(self) -> None:
        call = getattr(self, "_self_call", None)
        if call is not None and not call.ended:
            try:
                self._self_end(None, early=True)
            except Exception:  # a finalizer must not raise (e.g. collected while the interpreter shuts down)
                pass


class SyncStreamProxy(_StreamObserver):
    """Proxy of a sync SDK stream (``openai.Stream``, ``anthropic.Stream``, ...)."""

    def __iter__(self) -> Iterator[Any]:
        iterator = self._self_iter
        if iterator is None:
            iterator = self._self_iter = iter(self.__wrapped__)
        if iterator is self.__wrapped__:
            return self  # the stream is its own iterator (a generator): so is the proxy
        return self._self_observe(iterator)

    def _self_observe(self, iterator: Iterator[Any]) -> Iterator[Any]:
        """The fast path: one generator resume, one provider-state call and one timestamp per chunk."""
        if self._self_pending:
            try:
                chunk = self._self_first(iterator)
            except StopIteration:
                return
            yield chunk
        process, stamp, clock = self._self_process, self._self_stamps.append, time.perf_counter_ns
        try:
            for chunk in iterator:
                try:
                    if process(chunk):
                        stamp(clock())
                except Exception:
                    report_internal_error("stream.chunk")
                yield chunk
        except GeneratorExit:
            raise  # the consumer stopped iterating: the stream stays open (close() or collection ends it)
        except BaseException as exc:
            self._self_end(exc, early=False)
            raise
        self._self_end(None, early=False)

    def _self_first(self, iterator: Iterator[Any]) -> Any:
        """The first item, with the call active: lazy streams send their request (and retries) now."""
        token = ACTIVE_CALL.set(self._self_call)
        try:
            chunk = self._self_pull(iterator)
        finally:
            ACTIVE_CALL.reset(token)
        self._self_pending = False
        return chunk

    def _self_pull(self, iterator: Iterator[Any]) -> Any:
        """``next(iterator)`` for the ``next()`` path: the call ends when the stream stops or fails."""
        try:
            chunk = next(iterator)
        except StopIteration:
            self._self_end(None, early=False)
            raise
        except BaseException as exc:
            self._self_end(exc, early=False)
            raise
        self._self_chunk(chunk)
        return chunk

    def __next__(self) -> Any:
        iterator = self._self_iter
        if iterator is None:
            iterator = self._self_iter = iter(self.__wrapped__)
        return self._self_first(iterator) if self._self_pending else self._self_pull(iterator)

    def __enter__(self) -> SyncStreamProxy:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_end(None, early=True)

    @property
    def close(self) -> Any:
        """The SDK's own ``close`` (sync, as sync streams have it), which also ends the call."""
        return self._self_closer(self.__wrapped__.close)

    @property
    def aclose(self) -> Any:
        """A sync stream with an async close too (litellm's ``CustomStreamWrapper``); absent when the SDK's is."""
        return self._self_closer(self.__wrapped__.aclose)


class AsyncStreamProxy(_StreamObserver):
    """Proxy of an async SDK stream (``openai.AsyncStream``, ``anthropic.AsyncStream``, ...)."""

    def __aiter__(self) -> AsyncIterator[Any]:
        iterator = self._self_iter
        if iterator is None:
            iterator = self._self_iter = self.__wrapped__.__aiter__()
        if iterator is self.__wrapped__:
            return self  # an async generator: its own iterator, and so is the proxy
        return self._self_observe(iterator)

    async def _self_observe(self, iterator: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """The fast path: one async-generator step, one provider-state call and one timestamp per chunk."""
        if self._self_pending:
            try:
                chunk = await self._self_first(iterator)
            except StopAsyncIteration:
                return
            yield chunk
        process, stamp, clock = self._self_process, self._self_stamps.append, time.perf_counter_ns
        try:
            async for chunk in iterator:
                try:
                    if process(chunk):
                        stamp(clock())
                except Exception:
                    report_internal_error("stream.chunk")
                yield chunk
        except GeneratorExit:
            raise  # the consumer stopped iterating: the stream stays open (close() or collection ends it)
        except BaseException as exc:
            self._self_end(exc, early=False)
            raise
        self._self_end(None, early=False)

    async def _self_first(self, iterator: AsyncIterator[Any]) -> Any:
        """The first item, with the call active: lazy streams send their request (and retries) now."""
        token = ACTIVE_CALL.set(self._self_call)
        try:
            chunk = await self._self_pull(iterator)
        finally:
            ACTIVE_CALL.reset(token)
        self._self_pending = False
        return chunk

    async def _self_pull(self, iterator: AsyncIterator[Any]) -> Any:
        """``await anext(iterator)`` for the ``__anext__`` path: the call ends when the stream stops or fails."""
        try:
            chunk = await iterator.__anext__()
        except StopAsyncIteration:
            self._self_end(None, early=False)
            raise
        except BaseException as exc:
            self._self_end(exc, early=False)
            raise
        self._self_chunk(chunk)
        return chunk

    async def __anext__(self) -> Any:
        iterator = self._self_iter
        if iterator is None:
            iterator = self._self_iter = self.__wrapped__.__aiter__()
        return await (self._self_first(iterator) if self._self_pending else self._self_pull(iterator))

    async def __aenter__(self) -> AsyncStreamProxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_end(None, early=True)

    @property
    def close(self) -> Any:
        """The SDK's own ``close``: async for most async streams, sync for some (litellm's); it ends the call."""
        return self._self_closer(self.__wrapped__.close)

    @property
    def aclose(self) -> Any:
        """Async generators close with ``aclose()``; absent (AttributeError) exactly when the SDK's is."""
        return self._self_closer(self.__wrapped__.aclose)


class RawResponseProxy(_Ending):
    """Proxy of an SDK's raw response whose stream (or body) comes on ``parse()``: the call follows what the first
    ``parse()`` returns (``follow``: a stream proxy, or the read response) and ends with it.

    Stainless SDKs (openai, anthropic, ...) return one from ``with_streaming_response`` (the OpenAI Agents SDK's
    streamed Responses path) and from ``with_raw_response`` with ``stream=True``; the user may also read the body
    bytes themselves, or never: then closing the response (its context manager does) or collecting it ends the call.
    """

    def __init__(self, wrapped: Any, call: LLMCall, follow: Callable[[Any], Any]) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_follow = follow
        self._self_parsed: Any = _UNPARSED  # what the SDK's parse() returned first ...
        self._self_observed: Any = None  # ... and what the user got for it (the SDK caches parse(): so do we)

    @property
    def parse(self) -> Any:
        """The SDK's own ``parse`` (sync, or async on async responses), followed by the call."""
        parse = self.__wrapped__.parse
        if inspect.iscoroutinefunction(parse):

            async def parse_async(*args: Any, **kwargs: Any) -> Any:
                try:
                    parsed = await parse(*args, **kwargs)
                except BaseException as exc:
                    self._self_parse_failed(exc)
                    raise
                return self._self_observe(parsed)

            return parse_async

        def parse_now(*args: Any, **kwargs: Any) -> Any:
            try:
                parsed = parse(*args, **kwargs)
            except BaseException as exc:
                self._self_parse_failed(exc)
                raise
            return self._self_observe(parsed)

        return parse_now

    def _self_parse_failed(self, exc: BaseException) -> None:
        if self._self_parsed is _UNPARSED:  # the body failed to arrive: the call's error (a later parse is the user's)
            self._self_call.fail(exc)

    def _self_observe(self, parsed: Any) -> Any:
        if self._self_parsed is _UNPARSED:
            self._self_parsed, self._self_observed = parsed, self._self_follow(parsed)
            return self._self_observed
        # the same object again (the SDK's cache) gets the same proxy; another parse (``to=``) goes unobserved
        return self._self_observed if parsed is self._self_parsed else parsed

    def _self_end(self, exc: BaseException | None, early: bool) -> None:
        observed = self._self_observed
        if isinstance(observed, _StreamObserver):
            observed._self_end(exc, early)  # closing the response cuts the stream made from it
            return
        self._self_call.finish()  # never parsed (the user read the bytes, or nothing): the call as made, no usage

    @property
    def close(self) -> Any:
        """The SDK's own ``close`` (async on async responses), which also ends the call."""
        return self._self_closer(self.__wrapped__.close)

    def __del__(self) -> None:
        call = getattr(self, "_self_call", None)
        if call is not None and not call.ended and self._self_parsed is _UNPARSED:
            try:  # never parsed: nothing else will end the call (a parsed stream ends with its own proxy)
                self._self_end(None, early=True)
            except Exception:  # a finalizer must not raise
                pass


_UNPARSED = object()
