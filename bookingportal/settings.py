"""Settings for the booking portal, read from the environment (and an optional `.env`).

Assignments only: every variable is parsed and checked in bookingportal/env.py, and its
default and meaning are in docs/configuration.md. Defaults make a fresh checkout run on
SQLite; secrets have no production default. A bad value stops start-up with
`ImproperlyConfigured` and one sentence saying what to change.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from bookingportal import wiring
from bookingportal.env import (
    default_booking_hosts,
    env_bool,
    env_dotted_class,
    env_email,
    env_hosts,
    env_int,
    env_list,
    env_log_format,
    env_log_level,
    env_metrics_token,
    env_multiproc_dir,
    env_origins,
    env_secret_key,
    env_staff_two_factor,
    env_webhook_tokens,
    gunicorn_threads,
    parse_booking_hosts,
    parse_cache_url,
    parse_database_url,
    parse_flg_domain,
    parse_portal_url,
    parse_trusted_proxies,
    parse_webhook_url,
    read_key_file,
)
from bookingportal.logging_config import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
ENV_FILE = Path(os.environ.get("ENV_FILE", BASE_DIR / ".env"))
if ENV_FILE.is_file():
    # Values already in the environment win over the file.
    env.read_env(ENV_FILE, overwrite=False)


# --- Core ---------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_secret_key("SECRET_KEY", debug=DEBUG)

ALLOWED_HOSTS = env_hosts("ALLOWED_HOSTS", ["localhost", "127.0.0.1"])

INSTALLED_APPS = [*wiring.INSTALLED_APPS]

MIDDLEWARE = [*wiring.MIDDLEWARE]

ROOT_URLCONF = "bookingportal.urls"
WSGI_APPLICATION = "bookingportal.wsgi.application"

TEMPLATES = wiring.templates(BASE_DIR / "templates")

# --- Database and cache -------------------------------------------------------------------

_cache_url = os.environ.get("CACHE_URL", "") or "locmemcache://portal"
CACHES = {"default": wiring.cache_entry(parse_cache_url("CACHE_URL", _cache_url))}
_database_url = os.environ.get("DATABASE_URL", "") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
_database, _threads = parse_database_url("DATABASE_URL", _database_url), gunicorn_threads()
_shared = wiring.cache_is_shared(CACHES["default"])
DATABASES = {"default": wiring.database_entry(_database, threads=_threads, shared_cache=_shared)}
# The business's settings (django-solo's singleton) are read from this cache on every page and
# rewritten in it when staff save them: shared (Redis), every worker shows a change on its next
# page; in local memory, each process may show the old for up to a minute.
SOLO_CACHE = "default"
SOLO_CACHE_TIMEOUT = wiring.solo_cache_timeout(CACHES["default"])
SOLO_CACHE_PREFIX = "portal-settings"
# Sessions live in the database alone, whatever the cache. Cached in Redis, a session signed
# out while Redis was stalled kept its cached copy (the delete never reached Redis), and other
# workers served it as signed in once Redis was back: signing out must be final. The cost is
# one primary-key read a request (docs/security.md), built once per process (sessions.py).
SESSION_ENGINE = "bookingportal.sessions"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -----------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.EmailBackend",
]
# Loaded with the signed-in user in one query: every customer page reads the customer next.
ACCOUNTS_USER_RELATED = ("customer__lead_group",)
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

# With the sandbox on and no backend chosen, emails land in its demo mailbox (/sandbox/mailbox/);
# an EMAIL_BACKEND that is set is always honoured.
_EMAIL_BACKEND_SET = bool(os.environ.get("EMAIL_BACKEND", "").strip())
EMAIL_BACKEND = env_dotted_class("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_email("DEFAULT_FROM_EMAIL", "bookings@example.com")
# For the SMTP backend; Django's defaults otherwise, except a timeout, so that a mail server
# that does not answer cannot hold a worker.
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
# For the file backend (django.core.mail.backends.filebased.EmailBackend): one file per email.
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "sent-emails"))

# --- Background work (django-tasks on the portal's own database; outbox/) -------------------

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}
# A failed send is tried again after 1, 2, 4 … minutes (doubling, at most OUTBOX_RETRY_MAX_DELAY
# apart) until OUTBOX_RETRY_FOR has passed since the email was queued; then it is failed.
OUTBOX_RETRY_FIRST_DELAY = env_int("OUTBOX_RETRY_FIRST_DELAY", 60, minimum=1)
OUTBOX_RETRY_MAX_DELAY = env_int("OUTBOX_RETRY_MAX_DELAY", 16 * 60, minimum=1)
OUTBOX_RETRY_FOR = env_int("OUTBOX_RETRY_FOR", 60 * 60, minimum=0)
# Sent and failed email records are kept this long (staff see them in the admin), then pruned.
OUTBOX_RECORD_DAYS = env_int("OUTBOX_RECORD_DAYS", 30, minimum=1)
# Finished task rows (the queue's own) are kept this long, then pruned.
OUTBOX_TASK_DAYS = env_int("OUTBOX_TASK_DAYS", 7, minimum=1)
# How often each recurring job runs (seconds; one run per period across every worker).
OUTBOX_SCHEDULE_PERIOD = env_int("OUTBOX_SCHEDULE_PERIOD", 24 * 60 * 60, minimum=60)
# The file `run_worker` touches every few seconds and `worker_health` reads (the liveness probe).
WORKER_HEARTBEAT_FILE = env.str(
    "WORKER_HEARTBEAT_FILE",
    default="/tmp/bookingportal-worker.heartbeat",  # noqa: S108
).strip()
# Public forms: after an email to an address, none for this many seconds, doubling with each
# email of the hour up to a sign-in link's lifetime (accounts.limits).
EMAIL_ADDRESS_SPACING = env_int("EMAIL_ADDRESS_SPACING", 60, minimum=0)

# --- Links that sign in (django-sesame) -------------------------------------------------------

# How long an emailed sign-in link works; it works once, and a newer one spends it.
SIGN_IN_LINK_MINUTES = env_int("SIGN_IN_LINK_MINUTES", 15, minimum=1)
# How long a personal booking link works (reusable until then, revocable per customer).
BOOKING_LINK_DAYS = env_int("BOOKING_LINK_DAYS", 14, minimum=1, maximum=365)
# Every link carries its own expiry (accounts.links); sesame's age is only the outer bound, and
# setting one makes sesame put the creation time in the token. Changing the password or the
# email spends every link of that account.
SESAME_MAX_AGE = dt.timedelta(days=366)
SESAME_INVALIDATE_ON_PASSWORD_CHANGE = True
SESAME_INVALIDATE_ON_EMAIL_CHANGE = True
SESAME_ONE_TIME = False

# --- Language, time, static files ---------------------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "bookingportal.static.RememberedManifestStorage"
        )
    },
}

# --- The portal ---------------------------------------------------------------------------

PORTAL_NAME = env.str("PORTAL_NAME", default="Appointment booking")
PORTAL_SUPPORT_EMAIL = env_email("PORTAL_SUPPORT_EMAIL", "support@example.com")
PORTAL_SUPPORT_PHONE = env.str("PORTAL_SUPPORT_PHONE", default="")
# The port `make run` serves on locally; the local defaults below follow it.
PORT = env_int("PORT", 8000, minimum=1)
# Where customers reach the portal: the links in every email start with it.
PORTAL_URL = parse_portal_url(
    "PORTAL_URL", env.str("PORTAL_URL", default=f"http://127.0.0.1:{PORT}")
)

# --- FLG 360 ------------------------------------------------------------------------------

FLG_SANDBOX = env_bool("FLG_SANDBOX", False)
if FLG_SANDBOX:
    # The stand-in for FLG: its tables exist only where it runs, never in production.
    INSTALLED_APPS.append("flg_sandbox")
    if not _EMAIL_BACKEND_SET:
        # The sandbox plays the customers' inboxes as it plays FLG: /sandbox/mailbox/.
        EMAIL_BACKEND = "flg_sandbox.mailbox.EmailBackend"
FLG_SANDBOX_SESSION_TTL = env_int("FLG_SANDBOX_SESSION_TTL", 1800, minimum=1)
# With DEBUG off the sandbox is mounted only where this says the host is a demo (or test) host
# on purpose; otherwise it stays unmounted and the system check flg.E002 stops start-up.
FLG_SANDBOX_DEMO_HOST = env_bool("FLG_SANDBOX_DEMO_HOST", False)
# Demo mode (`make run`): the sandbox creates a lead it does not know on first use, so every
# customer added by hand, by import or by invitation can book. Off, it answers as FLG does.
FLG_SANDBOX_AUTO_LEADS = env_bool("FLG_SANDBOX_AUTO_LEADS", False)

_flg_domain = env.str("FLG_DOMAIN", default="").strip()
if not _flg_domain and FLG_SANDBOX:
    _flg_domain = f"http://127.0.0.1:{PORT}/sandbox"
FLG_BASE_URL = parse_flg_domain(_flg_domain) if _flg_domain else ""

# The file wins over the variable: it keeps the key out of the environment.
_flg_key_file = env.str("FLG_API_KEY_FILE", default="").strip()
FLG_API_KEY = (
    read_key_file("FLG_API_KEY_FILE", _flg_key_file)
    if _flg_key_file
    else env.str("FLG_API_KEY", default="sandbox-appointments-key" if FLG_SANDBOX else "").strip()
)
# A sandbox (this one, or one on another address) serves its booking screens from the address
# its API is called at; FLG from platform.getflg.com.
FLG_BOOKING_HOSTS = parse_booking_hosts(
    "FLG_BOOKING_HOSTS",
    os.environ.get("FLG_BOOKING_HOSTS", "").strip() or default_booking_hosts(FLG_BASE_URL),
)
FLG_TIMEOUT = env_int("FLG_TIMEOUT", 10, minimum=1)
# Calls to FLG one process may have waiting at once; a start finding them all taken waits its
# turn briefly (flg.transport.SLOT_WAIT). Eight below the thread count (gunicorn.conf.py's
# GUNICORN_THREADS): up to four of those wait for a place, the rest always serve the pages that
# do not need FLG, however long FLG takes.
FLG_MAX_CONCURRENT_CALLS = env_int("FLG_MAX_CONCURRENT_CALLS", max(1, _threads - 8), minimum=1)
BOOKING_REFRESH_MARGIN = env_int("BOOKING_REFRESH_MARGIN", 60, minimum=0)
# Automatic refreshes a booking page makes with no sign of the customer before it closes the
# booking screen and waits for them: a forgotten tab cannot create FLG sessions forever.
BOOKING_IDLE_REFRESHES = env_int("BOOKING_IDLE_REFRESHES", 2, minimum=0)
# New booking sessions one customer may create in any minute (an abuse guard, shared by workers
# through the cache).
BOOKING_SESSIONS_PER_MINUTE = env_int("BOOKING_SESSIONS_PER_MINUTE", 10, minimum=1)

# --- Leads from FLG 360 (the lead webhook) ----------------------------------------------

# The secret part of POST /flg/webhooks/leads/<token>/; none means the endpoint does not exist.
# The first token is the one to give FLG; a second is still accepted while FLG changes over.
FLG_WEBHOOK_TOKENS = env_webhook_tokens("FLG_WEBHOOK_TOKEN")
# Lead statuses (FLG's names, any letter case) in which a customer keeps the account but may not
# book online.
FLG_WEBHOOK_NO_BOOKING_STATUSES = env_list("FLG_WEBHOOK_NO_BOOKING_STATUSES")
FLG_WEBHOOK_INVITE_NEW = env_bool("FLG_WEBHOOK_INVITE_NEW", False)
FLG_WEBHOOK_LOG_DAYS = env_int("FLG_WEBHOOK_LOG_DAYS", 30, minimum=1)

# Where the sandbox posts its leads, as FLG would: by default the portal it runs beside (set
# below, once it is known whether plain http is redirected).
FLG_SANDBOX_WEBHOOK_URL = parse_webhook_url(
    "FLG_SANDBOX_WEBHOOK_URL", env.str("FLG_SANDBOX_WEBHOOK_URL", default="")
)

# --- Privacy: how long personal records are kept (privacy.retention; docs/privacy.md) --------

# Booking sessions, counted from when they closed; then deleted.
RETENTION_SESSION_DAYS = env_int("RETENTION_SESSION_DAYS", 365, minimum=1)
# Records of FLG failing a customer; then deleted.
RETENTION_FAILURE_DAYS = env_int("RETENTION_FAILURE_DAYS", 90, minimum=1)
# Sign-in attempts and the sign-in log (django-axes); then deleted. At least a lockout's length.
RETENTION_ACCESS_DAYS = env_int("RETENTION_ACCESS_DAYS", 30, minimum=1)
# The audit trail of staff actions; then deleted.
RETENTION_AUDIT_DAYS = env_int("RETENTION_AUDIT_DAYS", 730, minimum=1)
# A customer with no sign-in and no booking session for this long is anonymised (kept as an
# anonymous row for the counts, the name, email and account gone).
RETENTION_CUSTOMER_DAYS = env_int("RETENTION_CUSTOMER_DAYS", 3 * 365, minimum=30)
# Lead deliveries (FLG_WEBHOOK_LOG_DAYS) and email records (OUTBOX_RECORD_DAYS) are above.

# django-auditlog: the trail of changes to customers, types and settings (privacy.audit).
# Our middleware sets who and from where (the address bookingportal.proxy believes).
AUDITLOG_DISABLE_REMOTE_ADDR = False
AUDITLOG_STORE_JSON_CHANGES = True

# --- Proxy, HTTPS, cookies and headers --------------------------------------------------

# Only our own proxies may say who the client is (X-Forwarded-For) and that it used https
# (X-Forwarded-Proto): bookingportal.proxy drops those headers from every other peer.
TRUSTED_PROXIES = parse_trusted_proxies(env.str("TRUSTED_PROXIES", default=""))
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    raise ImproperlyConfigured(
        "TRUST_X_FORWARDED_PROTO is replaced by TRUSTED_PROXIES: set it to your proxy's "
        "addresses (e.g. 10.0.0.5 or 172.16.0.0/12) and remove TRUST_X_FORWARDED_PROTO."
    )
if TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Production (DEBUG off) is https only; each switch can be turned off, e.g. to try the
# production settings over plain http on loopback.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Probes and Prometheus ask over plain http, by the pod's address, from inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
if FLG_SANDBOX and FLG_BASE_URL.startswith("http://"):
    # The sandbox at its default plain-http loopback address: the portal calls its API there,
    # and FLG's client never follows a redirect, so a redirect to https would fail every start.
    SECURE_REDIRECT_EXEMPT.append(r"^sandbox/")
if not FLG_SANDBOX_WEBHOOK_URL and FLG_SANDBOX and FLG_WEBHOOK_TOKENS:
    # Where the portal really answers: on loopback over plain http while that is served (make
    # run), else at PORTAL_URL, its public https address, as FLG itself posts; plain http
    # would only be redirected, and a webhook is never followed through a redirect.
    _receiver = PORTAL_URL if SECURE_SSL_REDIRECT else f"http://127.0.0.1:{PORT}"
    FLG_SANDBOX_WEBHOOK_URL = f"{_receiver}/flg/webhooks/leads/{FLG_WEBHOOK_TOKENS[0]}/"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Off unless asked for: with the "preload" token anyone may submit the domain to the browsers'
# preload list, which binds every subdomain to https for years and is slow to undo. So the
# deploy check's reminder to preload (W021) is silenced while it is off by choice.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = env_origins("CSRF_TRUSTED_ORIGINS")

X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "bookingportal.views.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
PERMISSIONS_POLICY = wiring.PERMISSIONS_POLICY

CONTENT_SECURITY_POLICY = wiring.CONTENT_SECURITY_POLICY

# --- Metrics (Prometheus) ------------------------------------------------------------------

# /metrics answers only a scraper that sends `Authorization: Bearer <METRICS_TOKEN>`; unset, the
# page does not exist (404).
METRICS_TOKEN = env_metrics_token("METRICS_TOKEN")
# prometheus-client's multiprocess mode (gunicorn's workers each write their figures there, and
# /metrics adds them up). Set by the image and the Kubernetes Deployment, emptied by
# gunicorn.conf.py at start; unset (or empty), each process counts alone (development, tests).
PROMETHEUS_MULTIPROC_DIR = env_multiproc_dir("PROMETHEUS_MULTIPROC_DIR")

# --- Sign-in throttling (django-axes) -----------------------------------------------------

# Lock out an email-and-address pair after this many failures within the cool-off.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
# And, counted beside it (accounts.lockout): one address across every email, against a
# password sprayed over many accounts; one email across every address, against many addresses
# guessing at one account (higher: anyone may trigger it; docs/security.md says why).
AXES_ADDRESS_FAILURE_LIMIT = env_int("AXES_ADDRESS_FAILURE_LIMIT", 20, minimum=1)
AXES_ACCOUNT_FAILURE_LIMIT = env_int("AXES_ACCOUNT_FAILURE_LIMIT", 20, minimum=1)
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_COOLOFF_MINUTES = env_int("AXES_COOLOFF_MINUTES", 15, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# An attempt during a lockout does not start the cool-off again: a customer trying once more
# is not punished, and the lockout page's "try again after" stays true (accounts.services).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout"
AXES_USERNAME_CALLABLE = "accounts.backends.axes_username"
# The address lockouts count: REMOTE_ADDR, or behind our proxies (TRUSTED_PROXIES) the
# address it appended to X-Forwarded-For. Our own ten lines rather than django-ipware, whose
# guesses from many headers a client could steer.
AXES_CLIENT_IP_CALLABLE = "bookingportal.proxy.client_ip"
AXES_ENABLED = env_bool("AXES_ENABLED", True)

# --- Staff two-factor sign-in (django-otp) ------------------------------------------------

# The admin asks every staff member for a code from an authenticator app (TOTP) after the
# password, and has them enrol on first sign-in (accounts.two_factor). Only a local demo with
# DEBUG on may go without: `make run` turns it off and says so.
STAFF_TWO_FACTOR = env_staff_two_factor("STAFF_TWO_FACTOR", debug=DEBUG)
# The name authenticator apps show beside the account.
OTP_TOTP_ISSUER = PORTAL_NAME
# Per device, each wrong code doubles the wait before the next one is checked at all (1, 2, 4,
# 8 ... seconds; a right code within the wait is refused too); a right code resets it.
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- Logging ------------------------------------------------------------------------------

LOG_LEVEL = env_log_level("LOG_LEVEL")
LOG_FORMAT = env_log_format("LOG_FORMAT", debug=DEBUG)
LOGGING_CONFIG = "bookingportal.logging.configure"
LOGGING = logging_config(level=LOG_LEVEL, log_format=LOG_FORMAT)
