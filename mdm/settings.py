"""The one settings module of golden-record, driven by environment variables.

DATABASE_URL     default: SQLite file var/golden-record.sqlite3 (created on first run)
SECRET_KEY       required unless DEBUG=true (also SECRET_KEY_FILE)
DEBUG            true/false, default false
ALLOWED_HOSTS    comma-separated, default 127.0.0.1,localhost
TIME_ZONE        default Asia/Shanghai
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from mdm.env import env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("GOLDEN_RECORD_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY (or SECRET_KEY_FILE) in production, "
            "or DEBUG=true for a development server."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "mdm",
    "connectors",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything that may touch the database or the cache.
    "mdm.operations.load_shedding.LoadSheddingMiddleware",
    "mdm.operations.outage.DatabaseOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mdm.audit_context.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

# History rows keep the whole reason a steward typed (up to 500 characters),
# not the default 100.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

ROOT_URLCONF = "mdm.urls"
WSGI_APPLICATION = "mdm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database_config() -> dict:
    url = env_str("DATABASE_URL")
    if url is None:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{VAR_DIR / 'golden-record.sqlite3'}"
    config = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the web server read while a background job writes.
        config.setdefault("OPTIONS", {})["init_command"] = (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        )
        config["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
        config["CONN_MAX_AGE"] = 0
        # Tests get a file too, not Django's shared-cache in-memory database:
        # there a second connection (a thread standing for another steward,
        # C1) fails at once with "table is locked" instead of waiting for
        # the writer, as it does on a file.
        config["TEST"] = {"NAME": str(VAR_DIR / "test-golden-record.sqlite3")}
        # Django's SQLite backend plus the hook that lets a flush pass the
        # no-delete triggers (mdm/sqlite/base.py).
        config["ENGINE"] = "mdm.sqlite"
    else:
        # A persistent connection broken by a database restart is replaced
        # at the next request instead of failing it.
        config["CONN_HEALTH_CHECKS"] = True
        # Server-side parameter binding: psycopg then prepares a statement
        # run five times on a connection, and PostgreSQL stops planning it
        # again (most of its CPU for a one-row lookup).
        if env_bool("DB_SERVER_SIDE_BINDING", True):
            config.setdefault("OPTIONS", {}).update(
                server_side_binding=True, prepare_threshold=5
            )
    return config


DATABASES = {"default": _database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords
# an account, or a client address, is locked for LOGIN_LOCKOUT_MINUTES; the
# address is REMOTE_ADDR (a spoofed X-Forwarded-For changes nothing). An
# admin unlocks with `manage.py axes_reset_username NAME`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
# Each alone: an account after N failures from anywhere, an address after N
# failures on any accounts.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Sessions end after SESSION_IDLE_MINUTES without a request, and with the
# browser.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "mdm" / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
IMPORT_MAX_UPLOAD_BYTES = env_int("IMPORT_MAX_UPLOAD_MB", 200) * 2**20
# Caps on what an upload may expand to (RELIABILITY B1/B3); raise them to take
# sheets above ~120,000 rows x 30 columns (README, Configuration).
IMPORT_MAX_UNCOMPRESSED_BYTES = env_int("IMPORT_MAX_UNCOMPRESSED_MB", 200) * 2**20
IMPORT_MAX_COMPRESSION_RATIO = env_int("IMPORT_MAX_COMPRESSION_RATIO", 100)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 1_048_576)
IMPORT_MAX_COLUMNS = env_int("IMPORT_MAX_COLUMNS", 256)
# Cells an .xls/.ods sheet may span: it is loaded whole (~100 bytes a cell).
IMPORT_MAX_LOADED_CELLS = env_int("IMPORT_MAX_LOADED_CELLS", 10_000_000)
# An .xlsx up to this many cells is loaded whole by the fast reader; a bigger
# one is streamed (flat memory, ~20x slower to read).
IMPORT_FAST_XLSX_MAX_CELLS = env_int("IMPORT_FAST_XLSX_MAX_CELLS", 3_000_000)
# Processes that map and standardise a big import's rows (most of its CPU)
# while the importer reads the file and writes the rows before; 0: the
# importer does it all itself. One per core left over, at most 4: on two
# cores, one worker beside the importer. Not one per core: the importer
# then shares a core with a worker, and at 1M rows its CPU time nearly
# doubled (407 s against 232 s wall; docs/benchmarks.md, Bulk import).
_CORES = os.cpu_count() or 1
IMPORT_WORKERS = env_int("IMPORT_WORKERS", max(0, min(_CORES - 1, 4)))
# An import that leaves more records without a golden record than this
# percentage of all active records is matched by a batch run (a new model,
# every record scored); fewer are matched one by one against the real-time
# index (mdm/services/import_matching.py).
IMPORT_MATCH_BATCH_PERCENT = env_int("IMPORT_MATCH_BATCH_PERCENT", 5)
# Uploads a steward may start, counted like the API's rate limits (W6).
IMPORT_RATE = env_str("IMPORT_RATE", "6/min")
MEDIA_URL = "media/"  # never served: uploads are read by the importer only

LOGIN_URL = "login"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Probes and scrapers on the private network speak plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# Background work (imports, batch matching) runs in `manage.py db_worker`
# processes: jobs are rows claimed from the database (SKIP LOCKED on
# PostgreSQL), so workers can run on many machines with no extra server.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Delivery of golden-record changes to targets (`manage.py deliver_outbox`).
# Targets may reach private or loopback addresses only inside these networks
# (CIDRs, comma-separated); link-local and cloud-metadata addresses never.
CONNECTOR_ALLOWED_NETWORKS = env_list("CONNECTOR_ALLOWED_NETWORKS", [])
# A worker that has not finished a claimed batch within this is presumed
# dead and its deliveries are claimed again.
DELIVERY_LEASE_SECONDS = env_int("DELIVERY_LEASE_SECONDS", 300)

# API writes sent with an Idempotency-Key replay their first response for at
# least this long (`manage.py purge_idempotency_keys` deletes older keys).
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 48)

# A token found is kept this long in each process (0: read on every call).
# Revoking, rotating or disabling in one process applies there at once and
# in the others within this time.
API_TOKEN_CACHE_SECONDS = env_int("API_TOKEN_CACHE_SECONDS", 5)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mdm.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["mdm.api.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "mdm.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "mdm.api.openapi_schema.AutoSchema",
    # Counted per token (per user for sessions, per IP otherwise) in the
    # shared cache below, so a limit holds across processes and machines.
    "DEFAULT_THROTTLE_CLASSES": ["mdm.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "lookup": env_str("API_RATE_LOOKUP", "100/s"),
        "search": env_str("API_RATE_SEARCH", "20/s"),
        "write": env_str("API_RATE_WRITE", "50/s"),
    },
    # How many proxies in front of the app append to X-Forwarded-For. 0: the
    # header is ignored and the client is REMOTE_ADDR, so a spoofed header
    # cannot dodge an IP-keyed limit.
    "NUM_PROXIES": env_int("API_TRUSTED_PROXIES", 0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "golden-record API",
    "DESCRIPTION": (
        "Customer master data: look up golden records by golden ID, source key "
        "or USCC, search, poll changes, and push source records. "
        "See docs/api.md."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "mdm.api.schema.add_error_responses",
    ],
}

# The cache holds API rate-limit counters, so it must be shared by every app
# process: Redis when REDIS_URL is set (production: a counter costs one round trip
# of two small Redis commands), else a table in the database (created by migration 0011;
# `manage.py createcachetable` makes it by hand), which costs a write and a
# commit per API request (docs/operations.md). CACHE_KEY_PREFIX separates
# installations (or test runs) sharing one Redis database.
if env_str("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env_str("REDIS_URL"),
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", ""),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "mdm_cache",
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", ""),
            "OPTIONS": {"MAX_ENTRIES": env_int("CACHE_MAX_ENTRIES", 20000)},
        }
    }
# A 1,000-record batch of ERP payloads fits well within this.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 8 * 1024 * 1024)

# The real-time index kept in this file (mdm/services/realtime_snapshot.py),
# so that a restart reads it in seconds instead of standardising every
# record again (13 minutes at a million records). Empty: off.
REALTIME_INDEX_SNAPSHOT = env_str("REALTIME_INDEX_SNAPSHOT", "")

# Load shedding (docs/operations.md): a request that waited longer than this
# between the proxy's X-Request-Start stamp and the app is answered 503 with
# Retry-After at once, its caller having most likely given up. 0: off, for the
# header means something only when the proxy in front sets it.
REQUEST_QUEUE_TIMEOUT_MS = env_int("REQUEST_QUEUE_TIMEOUT_MS", 0)

# Prometheus scrapes /metrics with this bearer token; unset, only scrapers
# on the same machine may.
METRICS_TOKEN = env_secret("METRICS_TOKEN")

# LOG_FORMAT=json: one JSON object per line (python-json-logger), for a log
# collector; text otherwise.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if env_str("LOG_FORMAT") == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Django logs the path of every 4xx/5xx request, and a lookup by USCC has
    # the number in its path: mask it before any handler sees it (W7).
    "filters": {"mask_pii": {"()": "mdm.log_masking.MaskPersonalData"}},
    "loggers": {
        "django.request": {"filters": ["mask_pii"]},
        "django.server": {"filters": ["mask_pii"]},
    },
}
