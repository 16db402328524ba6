"""Django's Redis cache, for which an unreachable or stalled Redis is a miss, never an error.

The cache is a help, never a dependency (sessions never use it): rate limits and the FLG
breaker fall back to a memory cache of this process. Every operation passes through
`_attempt`, so no caller needs its own try/except. After an error Redis is left alone for
`REDIS_PAUSE` seconds (a stalled Redis would otherwise cost every request a timeout), then
tried again; recovery needs no restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds a connection or an answer may take: a healthy Redis answers in well under 1 ms.
SOCKET_TIMEOUT = 0.25
# Seconds Redis is left alone after an error, and between two warnings in the log.
REDIS_PAUSE = 5.0
WARN_EVERY = 60.0
# Keys written while Redis was out, deleted once it is back (their old values there are
# stale: a value changed meanwhile must not come back). Beyond this many, the oldest
# are forgotten, which only ever leaves an entry to expire on its own.
MAX_STALE_KEYS = 10_000


class _OneClientPerPool(RedisCacheClient):
    """Django's client makes a new redis.Redis for every operation, registering its 169
    response callbacks each time: a quarter of a cache read's CPU. A redis.Redis is safe to
    share between threads (each command takes a connection from the pool), so one per pool
    serves every request of the process."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django_client = cast(Any, self)  # the parts of Django's client its stubs leave out
        pool = django_client._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = django_client._client(connection_pool=pool)
        return client


