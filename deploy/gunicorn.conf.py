"""gunicorn settings for Portal AGEPAR (used by the Dockerfile, docs and the live-server tests).

Threads let one worker keep serving while another thread streams a large download; each
thread takes a database connection from the worker's pool, so keep
DB_POOL_MAX_SIZE >= GUNICORN_THREADS (docs/operations.md has the sizing rule).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count())))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Bound request line/header sizes; bodies are bounded by Django's upload limits.
limit_request_line = 8190
limit_request_fields = 100
# The application writes one JSON access line per request (agepar.middleware); gunicorn's own
# access log would repeat it and could not redact share-link tokens.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
wsgi_app = "agepar.wsgi:application"
