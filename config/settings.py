"""Parley settings: everything an operator may change is read from the environment here.

With nothing set, Parley runs as a development server on SQLite and the in-memory channel
layer. Production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and REDIS_URL.
"""

import os
import tempfile
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int, env_json_object, env_list

BASE_DIR = Path(__file__).resolve().parent.parent

DEV_SECRET_KEY = "parley-development-key-not-for-production"  # noqa: S105


DEBUG = env_bool("DEBUG", default=True)
SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
if not DEBUG and (SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY.strip()) < 32):
    raise ImproperlyConfigured(
        "DEBUG is off but SECRET_KEY is the development key, empty or shorter than 32 "
        "characters. "
        "Set SECRET_KEY to a long random value (python -c 'import secrets; "
        "print(secrets.token_urlsafe(50))')."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DEBUG is off: set ALLOWED_HOSTS to the host names Parley serves.")
if not DEBUG and "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS='*' is refused with DEBUG off: name the hosts.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "chat",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise, so static files keep their long-lived caching: Content-Security-Policy,
    # Permissions-Policy and Cache-Control on every other answer.
    "ops.security_headers.SecurityHeaders",
    # Logs once at start when the collected static files do not match this code; then gone.
    "ops.static_manifest.CheckAtStart",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ops.outage_page.OutagePage",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

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
                "accounts.context_processors.sign_up",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Database work runs on worker threads, and Channels closes the thread's connection before
    # and after each call: without a pool every call opened a new PostgreSQL connection (a
    # backend fork, authentication, ~4 ms of CPU), several per post and per socket connect.
    # The pool keeps them open per process and "closing" returns one to it. Size: the threads
    # that can hold one at once, that is asyncio's default executor (in_thread, readiness;
    # cores + 4 threads), Channels' and Django's thread-sensitive threads (token and session
    # auth, sync views), with room for a few requests at once. The wait is short so that an
    # unreachable database fails a call (and /readyz, within its 2 s) with OperationalError
    # rather than queueing (docs/reliability.md);
    # each connection is checked as it is handed out (CONN_HEALTH_CHECKS: one empty round
    # trip), so one that PostgreSQL or the network dropped while it sat in the pool is
    # replaced, not used.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("PARLEY_DB_POOL_MIN", 2),
        "max_size": env_int("PARLEY_DB_POOL_MAX", 10),
        "timeout": env_float("PARLEY_DB_POOL_TIMEOUT", 1.5),
        # A failed connect is retried with a doubling delay until this many seconds have
        # passed; then the next call tries afresh. psycopg_pool's default (5 minutes) let the
        # delay reach 16 s and more during a long outage, and Parley stayed down that long
        # after PostgreSQL was back.
        "reconnect_timeout": 3,
    }
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, so concurrent writers queue
    # on the busy timeout instead of failing with "database is locked" mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not the in-memory default: shared-cache memory databases lock whole tables, so
    # tests with several threads or processes would not see SQLite as Parley really uses it.
    # One file per test run, so that runs side by side do not share it.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"parley-test-{os.getpid()}.sqlite3")
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    # Pub/sub fans an event out once per process rather than once per socket: 7.6x the
    # deliveries of RedisChannelLayer at 1,000 sockets (bench/layer_fanout.py, README).
    # It keeps nothing for absent listeners; Parley's per-socket catch-up covers that.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": os.environ.get("REDIS_PREFIX", "parley")},
        }
    }
