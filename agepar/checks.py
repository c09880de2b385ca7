"""Project invariants as system checks with stable ids (listed in docs/operations.md)."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def password_hashers(app_configs, **kwargs):
    if not settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher"):
        return [checks.Error("Argon2 must be the first password hasher.", id="agepar.E001")]
    return []


@checks.register(checks.Tags.caches, deploy=True)
def shared_cache(app_configs, **kwargs):
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith("LocMemCache") or backend.endswith("DummyCache"):
        return [checks.Warning(
            "The default cache is per process: login lockouts and throttles would not hold across workers.",
            hint="Use CACHE_URL=dbcache://agepar_cache (default) or redis://...",
            id="agepar.W002",
        )]
    return []


@checks.register(checks.Tags.database)
def utc_connections(app_configs, **kwargs):
    # API list rows carry timestamps as the database returns them (agepar/representation.py):
    # they are UTC only while Django keeps its connections in UTC.
    if not settings.USE_TZ or any(db.get("TIME_ZONE") for db in settings.DATABASES.values()):
        return [checks.Error("USE_TZ must be on and no database may set TIME_ZONE: API timestamps are UTC.",
                             id="agepar.E003")]
    return []
