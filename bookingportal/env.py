"""Parsers and checks for settings read from the environment.

Each reads one variable (or takes its raw value) and returns it parsed, or raises
ImproperlyConfigured with one sentence saying what to change. Nothing here needs Django's
settings configured: gunicorn.conf.py imports it in gunicorn's master too.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from flg.net import is_loopback

env = environ.Env()


def env_bool(name: str, default: bool) -> bool:
    """A yes or no: 1/0, true/false, yes/no, on/off; unset or blank is the default."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), not {raw!r}.")


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number from minimum to maximum; unset or blank is the default."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, not {value}.")
    return value


# A start waits on FLG for its whole call, holding its thread (not a database connection: the
# pool, bookingportal/wiring.py): 48 a worker let a campaign's starts wait for a slow FLG
# instead of being refused, while eight stay for pages and for starts waiting their turn
# (settings.FLG_MAX_CONCURRENT_CALLS).
GUNICORN_THREADS = 48


def gunicorn_threads() -> int:
    """GUNICORN_THREADS, as gunicorn.conf.py and the settings both read it."""
    return env_int("GUNICORN_THREADS", GUNICORN_THREADS, minimum=1)


def redacted(url: str) -> str:
    """A URL as it may be quoted in an error: without the password it may hold."""
    return re.sub(r"(//[^/@]*?:)[^/@]*@", r"\1***@", url)


def check_url_port(name: str, raw: str) -> None:
    """Refuse a URL whose port is not a number (urlsplit only says so when asked)."""
    try:
        urlsplit(raw).port  # noqa: B018 (parsing it is the check)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} {redacted(raw)!r} has a port that is not a number."
        ) from None


DATABASE_SCHEMES = {"postgres", "postgresql", "pgsql", "sqlite"}


def parse_database_url(name: str, raw: str) -> dict[str, Any]:
    """DATABASE_URL as Django's DATABASES entry: PostgreSQL or SQLite, nothing else."""
    value = raw.strip()
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme not in DATABASE_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} must be postgres://user:password@host:5432/name or sqlite:///path, "
            f"not {redacted(value)!r}."
        )
    check_url_port(name, value)
    try:
        config: dict[str, Any] = environ.Env.db_url_config(value)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(
            f"{name} {redacted(value)!r} is not a database URL ({exc})."
        ) from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(
            f"{name} {redacted(value)!r} names no database; "
            "use postgres://user:password@host:5432/name."
        )
    return config


CACHE_SCHEMES = {"redis", "rediss", "locmemcache", "dummycache"}


def parse_cache_url(name: str, raw: str) -> dict[str, Any]:
    """CACHE_URL as Django's CACHES entry: Redis, or a per-process cache for one process."""
    value = raw.strip()
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme not in CACHE_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} must be redis://host:6379/0 (or rediss:// for TLS; locmemcache:// for a "
            f"single process), not {redacted(value)!r}."
        )
    check_url_port(name, value)
    if scheme.startswith("redis") and not urlsplit(value).hostname:
        raise ImproperlyConfigured(
            f"{name} {redacted(value)!r} names no host; use redis://host:6379/0."
        )
    config: dict[str, Any] = environ.Env.cache_url_config(value)
    return config


def env_hosts(name: str, default: list[str]) -> list[str]:
    """A comma-separated list of host names (a leading dot for subdomains; no scheme or path)."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    hosts = [h.strip() for h in raw.split(",") if h.strip()]
    for host in hosts:
        if "://" in host or "/" in host or "@" in host or any(c.isspace() for c in host):
            raise ImproperlyConfigured(
                f"{name} lists host names such as book.example.com, not {host!r}."
            )
    return hosts


def env_origins(name: str) -> list[str]:
    """A comma-separated list of origins: scheme and host, e.g. https://book.example.com."""
    origins = [o.strip() for o in os.environ.get(name, "").split(",") if o.strip()]
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path.strip("/"):
            raise ImproperlyConfigured(
                f"{name} lists origins such as https://book.example.com, not {origin!r}."
            )
    return origins


