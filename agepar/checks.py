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


# Django's own session-cookie checks (security.W010-W015) only look for django.contrib.sessions and its
# middleware; this project uses neither (accounts.sessions, accounts.middleware.SessionMiddleware), so
# without these `check --deploy` would pass a session cookie sent over plain HTTP or readable by scripts.
@checks.register(checks.Tags.security, deploy=True)
def session_cookie_secure(app_configs, **kwargs):
    if settings.SESSION_COOKIE_SECURE is not True:
        return [checks.Warning(
            "SESSION_COOKIE_SECURE is not True: the session cookie would also travel over plain HTTP, "
            "where network traffic sniffers can hijack sessions.",
            hint="Leave SESSION_COOKIE_SECURE unset (on with DEBUG=0) and serve over HTTPS.",
            id="agepar.W010",
        )]
    return []


@checks.register(checks.Tags.security, deploy=True)
def session_cookie_httponly(app_configs, **kwargs):
    if settings.SESSION_COOKIE_HTTPONLY is not True:
        return [checks.Warning(
            "SESSION_COOKIE_HTTPONLY is not True: scripts in the page (a cross-site scripting flaw) "
            "could read the session cookie.",
            hint="Keep SESSION_COOKIE_HTTPONLY = True as shipped.",
            id="agepar.W013",
        )]
    return []


@checks.register(checks.Tags.security)
def host_prefixed_session_cookie(app_configs, **kwargs):
    # Browsers silently drop a __Host- cookie that is not Secure, has a Domain or a Path other than /:
    # nobody could stay signed in.
    if settings.SESSION_COOKIE_NAME.startswith("__Host-") and (
            settings.SESSION_COOKIE_SECURE is not True or settings.SESSION_COOKIE_DOMAIN
            or settings.SESSION_COOKIE_PATH != "/"):
        return [checks.Error(
            "SESSION_COOKIE_NAME starts with __Host- but the cookie is not Secure, or sets a Domain or a "
            "Path other than /: browsers refuse such a cookie, so no sign-in would hold.",
            hint="Serve over HTTPS with SESSION_COOKIE_SECURE on and no SESSION_COOKIE_DOMAIN/PATH, or "
                 "set SESSION_COOKIE_NAME without the prefix.",
            id="agepar.E004",
        )]
    return []


# The probe's key: outside the blob names (agepar.blobs), deleted again right away.
CHECKSUM_PROBE_KEY = "agepar-checks/checksum-probe"


@checks.register(checks.Tags.security, deploy=True)
def bucket_verifies_checksums(app_configs, **kwargs):
    # FILESHARE_S3_VERIFIES_CHECKSUMS makes `complete` take S3's stored SHA-256 as the file's: true only
    # if the bucket refused other bytes in the PUT. A server that stores the value unverified (moto) would
    # let a client name any SHA-256 for its file.
    if settings.FILESHARE_STORAGE != "s3" or not settings.FILESHARE_S3_VERIFIES_CHECKSUMS:
        return []
    from botocore.exceptions import BotoCoreError, ClientError

    from fileshare import bucket

    try:
        verified = bucket.verifies_checksums(CHECKSUM_PROBE_KEY)
    except (BotoCoreError, ClientError) as exc:
        return [checks.Warning(
            f"Could not probe whether the bucket verifies checksums ({exc}).",
            hint="Check the AWS_* settings and that the bucket is reachable, then run check --deploy again.",
            id="agepar.W006",
        )]
    if not verified:
        return [checks.Warning(
            "The bucket does not verify checksums: it accepted a PUT whose x-amz-checksum-sha256 does not "
            "match its body, so direct uploads would store a SHA-256 the client chose.",
            hint="Turn FILESHARE_S3_VERIFIES_CHECKSUMS off (complete then reads each object back to hash it).",
            id="agepar.W005",
        )]
    return []
