"""A deadline on reading a request body, so a slow client cannot hold a gunicorn thread for long.

gunicorn (gthread) has no body-read timeout: a client that declares 100 KB and sends one byte every
2 s keeps the thread that reads it for days, and eight such clients take every thread of a default
deployment (issue 14 item 12). nginx in front (deploy/nginx) buffers bodies and is the real defence;
this bounds what reaches gunicorn directly. A body must arrive within
REQUEST_BODY_TIMEOUT + Content-Length / REQUEST_BODY_MIN_RATE seconds of its first read, so a large
upload on a fair link still has the time it needs. Past the deadline a read raises RequestBodyTimeout
(an OSError, which Django turns into UnreadablePostError), answered 408 by the API.
"""

import contextlib
import socket
import threading


class RequestBodyTimeout(TimeoutError):
    """The request body did not arrive within its deadline."""


def timed_out(exc: BaseException) -> bool:
    """Whether a failed body read (Django wraps it in UnreadablePostError) was the deadline."""
    cause: BaseException | None = exc
    while cause is not None:  # request.body re-raises read()'s UnreadablePostError: two links
        if isinstance(cause, RequestBodyTimeout):
            return True
        cause = cause.__cause__
    return False


class _DeadlineInput:
    """wsgi.input with a deadline, armed at the first read.

    A socket timeout cannot bound it: gunicorn's read(n) loops over recv() until it has n bytes, and a
    trickle of one byte a second never lets one recv() time out. So a timer shuts the reading side of
    the client socket (environ["gunicorn.socket"]) when the deadline passes: the blocked recv() returns,
    the read fails with RequestBodyTimeout, and the answer can still be written.
    """

    def __init__(self, stream, sock, seconds: float):
        self._stream, self._sock, self._seconds = stream, sock, seconds
        self._timer: threading.Timer | None = None
        self.expired = False

    def _expire(self) -> None:
        self.expired = True
        if self._sock is not None:
            with contextlib.suppress(OSError):  # the client may be gone already
                self._sock.shutdown(socket.SHUT_RD)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _call(self, method, *args):
        if self._timer is None:
            self._timer = threading.Timer(self._seconds, self._expire)
            self._timer.daemon = True
            self._timer.start()
        if self.expired:
            raise RequestBodyTimeout("request body deadline passed")
        try:
            data = method(*args)
        except OSError as exc:
            if self.expired:
                raise RequestBodyTimeout("request body deadline passed") from exc
            raise
        if self.expired:  # the read came back short: the socket was shut under it
            raise RequestBodyTimeout("request body deadline passed")
        return data

    def read(self, *args):
        return self._call(self._stream.read, *args)

    def readline(self, *args):
        return self._call(self._stream.readline, *args)

    def readlines(self, *args):
        return self._call(self._stream.readlines, *args)

    def __iter__(self):
        return iter(self.readline, b"")


class BodyDeadline:
    """WSGI middleware (agepar/wsgi.py) putting the deadline on every request that declares a body."""

    def __init__(self, app, *, timeout: float, min_rate: int):
        self.app, self.timeout, self.min_rate = app, timeout, min_rate

    def __call__(self, environ, start_response):
        length = environ.get("CONTENT_LENGTH") or ""
        if not (self.timeout and length.isdigit() and int(length) > 0):
            return self.app(environ, start_response)
        seconds = self.timeout + (int(length) / self.min_rate if self.min_rate else 0)
        body = environ["wsgi.input"] = _DeadlineInput(environ["wsgi.input"], environ.get("gunicorn.socket"), seconds)
        try:
            return self.app(environ, start_response)
        finally:  # the application has read what it will read (a streamed answer does not read the body)
            body.cancel()