else:
    # This layer forgets a group membership PARLEY_GROUP_EXPIRY seconds after it was added
    # (Channels' default, a day); sockets renew theirs with every heartbeat. The pub/sub layer
    # above has no expiry: a subscription lasts as long as the socket.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {
                "capacity": 1000,
                "group_expiry": env_int("PARLEY_GROUP_EXPIRY", 86400),
            },
        }
    }

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# Uploaded files: MEDIA_ROOT, or any Django storage backend (README, "Files": S3 through
# django-storages). Never served as stored: chat/downloads.py checks the room's access rule,
# then streams the file or redirects to the storage's own (signed, expiring) URL.
MEDIA_ROOT = Path(os.environ.get("PARLEY_MEDIA_ROOT", BASE_DIR / "media"))
STORAGES: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": os.environ.get("PARLEY_STORAGE_BACKEND")
        or "django.core.files.storage.FileSystemStorage",
        "OPTIONS": env_json_object("PARLEY_STORAGE_OPTIONS"),
    },
    "staticfiles": {
        "BACKEND": "ops.static_manifest.ModuleAwareStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# In development WhiteNoise serves straight from the apps' static folders: no collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HTTPS in production. Behind the proxy, uvicorn's --proxy-headers (trusted only from
# FORWARDED_ALLOW_IPS) tells Django the request came in over https.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers probe processes directly over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading asks browsers to hard-code HTTPS for the whole domain, a commitment only the
# operator can make (set SECURE_HSTS_PRELOAD=1); the deploy check would otherwise insist.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Security headers. ops/security_headers.py sends Content-Security-Policy (no inline script or
# style), Permissions-Policy and `Cache-Control: private, no-store` on everything but static
# files. SecurityMiddleware and XFrameOptionsMiddleware send these: Django's defaults, spelled
# out so that a change of default cannot drop one unnoticed (tests/ops/test_security_headers.py).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"  # other sites never learn room ids from a link
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # for browsers without CSP's frame-ancestors

# Bearer token a Prometheus scraper sends to /metrics; metrics are off while it is unset.
PARLEY_METRICS_TOKEN = os.environ.get("PARLEY_METRICS_TOKEN", "")

LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'text' or 'json', not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "ops.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # uvicorn's own logger: a client's malformed frame is a warning, not a server error.
    # django.request: a 503 from /readyz is an answer, not an error (ops/health.py logs why).
    "filters": {
        "client_faults": {"()": "ops.logs.ClientFaultsAreWarnings"},
        "not_ready_is_not_an_error": {"()": "ops.log_filters.NotReadyIsNotAnError"},
    },
    "loggers": {
        "uvicorn.error": {"filters": ["client_faults"]},
        "django.request": {"filters": ["not_ready_is_not_an_error"]},
    },
}

PARLEY_MESSAGE_MAX_LENGTH = env_int("PARLEY_MESSAGE_MAX_LENGTH", 4000)
# The largest profile picture accepted (accounts.avatars), before it is made 256 px square.
PARLEY_AVATAR_MAX_BYTES = env_int("PARLEY_AVATAR_MAX_BYTES", 5 * 1024 * 1024)
PARLEY_HISTORY_PAGE_SIZE = env_int("PARLEY_HISTORY_PAGE_SIZE", 50)
PARLEY_HISTORY_MAX_PAGE_SIZE = env_int("PARLEY_HISTORY_MAX_PAGE_SIZE", 200)
PARLEY_WRITE_RATE = env_float("PARLEY_WRITE_RATE", 10)  # per user, per second
PARLEY_WRITE_BURST = env_int("PARLEY_WRITE_BURST", 20)
PARLEY_ROOM_MENTION_RATE = env_float("PARLEY_ROOM_MENTION_RATE", 1 / 600)  # @room, per user, /s
PARLEY_ROOM_MENTION_BURST = env_int("PARLEY_ROOM_MENTION_BURST", 3)
PARLEY_SEARCH_RATE = env_float("PARLEY_SEARCH_RATE", 2)  # per user, per second
PARLEY_SEARCH_BURST = env_int("PARLEY_SEARCH_BURST", 20)
# Every API request, per user (token or session alike) or, anonymous, per client address (an
# IPv6 /64); its own budget beside the write and search limits. A client opening a page asks for
# rooms, members and history in a burst, which 100 covers; 10 a second on average is far above a
# person's pace and lets a bot sync steadily, while a runaway loop is held to it.
PARLEY_API_RATE = env_float("PARLEY_API_RATE", 10)
PARLEY_API_BURST = env_int("PARLEY_API_BURST", 100)
PARLEY_RATELIMIT_PREFIX = "parley:rl"
# The socket protocol (docs/protocol.md).
PARLEY_FRAME_MAX_BYTES = env_int("PARLEY_FRAME_MAX_BYTES", 64 * 1024)
PARLEY_SOCKET_FRAME_RATE = env_float("PARLEY_SOCKET_FRAME_RATE", 50)
PARLEY_SOCKET_FRAME_BURST = env_int("PARLEY_SOCKET_FRAME_BURST", 100)
# Open sockets per user, across processes (4009), and handshakes per client address per minute
# (4029; 0: no limit). The web UI's backoff makes at most 16 a minute: five tabs stay inside 60.
PARLEY_SOCKETS_PER_USER = env_int("PARLEY_SOCKETS_PER_USER", 20)
PARLEY_HANDSHAKES_PER_MINUTE = env_int("PARLEY_HANDSHAKES_PER_MINUTE", 60)
PARLEY_REPLAY_MAX = env_int("PARLEY_REPLAY_MAX", 1000)
# Seconds a socket may take to accept a frame, and live events may wait for it, before it is
# closed with 4008 (docs/reliability.md: a client that stops reading).
PARLEY_SOCKET_SEND_TIMEOUT = env_float("PARLEY_SOCKET_SEND_TIMEOUT", 10)
# Seconds after `hello` during which live entries wait for the client's first frame (its resume).
PARLEY_RESUME_GRACE = env_float("PARLEY_RESUME_GRACE", 1)
# Presence and typing (docs/protocol.md).
PARLEY_PRESENCE_TTL = env_float("PARLEY_PRESENCE_TTL", 30)  # seconds without a heartbeat
PARLEY_PRESENCE_PREFIX = "parley:presence"
# Presence changes wait this long and go out together, a frame per room (presence_notices.py).
PARLEY_PRESENCE_BATCH = env_float("PARLEY_PRESENCE_BATCH", 0.5)
PARLEY_TYPING_INTERVAL = env_float("PARLEY_TYPING_INTERVAL", 3)  # at most one per socket and room
PARLEY_TYPING_EXPIRY = env_float("PARLEY_TYPING_EXPIRY", 6)

