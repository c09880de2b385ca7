"""Portal AGEPAR settings: everything comes from the environment (see .env.example).

Production behaviour is the default; `make run` relaxes it through environment variables.
The tests' settings (agepar/settings_test.py) are these same settings fed a test environment,
plus speed-ups that change no behaviour. Importing this module reads the environment and
nothing else: it creates no folder and writes no file (deploy/run-dev.sh, the Dockerfile and
settings_test.py make the folders they need).
"""

import ipaddress
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from agepar import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.string("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env.boolean("DEBUG", False)


def _secret_key() -> str:
    key = env.raw("SECRET_KEY")
    if key:
        if not DEBUG and (len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure-")):
            raise ImproperlyConfigured(
                "SECRET_KEY is too weak: use at least 50 characters with at least 5 distinct ones "
                "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
            )
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off.")
    # Development only: the checkout's key, which `make run` writes once (deploy/run-dev.sh), so that
    # the web server and the worker agree and sessions survive a restart; else one for this process.
    try:
        return (VAR_DIR / "dev-secret-key").read_text().strip()
    except FileNotFoundError:
        return secrets.token_urlsafe(50)


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.strings("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env.strings("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "agepar.admin_site.AgeparAdminConfig",  # django.contrib.admin with the Portal AGEPAR site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served by us (an intranet has no CDN)
    # Before django_tasks_db: its `db_worker` command extends the upstream one (worker heartbeat).
    "submissions",
    "django_tasks",
    "agepar.apps.TaskQueueConfig",  # django_tasks_db, named in Portuguese
    "agepar",
    "accounts",
    "audits",
    "fileshare",
]

MIDDLEWARE = [
    "agepar.middleware.RequestIdMiddleware",
    "agepar.middleware.LengthRequiredMiddleware",
    "agepar.middleware.ApiUtcMiddleware",
    "agepar.middleware.ContentSecurityPolicyMiddleware",
    "agepar.middleware.NulQueryMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "accounts.middleware.SessionMiddleware",
    "agepar.middleware.PrivateApiMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.middleware.AuthenticationMiddleware",
    "accounts.middleware.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.LockoutPageMiddleware",
]

ROOT_URLCONF = "agepar.urls"
WSGI_APPLICATION = "agepar.wsgi.application"
ASGI_APPLICATION = "agepar.asgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
def _postgres(db: dict, *, pool: bool) -> dict:
    """PostgreSQL connection settings shared by the primary and the replica."""
    options = db.setdefault("OPTIONS", {})
    options.setdefault("connect_timeout", env.integer("DB_CONNECT_TIMEOUT", 5, minimum=1))
    # TCP keepalives on idle pooled connections: they keep a NAT's or firewall's state alive, and
    # turn a server that vanished into a socket error that the pool's checkout check sees
    # (agepar/postgres.py) instead of a failed first query. Ignored on Unix sockets.
    options.setdefault("keepalives_idle", 30)
    options.setdefault("keepalives_interval", 10)
    options.setdefault("keepalives_count", 3)
    if pool:
        # Django's native psycopg pool: a process keeps min..max open connections instead of
        # opening one per request (the old portal opened 3-4 per request). CONN_HEALTH_CHECKS
        # makes it check each connection it hands out (agepar/postgres.py makes that check cheap).
        options["pool"] = {
            "min_size": env.integer("DB_POOL_MIN_SIZE", 2, minimum=0),
            "max_size": env.integer("DB_POOL_MAX_SIZE", 10, minimum=1),
            "timeout": env.integer("DB_POOL_TIMEOUT", 30, minimum=1),
        }
    else:
        db["CONN_MAX_AGE"] = env.integer("DB_CONN_MAX_AGE", 60, minimum=0)
    db["CONN_HEALTH_CHECKS"] = True
    # Behind pgBouncer in transaction mode (docs/scaling.md) a server connection is lent for one
    # transaction only: a named cursor (`.iterator()`) or a prepared statement made in one would be
    # unknown to the next. Django then fetches on the client, and psycopg prepares nothing.
    if env.boolean("DB_DISABLE_SERVER_SIDE_CURSORS", False):
        db["DISABLE_SERVER_SIDE_CURSORS"] = True
    # psycopg prepares a statement run 5 times on a connection; pgBouncer before 1.21 (Debian 12
    # ships 1.18) cannot follow it, so DB_PREPARE_THRESHOLD=none there. Unset: psycopg's default.
    if env.string("DB_PREPARE_THRESHOLD").lower() in {"none", "off"}:
        options["prepare_threshold"] = None
    elif env.string("DB_PREPARE_THRESHOLD"):
        options["prepare_threshold"] = env.integer("DB_PREPARE_THRESHOLD", 5, minimum=0)
    return db


DATABASES = {"default": env.database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE transactions take the
    # write lock up front, so a writer waits for busy_timeout instead of failing with
    # "database is locked" halfway through a transaction.
    _db.setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            "transaction_mode": "IMMEDIATE",
            "timeout": env.integer("SQLITE_BUSY_TIMEOUT", 20, minimum=1),
        }
    )
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _postgres(_db, pool=env.boolean("DB_POOL", True))
_db["TEST"] = {"NAME": env.raw("TEST_DATABASE_NAME")} if env.raw("TEST_DATABASE_NAME") else {}

# A streaming replica for the lag-tolerant reads (agepar/routers.py, docs/scaling.md): the lists and
# the audit export go there while it answers and lags at most REPLICA_MAX_LAG seconds.
if env.raw("REPLICA_DATABASE_URL"):
    _replica = env.database("REPLICA_DATABASE_URL", "")
    if not _replica["ENGINE"] == _db["ENGINE"] == "django.db.backends.postgresql":
        raise ImproperlyConfigured("REPLICA_DATABASE_URL needs DATABASE_URL on PostgreSQL and a replica of it.")
    # No pool for the replica: a pool waits up to its timeout for a server that refuses connections,
    # and the lists must fall back to the primary at once. The test suite reads the replica alias
    # from the test database itself.
    DATABASES["replica"] = {**_postgres(_replica, pool=False), "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = ["agepar.routers.PrimaryReplicaRouter"]
REPLICA_MAX_LAG = env.integer("REPLICA_MAX_LAG", 5, minimum=0)
REPLICA_CHECK_INTERVAL = env.integer("REPLICA_CHECK_INTERVAL", 2, minimum=0)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------------
# Shared by every process (throttles and lockouts must hold across gunicorn workers): the
# database cache by default, Redis in production through CACHE_URL=redis://...
CACHES = {"default": env.cache("CACHE_URL", "dbcache://agepar_cache")}

# --- Auth -----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
     "OPTIONS": {"user_attributes": ("email", "nome", "cpf")}},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.password_validation.PersonalDataValidator"},
]
LOGIN_URL = "admin:login"

