"""Settings for labstudy, read from LABSTUDY_* environment variables.

Development defaults work with no configuration (SQLite in the project folder, DEBUG on).
With LABSTUDY_ENV=production every setting a real deployment needs must be given
(LABSTUDY_SECRET_KEY of 50+ characters, LABSTUDY_ALLOWED_HOSTS,
LABSTUDY_CSRF_TRUSTED_ORIGINS, DATABASE_URL), and a missing or unusable one stops the
process with a message naming it.
"""

import hashlib
import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

ENV = os.environ.get("LABSTUDY_ENV", "development")
PRODUCTION = ENV == "production"


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when LABSTUDY_ENV=production")
    return value


def _secret_key() -> str:
    key = _required("LABSTUDY_SECRET_KEY")
    # Django's deploy check wants 50+ characters with 5+ distinct ones; stop here rather
    # than run with a key that only a warning would flag.
    if len(key) < 50 or len(set(key)) < 5:
        raise ImproperlyConfigured(
            f"LABSTUDY_SECRET_KEY must be at least 50 random characters (it has {len(key)}); "
            "make one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    return key


def _trusted_origins() -> list[str]:
    origins = [o.strip() for o in _required("LABSTUDY_CSRF_TRUSTED_ORIGINS").split(",")]
    for origin in origins:
        if not origin.startswith(("https://", "http://")):
            raise ImproperlyConfigured(
                f"LABSTUDY_CSRF_TRUSTED_ORIGINS: '{origin}' needs its scheme, "
                "e.g. https://labstudy.example.org"
            )
    return origins


if PRODUCTION:
    SECRET_KEY = _secret_key()
    ALLOWED_HOSTS = [h.strip() for h in _required("LABSTUDY_ALLOWED_HOSTS").split(",")]
    CSRF_TRUSTED_ORIGINS = _trusted_origins()
    # No silent SQLite in production: the data would land in the project folder.
    _required("DATABASE_URL")
    DEBUG = False
else:
    SECRET_KEY = os.environ.get(
        "LABSTUDY_SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production-0123456789"
    )
    ALLOWED_HOSTS = os.environ.get(
        "LABSTUDY_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver"
    ).split(",")
    DEBUG = os.environ.get("LABSTUDY_DEBUG", "1") == "1"
    # `make lan` names the addresses it serves on (lan.serve); none needed otherwise.
    CSRF_TRUSTED_ORIGINS = [
        o.strip()
        for o in os.environ.get("LABSTUDY_CSRF_TRUSTED_ORIGINS", "").split(",")
        if o.strip()
    ]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "simple_history",
    "axes",
    "csp",
    "labstudy",
    "animals",
    "sessions.apps.VfSessionsConfig",
    "analysis",
    "front",
    "lan",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "labstudy.middleware.StudyMembershipMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into a clear response.
    "axes.middleware.AxesMiddleware",
]

# A change reason is whatever the person wrote (up to 300 characters in our forms), not
# django-simple-history's default 100-character column, which PostgreSQL would refuse.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
# The admin's history pages show past versions but never "Revert" to one: a revert would
# write a record past the app's rules (un-voiding a tap with no reason, in a signed-off
# timepoint). labstudy.admin.KeptHistoryAdmin also refuses a POST to the revert page.
SIMPLE_HISTORY_REVERT_DISABLED = True

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling: after 5 failures for a username from one address, that pair waits
# an hour; after 20 failures from one address, whatever the usernames, the address waits
# an hour (labstudy/login_throttle.py).
AXES_FAILURE_LIMIT = int(os.environ.get("LABSTUDY_LOGIN_FAILURE_LIMIT", "5"))
LABSTUDY_LOGIN_ADDRESS_FAILURE_LIMIT = int(
    os.environ.get("LABSTUDY_LOGIN_ADDRESS_FAILURE_LIMIT", "20")
)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "labstudy.login_throttle.AddressThrottleHandler"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# Behind a reverse proxy every request comes from the proxy's address: count the client
# from X-Forwarded-For instead, trusting only the entries our own proxies wrote.
try:
    LABSTUDY_PROXY_COUNT = int(os.environ.get("LABSTUDY_PROXY_COUNT", "0"))
except ValueError:
    LABSTUDY_PROXY_COUNT = -1
if LABSTUDY_PROXY_COUNT < 0:
    raise ImproperlyConfigured(
        "LABSTUDY_PROXY_COUNT must be the number of reverse proxies in front of the app "
        "(0 without one, 1 for a single nginx)"
    )
AXES_CLIENT_IP_CALLABLE = "labstudy.client_ip.client_ip"