# Log-ins, sign-ups and password checks (accounts/throttle.py), counted through Redis like the
# write limit. Each limit is a burst allowed at once, then that many per minute; a burst of 0
# turns it off. Every guess of a password counts (a right one is given back), per account and
# per client address (an IPv6 /64), and is refused before the password is hashed.
PARLEY_LOGIN_ACCOUNT_BURST = env_int("PARLEY_LOGIN_ACCOUNT_BURST", 10)
PARLEY_LOGIN_ACCOUNT_PER_MINUTE = env_float("PARLEY_LOGIN_ACCOUNT_PER_MINUTE", 1)
PARLEY_LOGIN_ADDRESS_BURST = env_int("PARLEY_LOGIN_ADDRESS_BURST", 30)
PARLEY_LOGIN_ADDRESS_PER_MINUTE = env_float("PARLEY_LOGIN_ADDRESS_PER_MINUTE", 10)
PARLEY_SIGNUP_ADDRESS_BURST = env_int("PARLEY_SIGNUP_ADDRESS_BURST", 10)
PARLEY_SIGNUP_ADDRESS_PER_MINUTE = env_float("PARLEY_SIGNUP_ADDRESS_PER_MINUTE", 0.5)
# Off: the sign-up page says accounts are made by an administrator, and the log-in page does
# not link to it.
PARLEY_SIGNUP_OPEN = env_bool("PARLEY_SIGNUP_OPEN", default=True)

# The REST API (README, docs/openapi.yaml).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON with the socket's depth rule (core/json_limits.py): never a RecursionError.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.LimitedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.handle_exception",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Parley API",
    "DESCRIPTION": "Rooms, conversations and messages. Live events: docs/protocol.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The enum hook is drf-spectacular's default; ours adds the rate-limit headers and the 429.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_rate_limit_answers",
    ],
    "ENUM_NAME_OVERRIDES": {
        "MessageKindEnum": ["text", "joined", "left", "renamed", "archived", "unarchived"],
        "RoomKindEnum": ["group", "direct"],
    },
}
# Request bodies (API and forms) above this are refused; messages are far smaller.
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
# Uploads (api/parsers.py, chat/services/attachments.py). A body whose Content-Length says it is
# over the limit is refused unread, one without (chunked) when its bytes pass it; a file is kept
# in memory up to FILE_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MiB), then in a temporary file.
PARLEY_UPLOAD_MAX_BYTES = env_int("PARLEY_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
PARLEY_UPLOAD_DAILY_BYTES = env_int("PARLEY_UPLOAD_DAILY_BYTES", 200 * 1024 * 1024)  # per user
PARLEY_ATTACHMENTS_PER_MESSAGE = env_int("PARLEY_ATTACHMENTS_PER_MESSAGE", 10)
# Pixels (all frames together) an image may have: a small file of huge dimensions is refused
# before it is decoded.
PARLEY_IMAGE_MAX_PIXELS = env_int("PARLEY_IMAGE_MAX_PIXELS", 40_000_000)
PARLEY_THUMBNAIL_SIZE = env_int("PARLEY_THUMBNAIL_SIZE", 480)
# Types as Parley reads them from the bytes (the client's Content-Type is not believed); images
# are shown inline, the rest only downloaded. HTML and SVG are refused whatever this says.
_OFFICE = "application/vnd.openxmlformats-officedocument."
# fmt: off
PARLEY_UPLOAD_TYPES = env_list("PARLEY_UPLOAD_TYPES", [
    "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain",
    "application/zip", "application/msword", "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint", f"{_OFFICE}wordprocessingml.document",
    f"{_OFFICE}spreadsheetml.sheet", f"{_OFFICE}presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
])
# fmt: on
FILE_UPLOAD_TEMP_DIR = os.environ.get("PARLEY_UPLOAD_TEMP_DIR") or None
