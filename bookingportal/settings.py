"""Settings for the booking portal, read from the environment (and an optional `.env`).

Every variable, its default and its meaning is in README.md ("Configuration"). Defaults make
a fresh checkout run on SQLite; secrets have no production default. A bad value stops start-up
with `ImproperlyConfigured` and one sentence saying what to change.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
ENV_FILE = Path(os.environ.get("ENV_FILE", BASE_DIR / ".env"))
if ENV_FILE.is_file():
    # Values already in the environment win over the file.
    env.read_env(ENV_FILE, overwrite=False)


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), not {raw!r}.")


def _int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    if parts.scheme == "http" and not _is_loopback(host):
        raise ImproperlyConfigured(
            f"FLG_DOMAIN {raw!r} uses plain http; only https is allowed except on loopback."
        )
    netloc = host if port is None else f"{host}:{port}"
    if ":" in host:
        netloc = f"[{host}]" if port is None else f"[{host}]:{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


# --- Core ---------------------------------------------------------------------------------

DEBUG = _bool("DEBUG", False)

SECRET_KEY = env.str("SECRET_KEY", default="").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: set it to a long random value "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=1 for local development."
        )
    SECRET_KEY = "django-insecure-local-development-only-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "appointments",
    "flg_sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bookingportal.urls"
WSGI_APPLICATION = "bookingportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "appointments.context_processors.portal",
            ],
        },
    },
]

# --- Database and cache -------------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads (runserver, live_server) write; wait for the lock instead of failing.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options.setdefault("timeout", 20)
    # Write-ahead logging: readers never block the writer (the sandbox shares the file).
    options.setdefault("init_command", "PRAGMA journal_mode=WAL;")

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://portal")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -----------------------------------------------------------------------

AUTHENTICATION_BACKENDS = ["appointments.backends.EmailBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 3

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="bookings@example.com")

# --- Language, time, static files ---------------------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- The portal ---------------------------------------------------------------------------

PORTAL_NAME = env.str("PORTAL_NAME", default="Appointment booking")
PORTAL_SUPPORT_EMAIL = env.str("PORTAL_SUPPORT_EMAIL", default="support@example.com")
PORTAL_SUPPORT_PHONE = env.str("PORTAL_SUPPORT_PHONE", default="")

# --- FLG 360 ------------------------------------------------------------------------------

FLG_SANDBOX = _bool("FLG_SANDBOX", False)
FLG_SANDBOX_SESSION_TTL = _int("FLG_SANDBOX_SESSION_TTL", 1800, minimum=1)

_flg_domain = env.str("FLG_DOMAIN", default="").strip()
if not _flg_domain and FLG_SANDBOX:
    _flg_domain = "http://127.0.0.1:8000/sandbox"
FLG_BASE_URL = parse_flg_domain(_flg_domain) if _flg_domain else ""

_flg_key_file = env.str("FLG_API_KEY_FILE", default="").strip()
if _flg_key_file:
    try:
        FLG_API_KEY = Path(_flg_key_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"FLG_API_KEY_FILE {_flg_key_file!r} cannot be read ({exc.strerror})."
        ) from None
else:
    FLG_API_KEY = env.str("FLG_API_KEY", default="sandbox-appointments-key" if FLG_SANDBOX else "")
FLG_API_KEY = FLG_API_KEY.strip()

_default_booking_hosts = "platform.getflg.com"
if FLG_SANDBOX and not env.str("FLG_DOMAIN", default="").strip():
    _default_booking_hosts = urlsplit(FLG_BASE_URL).netloc
FLG_BOOKING_HOSTS = [
    h.strip().lower()
    for h in env.str("FLG_BOOKING_HOSTS", default=_default_booking_hosts).split(",")
    if h.strip()
]
FLG_TIMEOUT = _int("FLG_TIMEOUT", 10, minimum=1)
BOOKING_REFRESH_MARGIN = _int("BOOKING_REFRESH_MARGIN", 60, minimum=0)

# --- Proxy, HTTPS and cookies -------------------------------------------------------------

TRUST_X_FORWARDED_PROTO = _bool("TRUST_X_FORWARDED_PROTO", False)
if TRUST_X_FORWARDED_PROTO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "appointments.views.csrf_failure"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# --- Logging ------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