# --- Accounts and sessions ---------------------------------------------------------------------
# Server-side sessions (accounts.sessions): revocable, idle timeout + absolute lifetime, and
# last_seen_at written at most once per SESSION_TOUCH_INTERVAL seconds (half the idle timeout when that
# is shorter: accounts.sessions.SessionStore._touch_interval).
SESSION_ENGINE = "accounts.sessions"
SESSION_IDLE_TIMEOUT = env.duration("SESSION_IDLE_TIMEOUT", "8h")
SESSION_ABSOLUTE_LIFETIME = env.duration("SESSION_ABSOLUTE_LIFETIME", "12h")
SESSION_REMEMBER_ME_LIFETIME = env.duration("SESSION_REMEMBER_ME_LIFETIME", "30d")
SESSION_REVOKED_RETENTION = env.duration("SESSION_REVOKED_RETENTION", "90d")
SESSION_TOUCH_INTERVAL = 60
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_LIFETIME
AUTHENTICATION_BACKENDS = ["accounts.backends.IdentifierBackend"]
# Sign-in lockout (accounts/lockout.py): at most LOGIN_FAILURE_LIMIT password checks per account, and
# as many per client address, in each window of LOGIN_LOCKOUT_WINDOW seconds.
LOGIN_FAILURE_LIMIT = env.integer("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_LOCKOUT_WINDOW = env.duration("LOGIN_LOCKOUT_WINDOW", "15m")

# How many reverse proxies in front of us append to X-Forwarded-For; 0 trusts none and uses
# REMOTE_ADDR (agepar.request_info.client_ip).
TRUSTED_PROXY_COUNT = env.integer("TRUSTED_PROXY_COUNT", 0, minimum=0)

# --- Security (secure by default; each relaxable for TLS ending at a proxy or local runs) ------
_secure = not DEBUG
SESSION_COOKIE_SECURE = env.boolean("SESSION_COOKIE_SECURE", _secure)
# The __Host- prefix makes the browser refuse the cookie unless Secure, Path=/ and no Domain.
SESSION_COOKIE_NAME = env.string("SESSION_COOKIE_NAME", "__Host-sessionid" if SESSION_COOKIE_SECURE else "sessionid")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = env.boolean("CSRF_COOKIE_SECURE", _secure)
# The front end reads this cookie (API.md), so it keeps its plain name and is not HttpOnly.
CSRF_COOKIE_NAME = env.string("CSRF_COOKIE_NAME", "csrftoken")
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "agepar.views.csrf_failure"
SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", _secure)
SECURE_REDIRECT_EXEMPT = [r"^api/health$"]
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 31536000 if _secure else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", _secure)
SECURE_HSTS_PRELOAD = env.boolean("SECURE_HSTS_PRELOAD", _secure)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response (agepar.middleware.ContentSecurityPolicyMiddleware):
# nothing inline, nothing from elsewhere. The admin, Swagger UI (its set-up script a file of its own)
# and the portal's pages load only their own files; the SVG icons of Swagger UI's CSS are data: URLs.
# Django 6.0's SECURE_CSP has this shape, so its own middleware can take over after an upgrade.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
if env.boolean("USE_X_FORWARDED_PROTO", False):
    # Only when the proxy in front strips and sets this header itself.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
DATA_UPLOAD_MAX_MEMORY_SIZE = env.size("DATA_UPLOAD_MAX_MEMORY_SIZE", 2 * 1024 * 1024)
# A request body must arrive within REQUEST_BODY_TIMEOUT + its length / REQUEST_BODY_MIN_RATE (bytes per
# second) of its first read, or the read fails and the API answers 408 (agepar/body_deadline.py): a slow
# client straight at gunicorn holds a thread that long at most. 0 turns the deadline off.
REQUEST_BODY_TIMEOUT = env.duration("REQUEST_BODY_TIMEOUT", "30s")
REQUEST_BODY_MIN_RATE = env.size("REQUEST_BODY_MIN_RATE", 64 * 1024)

# --- I18N -----------------------------------------------------------------------------------------
# One language: every page and message is pt-BR, so there is no LocaleMiddleware to negotiate it.
LANGUAGE_CODE = "pt-br"
LANGUAGES = [("pt-br", "Português (Brasil)")]
TIME_ZONE = "America/Sao_Paulo"
USE_I18N = True
# Portuguese for the third-party labels staff see (axes, the task queue...): locale/pt_BR.
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["agepar.formats"]  # dates with seconds and zone (agepar/formats/pt_BR)
USE_TZ = True

# --- Static files and storage ---------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.string("STATIC_ROOT", str(VAR_DIR / "static")))
UPLOAD_ROOT = Path(env.string("UPLOAD_ROOT", str(VAR_DIR / "uploads")))
FILE_UPLOAD_TEMP_DIR = env.string("FILE_UPLOAD_TEMP_DIR", "") or None
STORAGES = {
    # Uploads are never served by URL: downloads go through the fileshare views.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(UPLOAD_ROOT), "base_url": None}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
                    if not DEBUG else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["agepar.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "agepar.api.CursorPagination",
    "PAGE_SIZE": 50,
    # orjson, byte-for-byte DRF's compact JSON at a fraction of the cost (agepar/renderers.py, docs/BENCHMARKS.md).
    "DEFAULT_RENDERER_CLASSES": ["agepar.renderers.ORJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["agepar.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "agepar.schema.AutoSchema",  # adds the shared error responses to every operation
    "EXCEPTION_HANDLER": "agepar.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Portal AGEPAR API",
    "DESCRIPTION": "Submissions, audit trail, sessions and file sharing of Portal AGEPAR.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The old portal published its API docs to anyone; ours need a signed-in session.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"SubmissionStatusEnum": "submissions.models.Submission.Status"},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "agepar.schema.add_public_share_pages"],
}

# --- Background tasks -----------------------------------------------------------------------------
# Django's Tasks API (django-tasks backport); the database backend's `db_worker` runs them.
TASKS = {"default": {"BACKEND": env.string("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}

# --- Submissions ----------------------------------------------------------------------------------
# A worker holds a running submission for this long and renews it every third of it; a row whose
# lease ran out (its worker died) is requeued by `manage.py requeue_stale`, up to MAX_ATTEMPTS runs.
SUBMISSIONS_LEASE_SECONDS = env.integer("SUBMISSIONS_LEASE_SECONDS", 120, minimum=1)
SUBMISSIONS_MAX_ATTEMPTS = env.integer("SUBMISSIONS_MAX_ATTEMPTS", 3, minimum=1)
# A worker writes its heartbeat this often; one not seen for three periods counts as dead.
WORKER_HEARTBEAT_SECONDS = env.integer("WORKER_HEARTBEAT_SECONDS", 5, minimum=1)
# run_maintenance deletes finished task-queue rows (django-tasks-db) older than this.
TASK_RESULTS_RETENTION = env.duration("TASK_RESULTS_RETENTION", "7d")
SUBMISSIONS_MAX_PAYLOAD_SIZE = env.size("SUBMISSIONS_MAX_PAYLOAD_SIZE", 256 * 1024)
# A passing failure (RetryableAutomationError) runs again after BACKOFF, doubled each attempt up to
# BACKOFF_MAX; manual retries of an error back off the same way (submissions.services.retry_delay).
SUBMISSIONS_RETRY_BACKOFF = env.duration("SUBMISSIONS_RETRY_BACKOFF", "30s")
SUBMISSIONS_RETRY_BACKOFF_MAX = env.duration("SUBMISSIONS_RETRY_BACKOFF_MAX", "1h")
# How long one run may take unless its automation declares TIMEOUT; then it ends in error.
SUBMISSIONS_TIMEOUT = env.duration("SUBMISSIONS_TIMEOUT", "10m")
# Bytes of files one run may store unless its automation declares MAX_RESULT_SIZE.
SUBMISSIONS_MAX_RESULT_SIZE = env.size("SUBMISSIONS_MAX_RESULT_SIZE", 50 * 1024**2)
# Dotted paths of automation modules outside submissions/automations/.
SUBMISSIONS_EXTRA_AUTOMATIONS = env.strings("SUBMISSIONS_EXTRA_AUTOMATIONS")

# --- File sharing ---------------------------------------------------------------------------------
FILESHARE_MAX_UPLOAD_SIZE = env.size("FILESHARE_MAX_UPLOAD_SIZE", 100 * 1024**2)
# Sniffed types (never the client's claim) that may be shared.
FILESHARE_ALLOWED_TYPES = env.strings("FILESHARE_ALLOWED_TYPES") or [
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain", "text/csv",
    "application/zip", "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
]
FILESHARE_USER_QUOTA_BYTES = env.size("FILESHARE_USER_QUOTA_BYTES", 2 * 1024**3)
FILESHARE_USER_MAX_ITEMS = env.integer("FILESHARE_USER_MAX_ITEMS", 200, minimum=1)
FILESHARE_MAX_TTL = env.duration("FILESHARE_MAX_TTL", "30d")
FILESHARE_DELETED_RETENTION = env.duration("FILESHARE_DELETED_RETENTION", "30d")
FILESHARE_PASSWORD_ATTEMPTS_PER_TOKEN = env.integer("FILESHARE_PASSWORD_ATTEMPTS_PER_TOKEN", 5, minimum=1)
FILESHARE_PASSWORD_ATTEMPTS_PER_IP = env.integer("FILESHARE_PASSWORD_ATTEMPTS_PER_IP", 20, minimum=1)
FILESHARE_PASSWORD_WINDOW = env.duration("FILESHARE_PASSWORD_WINDOW", "15m")
# Direct uploads to the bucket (S3 storage only; docs/API.md "Direct uploads"): the client has this long
# to PUT the bytes and confirm, and its presigned URLs expire then (SigV4 signs for at most 7 days).
FILESHARE_UPLOAD_WINDOW = env.duration("FILESHARE_UPLOAD_WINDOW", "2h")
# Files up to this size go up in one PUT, bigger ones in parts of this size (S3 takes 5 MiB to 5 GiB).
FILESHARE_UPLOAD_PART_SIZE = env.size("FILESHARE_UPLOAD_PART_SIZE", 64 * 1024**2)
# On only for a bucket that refuses a PUT whose body does not match its x-amz-checksum-sha256 (AWS S3,
# MinIO; not moto): then `complete` of a single PUT with a declared sha256 takes S3's stored checksum
# instead of reading the object back. Deploy check agepar.W005 probes the bucket (docs/scaling.md).
FILESHARE_S3_VERIFIES_CHECKSUMS = env.boolean("FILESHARE_S3_VERIFIES_CHECKSUMS", False)
if not 60 <= FILESHARE_UPLOAD_WINDOW <= 7 * 86400:
    raise ImproperlyConfigured("FILESHARE_UPLOAD_WINDOW must be between 1m and 7d.")
if not 5 * 1024**2 <= FILESHARE_UPLOAD_PART_SIZE <= 5 * 1024**3:
    raise ImproperlyConfigured("FILESHARE_UPLOAD_PART_SIZE must be between 5MiB and 5GiB (S3's part sizes).")
FILESHARE_STORAGE = env.string("FILESHARE_STORAGE") or "filesystem"
if FILESHARE_STORAGE == "s3":
    from botocore.config import Config as _BotoConfig

    if not env.raw("AWS_STORAGE_BUCKET_NAME"):
        raise ImproperlyConfigured("FILESHARE_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME.")
    _addressing = env.string("AWS_S3_ADDRESSING_STYLE") or "path"
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": env.raw("AWS_STORAGE_BUCKET_NAME"),
        "endpoint_url": env.raw("AWS_S3_ENDPOINT_URL") or None,
        "region_name": env.raw("AWS_S3_REGION_NAME") or None,
        "access_key": env.raw("AWS_ACCESS_KEY_ID"),
        "secret_key": env.raw("AWS_SECRET_ACCESS_KEY"),
        "file_overwrite": False,
        "default_acl": None,
        "querystring_auth": True,
        # Downloads redirect to a presigned URL valid this long (the counter was already taken).
        "querystring_expire": env.integer("AWS_QUERYSTRING_EXPIRE", 60, minimum=1),
        # S3-compatible servers (MinIO, Ceph, moto...) reject boto3's default CRC checksums
        # (django-storages #1482): send and check them only when the operation requires it.
        "client_config": _BotoConfig(
            s3={"addressing_style": _addressing}, signature_version="s3v4",
            request_checksum_calculation=env.string("AWS_REQUEST_CHECKSUM_CALCULATION") or "when_required",
            response_checksum_validation=env.string("AWS_RESPONSE_CHECKSUM_VALIDATION") or "when_required",
        ),
    }}
elif FILESHARE_STORAGE != "filesystem":
    raise ImproperlyConfigured(f"FILESHARE_STORAGE must be 'filesystem' or 's3'; got {FILESHARE_STORAGE!r}")

# --- Logging --------------------------------------------------------------------------------------
LOG_LEVEL = env.string("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "agepar.logging.RedactSecretsFilter"},
                "context": {"()": "agepar.logging.ContextFilter"}},
    "formatters": {
        "json": {"()": "agepar.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "text" if DEBUG else "json",
            "filters": ["context", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Our access log replaces django.request's 4xx warnings, which would repeat each request.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "ERROR"},
    },
}

HEALTH_TIMEOUT = env.integer("HEALTH_TIMEOUT", 3, minimum=1)

# /metrics (agepar/metrics.py): off (404) unless a bearer token and/or an allow-list is set.
METRICS_TOKEN = env.string("METRICS_TOKEN")
try:
    METRICS_ALLOWED_IPS = [ipaddress.ip_network(item, strict=False) for item in env.strings("METRICS_ALLOWED_IPS")]
except ValueError as _exc:
    raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {_exc}") from None
# Where deploy/backup.sh writes (its newest backup's age is a metric).
BACKUP_DIR = Path(env.string("BACKUP_DIR", str(VAR_DIR / "backups")))

# --- Operations -----------------------------------------------------------------------------------
# Retention periods `manage.py run_maintenance` hands to prune_audits and prune_submissions
# (docs/operations.md); each command also takes its own --older-than when run by hand.
AUDITS_RETENTION = f"{env.duration('AUDITS_RETENTION', '365d')}s"
SUBMISSIONS_RETENTION = f"{env.duration('SUBMISSIONS_RETENTION', '365d')}s"
