"""A streaming multipart/form-data reader (RFC 7578) for POST /api/fileshare/items.

Django's MultiPartParser copies every chunk of a file two or three times into new ~1 MiB buffers
(LazyStream joins and ungets, BoundaryIter slices). With glibc's default allocator settings those
buffers go back to the kernel and are faulted in again on every chunk: parsing alone took 1.2 s of
CPU per GiB (docs/BENCHMARKS.md, "Upload"). This reader looks for the delimiter with bytes.find in
the chunks the server hands over and passes memoryview slices of them on: the file's bytes are never
copied in Python, and parsing a GiB takes 0.09 s.

Strict: a body that breaks the grammar (no delimiter, truncated, oversized part headers, an
encoded part; also transport padding after a delimiter, which RFC 2046 allows and no browser
sends) is a 400, and so is a body cut off by a client that went away. Otherwise it reads a body
as Django's parser does (tests/fileshare/test_multipart.py compares the two): the same header
parsing, file-name sanitizing, parts skipped or kept, and limits (DATA_UPLOAD_MAX_MEMORY_SIZE,
DATA_UPLOAD_MAX_NUMBER_FIELDS; every part, skipped or not, counts against fields + files).
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict
from django.http.multipartparser import MultiPartParser
from django.utils.datastructures import MultiValueDict
from django.utils.encoding import force_str
from django.utils.http import parse_header_parameters

from agepar.body_deadline import timed_out
from agepar.errors import AppError, RequestTimeout

CRLF = b"\r\n"
# The headers of one part, counted as Django counts them: room for a long file name, which is stored
# shortened (fileshare.uploads.clean_name), where Django's 1 KiB would refuse the whole body.
MAX_HEADER_SIZE = 4096
IDENTITY_ENCODINGS = ("7bit", "8bit", "binary")


def malformed(reason: str) -> AppError:
    return AppError(f"Corpo multipart inválido: {reason}.", "parse_error")


def _hold_from(buf: bytes, delimiter: bytes, pos: int) -> int:
    """Where, among buf's last bytes, a delimiter could begin that the next chunk would complete (else len(buf))."""
    start = max(pos, len(buf) - len(delimiter) + 1)
    while (start := buf.find(delimiter[:1], start)) != -1:
        if delimiter.startswith(buf[start:]):
            return start
        start += 1
    return len(buf)


class _Body:
    """The request body read chunk by chunk, with a cursor (`buf`, `pos`) on the current chunk."""

    def __init__(self, stream, chunk_size: int):
        self._read = stream.read
        self.chunk_size = chunk_size
        # The first delimiter has no line break before it (RFC 2046 "dash-boundary"): pretend it has
        # one, so every delimiter is CRLF--boundary and the preamble is just a part without headers.
        self.buf, self.pos = CRLF, 0

    def _extend(self) -> None:
        try:
            chunk = self._read(self.chunk_size)
        except OSError as exc:  # the client went away mid-body (Django's UnreadablePostError, gunicorn's NoMoreData)
            if timed_out(exc):  # or was too slow (agepar.body_deadline)
                raise RequestTimeout() from None
            raise malformed("o envio foi interrompido") from None
        if not chunk:
            raise malformed("o corpo termina antes do delimitador final")
        # Nothing left in buf (the usual case) makes this `chunk` itself, not a copy.
        self.buf, self.pos = self.buf[self.pos:] + chunk, 0

    def peek(self, size: int) -> bytes:
        while len(self.buf) - self.pos < size:
            self._extend()
        return self.buf[self.pos:self.pos + size]

    def headers(self) -> bytes:
        """The header lines of a part, up to the blank line that ends them (consumed with them)."""
        if self.peek(2) == CRLF:
            self.pos += 2
            return b""
        window = MAX_HEADER_SIZE - len(CRLF)  # Django's limit counts the CRLF of the delimiter line too
        while (end := self.buf.find(CRLF + CRLF, self.pos, self.pos + window)) == -1:
            if len(self.buf) - self.pos >= window:
                raise malformed("cabeçalhos de uma parte grandes demais")
            self._extend()
        block, self.pos = self.buf[self.pos:end], end + 4
        return block

    def until(self, delimiter: bytes):
        """Yield the bytes before the next `delimiter` as memoryviews of the chunks read; skip the delimiter."""
        while (found := self.buf.find(delimiter, self.pos)) == -1:
            # The last few bytes may begin a delimiter: they stay for the next round, joined to the next
            # chunk (a small copy, and rare: only when the chunk ends with a prefix of the delimiter).
            end = _hold_from(self.buf, delimiter, self.pos)
            if end > self.pos:
                yield memoryview(self.buf)[self.pos:end]
            self.pos = end
            self._extend()
        if found > self.pos:
            yield memoryview(self.buf)[self.pos:found]
        self.pos = found + len(delimiter)

    def drain(self) -> None:
        self.buf, self.pos = b"", 0
        while self._read(self.chunk_size):
            pass


