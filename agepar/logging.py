"""Log formatting: one JSON object per line in production, and secret redaction everywhere."""

import logging
import re
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
        if isinstance(getattr(record, "path", None), str):
            record.path = redact(record.path)
        return True


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
