"""Test settings: the real settings fed a test environment, plus speed-ups that change no behaviour."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "0123456789abcdef" * 3)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="agepar-test-"))

from agepar.settings import *  # noqa: E402,F403
from agepar.settings import DATABASES, PASSWORD_HASHERS, STATIC_ROOT, STORAGES, VAR_DIR  # noqa: E402

# The settings make no folder. The test SQLite file lives in VAR_DIR, and whitenoise (DEBUG off)
# wants STATIC_ROOT, which collectstatic leaves behind in a deployment.
for folder in (VAR_DIR, STATIC_ROOT):
    folder.mkdir(parents=True, exist_ok=True)

# Argon2 stays configured (tests that check hashing ask for it); MD5 first only makes tests fast.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and not DATABASES["default"]["TEST"]:
    # A file, not :memory:, so that tests can start real worker and gunicorn processes on it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

# In-process tests get a per-process cache cleared around each test (tests/conftest.py); tests
# that start real server processes use the database cache those processes configure themselves.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Never used in-process: declaring it makes `migrate` (agepar 0001's createcachetable) create the
    # table that the real processes' default database cache uses on the test database.
    "live_processes": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "agepar_cache"},
}

# Tasks run inline in tests; the tests of the real worker start `db_worker` processes themselves.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

# Pages render static URLs; the production manifest storage would need a collectstatic run first.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
