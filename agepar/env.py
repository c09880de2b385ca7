"""Strict environment parsing.

django-environ's own bool parser maps any unknown string to False; a typo in
`DEBUG=ture` must not silently switch production behaviour, so every setting is
read through these helpers, which refuse what they do not understand.
"""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

_env = environ.Env()
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def raw(name: str, default: str | None = None) -> str | None:
    """The value of NAME, or of the file named by NAME_FILE (Docker secrets)."""
    file_var = f"{name}_FILE"
    if os.environ.get(file_var):
        try:
            return Path(os.environ[file_var]).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{file_var}: cannot read {os.environ[file_var]}: {exc}") from exc
    return os.environ.get(name, default)


def string(name: str, default: str = "") -> str:
    value = raw(name)
    return default if value is None else value


def boolean(name: str, default: bool) -> bool:
    value = raw(name)
    if value is None or value == "":
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {value!r}")


def integer(name: str, default: int, *, minimum: int | None = None) -> int:
    value = raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer; got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {number}")
    return number


def strings(name: str, default: list[str] | None = None) -> list[str]:
    value = raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2, "mib": 1024**2,
          "g": 1024**3, "gb": 1024**3, "gib": 1024**3}


def size(name: str, default: int) -> int:
    """A byte size such as `104857600`, `100M` or `100MiB`."""
    value = raw(name)
    if value is None or value == "":
        return default
    text = value.strip().lower()
    digits = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(digits):].strip()
    if not digits.strip().isdigit() or unit not in _UNITS:
        raise ImproperlyConfigured(f"{name} must be a size like 104857600, 100M or 100MiB; got {value!r}")
    return int(digits) * _UNITS[unit]


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Seconds in `90s`, `15m`, `8h`, `30d` (a bare number is seconds). ValueError if malformed."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    number, unit = text[:-1], text[-1:]
    if not number.isdigit() or unit not in _DURATION_UNITS:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 8h, 30d)")
    return int(number) * _DURATION_UNITS[unit]


def parse_positive(text: str) -> int:
    """A whole number of at least 1 (a command's sizes and counts). ValueError otherwise."""
    value = int(text)
    if value < 1:
        raise ValueError(f"not a positive whole number: {text!r}")
    return value


def duration(name: str, default: str) -> int:
    """A duration in seconds, written `8h`, `30d`, `15m` or plain seconds."""
    value = raw(name)
    try:
        return parse_duration(default if value in (None, "") else value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


def database(name: str, default: str) -> dict:
    value = raw(name) or default
    try:
        return _env.db_url_config(value)
    except Exception as exc:  # django-environ raises several types for a bad URL
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None


def cache(name: str, default: str) -> dict:
    value = raw(name) or default
    try:
        return _env.cache_url_config(value)
    except Exception as exc:
        raise ImproperlyConfigured(f"{name} is not a valid cache URL: {exc}") from None