def parts(stream, boundary: bytes, chunk_size: int):
    """Yield (headers, data) per part: headers as Django's parser keeps them, data an iterator of memoryviews.

    `data` must be consumed (or abandoned) before the next part is asked for; what is left of it is skipped.
    """
    body = _Body(stream, chunk_size)
    delimiter = CRLF + b"--" + boundary
    for _ in body.until(delimiter):  # the preamble, ignored
        pass
    while (after := body.peek(2)) != b"--":
        if after != CRLF:
            raise malformed("delimitador seguido de bytes inesperados")
        body.pos += 2
        block = body.headers()
        if delimiter in CRLF + block:
            raise malformed("uma parte sem linha em branco depois dos cabeçalhos")
        headers = {}
        for line in block.split(CRLF):
            try:
                main, params = parse_header_parameters(line.decode())
                name, value = main.split(":", 1)
            except ValueError:  # an unreadable header line is skipped, as in Django
                continue
            headers[name] = value, {key: param.encode() for key, param in params.items()}
        data = body.until(delimiter)
        yield headers, data
        for _ in data:
            pass
    body.drain()  # the epilogue, ignored


def _field_value(data, budget: int | None) -> bytes:
    """A text field's bytes; RequestDataTooBig past `budget`, before holding much more than that."""
    value = bytearray()
    for piece in data:
        value += piece
        if budget is not None and len(value) > budget:
            break
    if budget is not None and len(value) > budget:
        raise RequestDataTooBig("The form fields exceeded DATA_UPLOAD_MAX_MEMORY_SIZE.")
    return bytes(value)


def _part_limit() -> int | None:
    fields, files = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS, settings.DATA_UPLOAD_MAX_NUMBER_FILES
    return None if fields is None or files is None else fields + files


def parse(stream, boundary: bytes, encoding: str, handler) -> tuple[QueryDict, MultiValueDict]:
    """(POST, FILES) of a multipart body, files through `handler` (an upload handler); raises 400s."""
    post, files = QueryDict(mutable=True), MultiValueDict[str, UploadedFile]()
    field_count = field_bytes = 0
    max_parts = _part_limit()
    for count, (headers, data) in enumerate(parts(stream, boundary, handler.chunk_size), 1):
        if max_parts is not None and count > max_parts:
            # Parts that are skipped (no name, a file name that sanitizes to nothing) count too: each
            # costs parsing, and a body of nothing but tiny skipped parts would cost seconds of CPU.
            raise TooManyFieldsSent("The number of multipart parts exceeded the fields and files limits.")
        disposition = headers.get("content-disposition", (None, {}))[1]
        is_file = bool(disposition.get("filename"))
        if not is_file and settings.DATA_UPLOAD_MAX_NUMBER_FIELDS is not None:
            field_count += 1
            if field_count > settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:
                raise TooManyFieldsSent("The number of POST fields exceeded DATA_UPLOAD_MAX_NUMBER_FIELDS.")
        if "name" not in disposition:
            continue  # no name (or no Content-Disposition at all): Django skips the part too
        if headers.get("content-transfer-encoding", ("binary",))[0].strip().lower() not in IDENTITY_ENCODINGS:
            raise malformed("Content-Transfer-Encoding não suportado")
        name = force_str(disposition["name"].strip(), encoding, errors="replace")
        if not is_file:
            # Django counts the name, the value and 2 (for "&=") of every field against the limit.
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            value = _field_value(data, None if limit is None else limit - field_bytes - len(name) - 2)
            field_bytes += len(value) + len(name) + 2
            post.appendlist(name, force_str(value, encoding, errors="replace"))
            continue
        # Django's own sanitizing (it reads no parser state), so names come out exactly as before.
        raw_name = force_str(disposition["filename"], encoding, errors="replace")
        file_name = MultiPartParser.sanitize_file_name(None, raw_name)  # type: ignore[arg-type]  # no parser state
        if not file_name:
            continue
        content_type, extra = headers.get("content-type", ("", {}))
        handler.new_file(name, file_name, content_type.strip(), None, extra.get("charset"), extra)
        size = 0
        for piece in data:
            handler.receive_data_chunk(piece, size)
            size += len(piece)
        files.appendlist(name, handler.file_complete(size))
    post._mutable = False
    return post, files