ROOT_URLCONF = "labstudy.urls"

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

WSGI_APPLICATION = "labstudy.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("LABSTUDY_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}

# SQLite has one writer at a time. WAL: pages, sign-ins and dry runs read while someone
# writes, and a long read never blocks a writer. IMMEDIATE: a transaction takes the write
# lock when it begins, so two writers queue for up to `timeout` seconds, instead of the
# second failing with "database is locked" when it turns from reading to writing.
# Writers stay short (an import checks its file before it opens its transaction); for
# many tablets at once or large imports while people work, use PostgreSQL (README).
LABSTUDY_SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL",
    "transaction_mode": "IMMEDIATE",
    "timeout": float(os.environ.get("LABSTUDY_SQLITE_TIMEOUT", "20")),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        **LABSTUDY_SQLITE_OPTIONS,
        **DATABASES["default"].get("OPTIONS", {}),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The statistics cache (analysis/stats_cache.py): keyed on a digest of the data the
# numbers are made of, so a write never needs to clear it. A file cache by default (one
# per checkout, shared by the server's processes); Redis when LABSTUDY_CACHE_URL names one
# (redis://host:6379/0, needs the `redis` package); "none" turns it off.
_CACHE_URL = os.environ.get("LABSTUDY_CACHE_URL", "").strip()
_CHECKOUT = hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:10]
if _CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    _STATISTICS_CACHE = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _CACHE_URL,
    }
elif _CACHE_URL == "none":
    _STATISTICS_CACHE = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
else:
    _STATISTICS_CACHE = {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ.get(
            "LABSTUDY_CACHE_DIR",
            str(Path(tempfile.gettempdir()) / f"labstudy-stats-{_CHECKOUT}"),
        ),
        "OPTIONS": {"MAX_ENTRIES": 5000},
    }
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "statistics": {"TIMEOUT": 7 * 24 * 3600, **_STATISTICS_CACHE},
}


AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("LABSTUDY_TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("LABSTUDY_STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "labstudy.storage.StaticFilesStorage"  # WhiteNoise, compressed and hashed
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Shared bench tablets: a sign-in ends when the browser closes, and in any case after
# LABSTUDY_SESSION_HOURS (default 12, a long lab day) from signing in, so a tablet left
# signed in overnight asks the next person to sign in as themselves.
try:
    LABSTUDY_SESSION_HOURS = float(os.environ.get("LABSTUDY_SESSION_HOURS", "12"))
except ValueError:
    LABSTUDY_SESSION_HOURS = 0
if not 0 < LABSTUDY_SESSION_HOURS <= 24 * 14:
    raise ImproperlyConfigured(
        "LABSTUDY_SESSION_HOURS must be the hours a sign-in lasts, e.g. 12 (at most 336)"
    )
SESSION_COOKIE_AGE = int(LABSTUDY_SESSION_HOURS * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

LOGIN_URL = "login"
# A form sent after its session ended says so, and leads back to it (labstudy.errors).
CSRF_FAILURE_VIEW = "labstudy.errors.csrf_failure"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Uploads: spreadsheets are small; anything larger is refused with a message.
LABSTUDY_MAX_UPLOAD_BYTES = int(os.environ.get("LABSTUDY_MAX_UPLOAD_BYTES", str(5 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = LABSTUDY_MAX_UPLOAD_BYTES
# Where an import upload waits (at most an hour) for its confirmation: sessions/uploads.py.
LABSTUDY_UPLOAD_DIR = Path(
    os.environ.get("LABSTUDY_UPLOAD_DIR", Path(tempfile.gettempdir()) / "labstudy-imports")
)

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = os.environ.get("LABSTUDY_SSL_REDIRECT", "1") == "1"
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("LABSTUDY_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"

# `make lan` (lan.serve) serves HTTPS to the lab network: sign-in cookies only over HTTPS,
# the folder of this computer's certificate, and the addresses the Connect a tablet page
# shows.
if os.environ.get("LABSTUDY_HTTPS") == "1":
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
LABSTUDY_LAN_DIR = Path(os.environ.get("LABSTUDY_LAN_DIR", BASE_DIR / ".lan"))
LABSTUDY_LAN_URLS = [
    u.strip() for u in os.environ.get("LABSTUDY_LAN_URLS", "").split(",") if u.strip()
]

# Content Security Policy, in every environment so development and the browser tests
# see what production enforces: scripts only from our own static files (no inline
# scripts, no eval); inline style attributes are allowed for plotly and colour swatches.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LABSTUDY_LOG_LEVEL", "WARNING")},
}
