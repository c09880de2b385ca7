# syntax=docker/dockerfile:1
# Portal AGEPAR images: wheels built in one stage, a slim non-root runtime for the web servers
# (the default target), and the task worker's (`--target worker`), which adds LibreOffice.
# The base is pinned to an exact patch release (tests/deploy/test_docker_files.py requires the full
# x.y.z tag). No digest here: it could not be fetched and verified where this file is developed
# (no registry access); add `@sha256:...` from your own registry after pulling the tag (the test
# accepts it), and rebuild monthly for security updates.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY requirements.txt requirements.lock ./
# Every distribution checked against the lock's hashes (docs: README "Dependencies").
RUN pip wheel --require-hashes --no-deps --wheel-dir /wheels -r requirements.lock

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var UPLOAD_ROOT=/data/uploads STATIC_ROOT=/app/staticfiles \
    FILE_UPLOAD_TEMP_DIR=/data/uploads-tmp BACKUP_DIR=/data/backups
# pg_dump/pg_restore (backups, restore tests), age (backup encryption), openssl (self-signed
# certificates for the compose stack's nginx).
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-15 age openssl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --no-deps /wheels/*.whl && rm -rf /wheels

WORKDIR /app
COPY . .
# collectstatic needs settings but no database; the build-time key is discarded with the layer.
RUN DEBUG=0 SECRET_KEY=build-only-$(python -c 'import secrets; print(secrets.token_urlsafe(50))') \
    ALLOWED_HOSTS=build python manage.py collectstatic --noinput \
 && useradd --system --uid 10001 --home /app agepar \
 && mkdir -p /app/var /data/uploads /data/uploads-tmp /data/backups \
 && chown -R agepar /app/var /data

USER agepar

# The task worker (db_worker) also turns DFD documents into PDF with LibreOffice Writer, headless
# (submissions/documents.py). Writer without its GUI and recommends, plus the Liberation fonts the
# DFD template names, adds some 300-400 MB to a runtime of about 250 MB, and a large office suite
# parsing documents is attack surface: only the worker image carries it, the web servers (which
# never convert) stay small. docker-compose.yml builds the worker with `target: worker`.
FROM runtime AS worker
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends libreoffice-writer-nogui fonts-liberation2 \
 && rm -rf /var/lib/apt/lists/*
USER agepar
HEALTHCHECK --interval=30s --timeout=20s --start-period=30s --retries=3 CMD ["python", "deploy/healthcheck.py", "--worker"]
CMD ["python", "manage.py", "db_worker", "--interval", "1", "--no-reload"]

# The web server: the last stage, so a plain `docker build .` gives it.
FROM runtime AS web
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 CMD ["python", "deploy/healthcheck.py"]
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