class TolerantRedisCache(RedisCache):
    """RedisCache that answers from a per-process fallback (or as a miss) when Redis fails.

    OPTIONS: `LOCAL_FALLBACK` (default True) keeps a per-process memory cache meanwhile;
    off, an error is a miss (for data another worker may change meanwhile).
    """

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        local_fallback = options.pop("LOCAL_FALLBACK", True)
        options.setdefault("socket_connect_timeout", SOCKET_TIMEOUT)
        options.setdefault("socket_timeout", SOCKET_TIMEOUT)
        # redis-py retries are time we do not have: one attempt, then the fallback.
        options.setdefault("retry", Retry(NoBackoff(), 0))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = _OneClientPerPool
        self._local = (
            LocMemCache(f"fallback-{id(self)}", {"OPTIONS": {"MAX_ENTRIES": MAX_STALE_KEYS}})
            if local_fallback
            else None
        )
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self._warned_at = -WARN_EVERY
        self._out = False
        self._stale: dict[str, None] = {}  # insertion-ordered set

    # --- The one place errors are handled --------------------------------------------------

    def _attempt(self, operation: Callable[[], T], fallback: Callable[[], T]) -> T:
        if time.monotonic() < self._paused_until:
            return fallback()
        try:
            if self._out:
                self._recover()
            return operation()
        except RedisError as exc:
            self._went_out(exc)
            return fallback()

    def _went_out(self, exc: RedisError) -> None:
        now = time.monotonic()
        with self._lock:
            self._out = True
            self._paused_until = now + REDIS_PAUSE
            warn = now - self._warned_at >= WARN_EVERY
            if warn:
                self._warned_at = now
        if warn:
            logger.warning(
                "The cache (Redis) is unavailable (%s: %s); serving without it and trying "
                "again every %.0f s",
                type(exc).__name__,
                exc,
                REDIS_PAUSE,
            )

    def _recover(self) -> None:
        with self._lock:
            stale = list(self._stale)
        if stale:
            self._cache.delete_many(stale)  # raises if Redis is still out
        with self._lock:
            for key in stale:
                self._stale.pop(key, None)
            self._out = False
        if self._local is not None:
            self._local.clear()
        logger.warning("The cache (Redis) is available again")

    def _mark_stale(self, keys: Iterable[Any], version: int | None) -> None:
        with self._lock:
            for key in keys:
                self._stale[self.make_and_validate_key(key, version=version)] = None
            while len(self._stale) > MAX_STALE_KEYS:
                self._stale.pop(next(iter(self._stale)))

    def _written(
        self, keys: Iterable[Any], version: int | None, local: Callable[[Any], T], miss: T
    ) -> Callable[[], T]:
        """The fallback for a write: remember the keys, then write locally (or do nothing)."""

        def fallback() -> T:
            self._mark_stale(keys, version)
            return miss if self._local is None else local(self._local)

        return fallback

    def _read(self, local: Callable[[Any], T], miss: T) -> Callable[[], T]:
        return lambda: miss if self._local is None else local(self._local)

    def is_available(self) -> bool:
        """Whether Redis answers now (False at once while it is paused after an error)."""
        return self._attempt(lambda: bool(self._cache.get_client().ping()), lambda: False)

    # --- Django's cache API ----------------------------------------------------------------

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None):
        return self._attempt(
            lambda: super(TolerantRedisCache, self).add(key, value, timeout, version),
            self._written([key], version, lambda c: c.add(key, value, timeout, version), True),
        )

    def get(self, key: Any, default: Any = None, version: Any = None):
        return self._attempt(
            lambda: super(TolerantRedisCache, self).get(key, default, version),
            self._read(lambda c: c.get(key, default, version), default),
        )

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None):
        return self._attempt(
            lambda: super(TolerantRedisCache, self).set(key, value, timeout, version),
            self._written([key], version, lambda c: c.set(key, value, timeout, version), None),
        )

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None):
        return self._attempt(
            lambda: super(TolerantRedisCache, self).touch(key, timeout, version),
            self._written([key], version, lambda c: c.touch(key, timeout, version), False),
        )

    def delete(self, key: Any, version: Any = None):
        return self._attempt(
            lambda: super(TolerantRedisCache, self).delete(key, version),
            self._written([key], version, lambda c: c.delete(key, version), False),
        )

    def get_many(self, keys: Any, version: Any = None):
        keys = list(keys)
        return self._attempt(
            lambda: super(TolerantRedisCache, self).get_many(keys, version),
            self._read(lambda c: c.get_many(keys, version), {}),
        )

    def has_key(self, key: Any, version: Any = None):
        return self._attempt(
            lambda: super(TolerantRedisCache, self).has_key(key, version),
            self._read(lambda c: c.has_key(key, version), False),
        )

    def incr(self, key: Any, delta: int = 1, version: Any = None):
        def missing(c: Any) -> int:
            if c is None:
                raise ValueError(f"Key '{key}' not found (the cache is unavailable)")
            return c.incr(key, delta, version)

        return self._attempt(
            lambda: self._incr_remote(key, delta, version),
            self._written([key], version, missing, None)
            if self._local is not None
            else lambda: missing(None),
        )

    def _incr_remote(self, key: Any, delta: int, version: Any) -> int:
        # Django's incr asks EXISTS, then INCRBY: two round trips for every count (the breaker's
        # and the session limit's, on each start). Both in one MULTI/EXEC here; a key that did
        # not exist (INCRBY made it, without an expiry) is taken back and reported missing.
        made = self.make_and_validate_key(key, version=version)
        client = self._cache.get_client(made, write=True)
        pipeline: Any = client.pipeline(transaction=True)  # redis-py types commands as int
        pipeline.exists(made)
        pipeline.incrby(made, delta)
        existed, value = pipeline.execute()
        if not existed:
            client.delete(made)
            raise ValueError(f"Key '{key}' not found.")
        return int(value)

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None):
        data = dict(data)
        return self._attempt(
            lambda: super(TolerantRedisCache, self).set_many(data, timeout, version),
            self._written(data, version, lambda c: c.set_many(data, timeout, version), []),
        )

    def delete_many(self, keys: Any, version: Any = None):
        keys = list(keys)
        return self._attempt(
            lambda: super(TolerantRedisCache, self).delete_many(keys, version),
            self._written(keys, version, lambda c: c.delete_many(keys, version), None),
        )

    def clear(self):
        if self._local is not None:
            self._local.clear()
        return self._attempt(lambda: super(TolerantRedisCache, self).clear(), lambda: None)