def env_email(name: str, default: str) -> str:
    """An email address, bare or as Name <address>, returned as given."""
    raw = env.str(name, default=default).strip()
    address = parseaddr(raw)[1]
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
        raise ImproperlyConfigured(
            f"{name} must be an email address (or Name <address>), not {raw!r}."
        )
    return raw


def env_dotted_class(name: str, default: str) -> str:
    """A class named by its dotted path, whose module must exist."""
    raw = env.str(name, default=default).strip()
    module, _, cls = raw.rpartition(".")
    try:
        found = bool(module and cls) and importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ImproperlyConfigured(
            f"{name} must be the dotted path of a class, such as "
            f"django.core.mail.backends.smtp.EmailBackend, not {raw!r}."
        )
    return raw


def parse_flg_domain(raw: str) -> str:
    """Turn FLG_DOMAIN (a bare domain or a base URL) into a base URL without a trailing slash."""
    value = raw.strip()
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(
            f"FLG_DOMAIN {raw!r} is not a domain or a URL; use e.g. demo.flg360.co.uk."
        ) from None
    host = parts.hostname or ""
    if (
        parts.scheme not in {"http", "https"}
        or not host
        or parts.username is not None
        or parts.password is not None
        or parts.query
        or parts.fragment
        or any(c.isspace() or c == "\\" for c in value)
    ):
        raise ImproperlyConfigured(
            f"FLG_DOMAIN {raw!r} is not a domain or a URL; use e.g. demo.flg360.co.uk."
        )
    if parts.scheme == "http" and not is_loopback(host):
        raise ImproperlyConfigured(
            f"FLG_DOMAIN {raw!r} uses plain http; only https is allowed except on loopback."
        )
    netloc = host if port is None else f"{host}:{port}"
    if ":" in host:
        netloc = f"[{host}]" if port is None else f"[{host}]:{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def parse_trusted_proxies(raw: str) -> list[str]:
    """TRUSTED_PROXIES (addresses or CIDR ranges, comma-separated) as normalised networks."""
    networks = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        try:
            networks.append(str(ipaddress.ip_network(entry)))
        except ValueError:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES entry {entry!r} is not an IP address or a CIDR range "
                "(e.g. 10.0.0.5 or 172.16.0.0/12, with no host bits set)."
            ) from None
    return networks


MIN_WEBHOOK_TOKEN_LENGTH = 32
MIN_WEBHOOK_TOKEN_VARIETY = 8
_HOW_TO_MAKE_ONE = "make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def env_webhook_tokens(name: str) -> list[str]:
    """The URL secrets of the lead webhook: none (no endpoint), one, or two during a change."""
    tokens = [t.strip() for t in os.environ.get(name, "").split(",") if t.strip()]
    if len(tokens) > 2:
        raise ImproperlyConfigured(
            f"{name} holds {len(tokens)} tokens; give one, or two (new,old) during a change-over, "
            f"and {_HOW_TO_MAKE_ONE}"
        )
    for token in tokens:
        if len(token) < MIN_WEBHOOK_TOKEN_LENGTH or len(set(token)) < MIN_WEBHOOK_TOKEN_VARIETY:
            raise ImproperlyConfigured(
                f"{name} must be at least {MIN_WEBHOOK_TOKEN_LENGTH} characters of at least "
                f"{MIN_WEBHOOK_TOKEN_VARIETY} different characters; {_HOW_TO_MAKE_ONE}"
            )
        if len(token) > 200 or not re.fullmatch(r"[A-Za-z0-9._~-]+", token):
            raise ImproperlyConfigured(
                f"{name} goes in a URL, so it may hold only letters, digits, '-', '_', '.' and "
                f"'~' (at most 200); {_HOW_TO_MAKE_ONE}"
            )
    return tokens


def env_log_format(name: str, *, debug: bool) -> str:
    """json or plain: json unless the variable says plain, or DEBUG is on and it is unset.

    One rule for the portal's lines (settings.LOGGING) and gunicorn's own (gunicorn.conf.py).
    """
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return "plain" if debug else "json"
    if raw not in {"json", "plain"}:
        raise ImproperlyConfigured(f"{name} must be json or plain, not {raw!r}.")
    return raw


