"""Calling livekit-api (asyncio + aiohttp) from gevent workers.

Each call runs `asyncio.run(...)` in a real OS thread, with its own event loop
and a fresh `LiveKitAPI` session. Under gunicorn wsgi.py monkey-patches
everything, so `threading.Thread` would be a greenlet sharing the hub's thread;
gevent's hub threadpool gives native threads instead and blocks only the
calling greenlet while it waits. Without gevent (tests, the CLI) a small
ThreadPoolExecutor of native threads does the same job.
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, TypeVar

import aiohttp
from gevent import get_hub, monkey
from livekit import api
from livekit.api.twirp_client import ServerError

log = logging.getLogger("kraken.livekit")
T = TypeVar("T")
DEFAULT_TIMEOUT = 3.0  # seconds; LiveKit answers in milliseconds when it is up
_executor: ThreadPoolExecutor | None = None


@dataclass(frozen=True)
class Credentials:
    """Where and how this server calls LiveKit's server API."""

    url: str
    api_key: str
    api_secret: str


class LiveKitCallError(Exception):
    """A LiveKit API call failed: `code` is LiveKit's Twirp code (`not_found`, ...) or
    `unavailable` (unreachable, timed out, unexpected failure)."""

    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


def _gevent_patched() -> bool:
    return monkey.is_module_patched("threading")


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="livekit")
    return _executor


async def _with_api(creds: Credentials, fn: Callable[[Any], Awaitable[T]], timeout: float) -> T:
    async with api.LiveKitAPI(creds.url, creds.api_key, creds.api_secret,
                              timeout=aiohttp.ClientTimeout(total=timeout), failover=False) as lk:
        return await asyncio.wait_for(fn(lk), timeout)


def _run(creds: Credentials, fn: Callable[[Any], Awaitable[T]], timeout: float) -> T:
    """In the worker thread: one event loop for one call; every failure becomes LiveKitCallError."""
    try:
        return asyncio.run(_with_api(creds, fn, timeout))
    except ServerError as exc:
        raise LiveKitCallError(exc.code, exc.message) from None
    except (asyncio.TimeoutError, TimeoutError):
        raise LiveKitCallError("unavailable", f"no answer within {timeout} s") from None
    except Exception as exc:  # connection refused, DNS, protocol errors...
        raise LiveKitCallError("unavailable", f"{type(exc).__name__}: {exc}"[:300]) from None


def call(creds: Credentials, fn: Callable[[Any], Awaitable[T]], timeout: float = DEFAULT_TIMEOUT) -> T:
    """Run `await fn(LiveKitAPI)` in a native thread and wait for it; raises LiveKitCallError."""
    if _gevent_patched():
        return get_hub().threadpool.apply(_run, (creds, fn, timeout))
    return _pool().submit(_run, creds, fn, timeout).result()


def submit(creds: Credentials, fn: Callable[[Any], Awaitable[Any]], what: str,
           timeout: float = DEFAULT_TIMEOUT) -> None:
    """Fire and forget: run the call in a native thread; failures are logged, never raised."""

    def job() -> None:
        try:
            _run(creds, fn, timeout)
        except LiveKitCallError as exc:
            level = logging.INFO if exc.code == "not_found" else logging.WARNING
            log.log(level, "livekit call failed", extra={"call": what, "code": exc.code, "detail": exc.message})

    try:
        if _gevent_patched():
            get_hub().threadpool.spawn(job)
        else:
            _pool().submit(job)
    except Exception:  # a full or shut-down pool must not fail the request that triggered the call
        log.warning("livekit call not scheduled", extra={"call": what})
