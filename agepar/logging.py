"""Log formatting: one JSON object per line in production, secret redaction everywhere, and the
ids of what is being done (request, submission, task) on every line written while doing it."""

import contextlib
import logging
import re
import threading
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson

# Public share links carry their secret in the path (/s/<token>); a log line must never hold it.
_SHARE_TOKEN = re.compile(r"(/s/)[A-Za-z0-9_\-]{16,}")


def redact(text: str) -> str:
    return _SHARE_TOKEN.sub(r"\1<redacted>", text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        path = getattr(record, "path", None)  # set by the access log (agepar.middleware)
        if isinstance(path, str):
            record.path = redact(path)
        return True


# Fields added to every record logged in the current context (a request, a task): request_id,
# submission_id, task_id. A context variable, so threads serving other requests never see them.
_context: ContextVar[dict] = ContextVar("agepar_log_context", default={})  # noqa: B039 (never mutated)


@contextlib.contextmanager
def log_context(**fields):
    """Every log line written inside the block (tracebacks included) carries these fields."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):  # an explicit extra= wins
                setattr(record, key, value)
        return True


# django-tasks signals around each task a worker runs: its id joins the context for the run.
_task_tokens = threading.local()


def task_started(sender, task_result, **kwargs) -> None:
    _task_tokens.token = _context.set({**_context.get(), "task_id": str(task_result.id)})


def task_finished(sender, task_result, **kwargs) -> None:
    token = getattr(_task_tokens, "token", None)
    if token is not None:
        _context.reset(token)
        _task_tokens.token = None


# Attributes every LogRecord has; anything else was passed through `extra=` and is logged as a field.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        # Extra fields (django.request passes the request object itself, whose repr holds the
        # path) and tracebacks are redacted too, not only the message.
        return redact(orjson.dumps(entry, default=str).decode())