def env_secret_key(name: str, *, debug: bool) -> str:
    """SECRET_KEY: required with DEBUG off; with DEBUG on, a local development key if unset."""
    raw = env.str(name, default="").strip()
    if raw:
        return raw
    if not debug:
        raise ImproperlyConfigured(
            f"{name} is not set: set it to a long random value "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=1 for local development."
        )
    return "django-insecure-local-development-only-never-use-in-production"


def env_list(name: str) -> list[str]:
    """A comma-separated list of words, blanks dropped."""
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def parse_portal_url(name: str, raw: str) -> str:
    """The portal's public address (scheme and host, an optional path), without a trailing /."""
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ImproperlyConfigured(
            f"{name} must be the portal's address, such as https://book.example.com, not {value!r}."
        )
    return value


def read_key_file(name: str, path: str) -> str:
    """The secret held in a file (surrounding whitespace dropped), e.g. FLG_API_KEY_FILE."""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"{name} {path!r} cannot be read ({exc.strerror}).") from None


def default_booking_hosts(flg_base_url: str) -> str:
    """platform.getflg.com; a sandbox (its path ends in /sandbox) serves its own booking screens."""
    if flg_base_url and urlsplit(flg_base_url).path.endswith("/sandbox"):
        return urlsplit(flg_base_url).netloc
    return "platform.getflg.com"


def parse_booking_hosts(name: str, raw: str) -> list[str]:
    """FLG_BOOKING_HOSTS: host names (or host:port), lower-cased, that a publicUrl may name."""
    hosts = [h.strip().lower() for h in raw.split(",") if h.strip()]
    for host in hosts:
        try:
            parts = urlsplit("//" + host)
            parts.port  # noqa: B018 (parsing it is the check)
            bad = not parts.hostname or parts.path or "@" in host or "://" in host
        except ValueError:
            bad = True
        if bad:
            raise ImproperlyConfigured(
                f"{name} lists hosts such as platform.getflg.com (or host:port), not {host!r}."
            )
    return hosts


def parse_webhook_url(name: str, raw: str) -> str:
    """FLG_SANDBOX_WEBHOOK_URL: empty, or an http(s) URL."""
    value = raw.strip()
    if value and urlsplit(value).scheme not in {"http", "https"}:
        raise ImproperlyConfigured(
            f"{name} must be an http or https URL, such as "
            "http://127.0.0.1:8000/flg/webhooks/leads/<token>/."
        )
    return value


def env_metrics_token(name: str) -> str:
    """The bearer token for /metrics: empty (no page), or at least 16 characters."""
    token = env.str(name, default="").strip()
    if token and len(token) < 16:
        raise ImproperlyConfigured(
            f"{name} must be at least 16 characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(32))'), or unset."
        )
    return token


def env_multiproc_dir(name: str) -> str:
    """prometheus-client's directory: empty means unset, else one this process can write to.

    prometheus-client switches to multiprocess mode when the variable exists at all, even
    empty (a way to unset it in Kubernetes), so an empty one is removed from the environment.
    """
    path = os.environ.get(name, "").strip()
    if not path:
        os.environ.pop(name, None)
    elif not (os.path.isdir(path) and os.access(path, os.W_OK)):
        raise ImproperlyConfigured(
            f"{name} {path!r} is not a directory this process can write to; create it "
            "(gunicorn.conf.py does at start) or unset it."
        )
    return path


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def env_log_level(name: str) -> str:
    """A logging level's name, upper-cased; INFO when unset."""
    level = env.str(name, default="INFO").strip().upper()
    if level not in LOG_LEVELS:
        raise ImproperlyConfigured(
            f"{name} must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {level!r}."
        )
    return level


def env_staff_two_factor(name: str, *, debug: bool) -> bool:
    """Staff two-factor sign-in: on unless turned off, which only DEBUG (a local demo) allows."""
    on = env_bool(name, True)
    if not on and not debug:
        raise ImproperlyConfigured(
            f"{name} may be off only with DEBUG on (a local demo); "
            "unset it or set it to 1 in production."
        )
    return on
