"""fileshare.multipart against Django's MultiPartParser: same results on valid bodies, 400 on malformed ones.

Every valid body is parsed by both, read in pieces of many sizes (so each delimiter is split across
reads at every offset). Malformed bodies must raise a 400 `parse_error`, never anything else.
"""

import contextlib
import random

import pytest
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.files.uploadhandler import FileUploadHandler
from django.http import multipartparser
from django.http.multipartparser import MultiPartParser, MultiPartParserError

from agepar.errors import AppError
from fileshare import multipart

B = "b0und4ry-1234"
READ_SIZES = [1, 2, 3, 5, 17, 64, 4096, 1 << 30]


@contextlib.contextmanager
def malformed(*, required: bool = True):
    """The body is refused as a 400 `parse_error` (with `required=False`: if it is refused at all)."""
    try:
        yield
    except AppError as exc:
        assert (exc.status, exc.code) == (400, "parse_error")
    else:
        assert not required, "the malformed body was accepted"


class Pieces:
    """A request stream that returns at most `size` bytes per read, like a socket."""

    def __init__(self, body: bytes, size: int):
        self.body, self.size, self.pos = body, size, 0
        self.chunks = []

    def read(self, n: int = -1) -> bytes:
        n = len(self.body) if n is None or n < 0 else n
        chunk = self.body[self.pos:self.pos + min(n, self.size)]
        self.pos += len(chunk)
        self.chunks.append(chunk)
        return chunk


class Received(tuple):
    def close(self):  # Django's parser closes the files it has when it fails
        pass


class Recorder(FileUploadHandler):
    """Keeps what each parser hands over: (field, file name, content type, charset, bytes) per file."""

    chunk_size = 64 * 1024

    def __init__(self):
        super().__init__()
        self.pieces = []

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        self.current = [field_name, file_name, content_type, charset, b""]

    def receive_data_chunk(self, raw_data, start):
        assert start == len(self.current[-1])
        self.pieces.append(raw_data)
        self.current[-1] += bytes(raw_data)

    def file_complete(self, file_size):
        assert file_size == len(self.current[-1])
        return Received(self.current)


def results(post, files) -> tuple[dict, dict]:
    return dict(post.lists()), dict(files.lists())


def ours(body: bytes, read_size: int = 1 << 30, boundary: str = B):
    return results(*multipart.parse(Pieces(body, read_size), boundary.encode(), "utf-8", Recorder()))


@pytest.fixture(autouse=True)
def django_with_our_header_limit(monkeypatch):
    # The reference parser gets our (larger) part-header limit; all else is as Django ships it.
    monkeypatch.setattr(multipartparser, "MAX_TOTAL_HEADER_SIZE", multipart.MAX_HEADER_SIZE)


def django(body: bytes, read_size: int = 1 << 30, boundary: str = B):
    meta = {"CONTENT_TYPE": f'multipart/form-data; boundary="{boundary}"',  "CONTENT_LENGTH": str(len(body))}
    return results(*MultiPartParser(meta, Pieces(body, read_size), [Recorder()]).parse())


def part(disposition: str | None, data: bytes, *headers: str | bytes) -> tuple[list[str | bytes], bytes]:
    lines = [f"Content-Disposition: {disposition}"] if disposition is not None else []
    return lines + list(headers), data


def field(name: str, value: bytes) -> tuple[list[str], bytes]:
    return part(f'form-data; name="{name}"', value)


def file(data: bytes, filename: str = "a.pdf", name: str = "file", *headers: str) -> tuple[list[str | bytes], bytes]:
    return part(f'form-data; name="{name}"; filename="{filename}"', data, "Content-Type: application/pdf", *headers)


class Raw(bytes):
    """A multipart body that knows its boundary."""

    boundary: str


def body(*parts, boundary: str = B, preamble: bytes = b"", epilogue: bytes = b"\r\n") -> Raw:
    out = [preamble]
    for headers, data in parts:
        out.append(f"--{boundary}\r\n".encode())
        out += [(h if isinstance(h, bytes) else h.encode()) + b"\r\n" for h in headers]
        out.append(b"\r\n" + data + b"\r\n")
    out.append(f"--{boundary}--".encode() + epilogue)
    raw = Raw(b"".join(out))
    raw.boundary = boundary
    return raw


DELIMITER = f"\r\n--{B}".encode()
# Django's limit counts the CRLF that ends the delimiter line, the header lines and the blank line;
# FILE_HEADERS is all of that for file() with an empty file name.
MAX_HEADERS = multipart.MAX_HEADER_SIZE
FILE_HEADERS = len(b"\r\n" + "\r\n".join(file(b"", "")[0]).encode() + b"\r\n\r\n")
NOISE = bytes(random.Random(7).randrange(256) for _ in range(3000)).replace(DELIMITER, b"")

VALID = {
    "field and file": body(field("ttl", b"7d"), file(b"%PDF-1.7\nconteudo")),
    "line breaks and dashes in the data": body(file(b"a\r\nb\r\n--\r\n-- \r\n\r\n--" + B[:-1].encode() + b"\r\n")),
    "data ending in each prefix of the delimiter": body(*(file(b"x" + DELIMITER[:n], name=f"f{n}")
                                                          for n in range(1, len(DELIMITER)))),
    "binary data over several reads": body(file(NOISE * 40), field("ttl", b"1d")),
    "empty file and empty field": body(file(b""), field("password", b"")),
    "preamble and epilogue": body(field("ttl", b"30d"), preamble=b"ignore me\r\n", epilogue=b"\r\nand me too"),
    "no parts": body(),
    "unicode names": body(field("cidade", "São Paulo".encode()),
                          part('form-data; name="file"; filename="relatório ç 中文.pdf"', b"x")),
    "RFC 2231 file name": body(part("form-data; name=\"file\"; filename*=UTF-8''rel%C3%A1t%C3%B3rio.pdf", b"x")),
    "path in the file name": body(file(b"1", "../../etc/passwd"), file(b"2", "..\\..\\win\\evil.txt", "g"),
                                  file(b"3", "C:\\Users\\a\\b.pdf", "h")),
    "quotes and entities in the file name": body(file(b"x", 'a \\"quoted\\" name.pdf'), file(b"y", "a&amp;b", "g")),
    "dot names and an empty file name": body(file(b"x", ".."), file(b"y", ".", "g"), file(b"z", "", "h")),
    "parts without a name or a disposition": body(part("form-data", b"no name"), field("ttl", b"1d"),
                                                  part(None, b"no disposition", "Content-Type: text/plain")),
    "repeated and unknown fields": body(field("ttl", b"1d"), field("ttl", b"7d"), field("x-extra", b"?")),
    "header names and parameters in any case": body(part('FORM-DATA; NAME="ttl"', b"1d"),
                                                    (['CONTENT-DISPOSITION: form-data; Name="file"; FILENAME="A.PDF"',
                                                      "content-type: Application/PDF; Charset=latin-1"], b"x")),
    "unreadable header lines are skipped": body(([b"X-Junk: \xff", 'Content-Disposition: form-data; name="ttl"'],
                                                 b"1d")),
    "identity transfer encodings": body(file(b"x", "a.pdf", "file", "Content-Transfer-Encoding: binary"),
                                        part('form-data; name="ttl"', b"1d", "Content-Transfer-Encoding: 8bit")),
    "a one-character boundary": body(file(b"-\r\n-x-"), boundary="x"),
    "a 70-character boundary with punctuation": body(file(b"data"), boundary="'()+_,-./:=? " * 5 + "abcde"),
    "part headers at Django's limit": body(file(b"x", "n" * (MAX_HEADERS - FILE_HEADERS))),
}


@pytest.mark.parametrize(("name", "read_size"), [
    (name, size) for name, raw in VALID.items() for size in READ_SIZES
    if size >= 64 or len(raw) < 20_000  # Django's parser is too slow on one-byte reads of a big body
])
def test_valid_bodies_read_as_django_reads_them(name, read_size):
    raw = VALID[name]
    expected = django(raw, read_size, raw.boundary)
    assert ours(raw, read_size, raw.boundary) == expected
    assert expected != ({}, {}) or name == "no parts"


def test_the_file_bytes_are_views_of_the_chunks_read_not_copies():
    handler, stream = Recorder(), Pieces(body(file(NOISE * 400)), 1 << 30)
    multipart.parse(stream, B.encode(), "utf-8", handler)
    chunks = {id(chunk) for chunk in stream.chunks}
    assert len(handler.pieces) > 10 and all(isinstance(piece, memoryview) for piece in handler.pieces)
    # The part starts in a chunk joined to the bytes before it; after that, no piece is a copy.
    viewed = sum(len(piece) for piece in handler.pieces if id(piece.obj) in chunks)
    assert viewed >= len(NOISE * 400) - Recorder.chunk_size


def test_a_delimiter_counts_only_at_the_start_of_a_line():
    # RFC 2046: the delimiter is CRLF "--" boundary. Django's parser would cut the file here.
    data = b"x--" + B.encode() + b"y"
    assert ours(body(file(data)))[1]["file"][0][-1] == data


@pytest.mark.parametrize("raw", [
    pytest.param(b"just some bytes", id="no delimiter"),
    pytest.param(f"--{B}".encode(), id="first delimiter and nothing else"),
    pytest.param(body(file(b"x"))[:-len(f"--{B}--\r\n")], id="no final delimiter"),
    pytest.param(body(file(b"x")).replace(f"--{B}\r\n".encode(), f"--{B} junk\r\n".encode()), id="junk after it"),
    pytest.param(body(file(b"x" + DELIMITER + b"X")), id="a longer boundary in the data"),
    pytest.param(body(file(b"x")).replace(b"\r\n", b"\n"), id="bare LF line breaks"),
    pytest.param(body(file(b"x", "n" * (MAX_HEADERS - FILE_HEADERS + 1))), id="part headers over the limit"),
    pytest.param(body(field("ttl", b"1d"), field("x", b"y")).replace(b'"ttl"\r\n\r\n', b'"ttl"\r\n'),
                 id="a part without the blank line after its headers"),
    pytest.param(f"--{B}\r\nContent-Disposition: form-data; name=\"a\"\r\n".encode() + b"x" * 10_000,
                 id="part headers never end"),
    pytest.param(body(file(b"eA==", "a.pdf", "file", "Content-Transfer-Encoding: base64")), id="base64 part"),
    pytest.param(body(part("form-data; name=\"file\"; filename*=nope''x.pdf", b"x")).replace(b"\r\n\r\n", b"\r\n"),
                 id="headers run into the data"),
])
@pytest.mark.parametrize("read_size", [1, 7, 1 << 30])
def test_malformed_bodies_are_400(raw, read_size):
    with malformed():
        ours(raw, read_size)


def test_part_headers_one_byte_over_the_limit_are_refused_by_both():
    raw = body(file(b"x", "n" * (MAX_HEADERS - FILE_HEADERS + 1)))
    with pytest.raises(MultiPartParserError):
        django(raw)
    with malformed():
        ours(raw)


def test_every_truncation_of_a_valid_body_is_400():
    raw = body(field("ttl", b"1d"), file(b"%PDF\r\n--" + B.encode()[:5] + b"\r\n" + NOISE[:300]))
    complete = raw.rindex(b"--") + 2  # past the final "--": the rest (epilogue) is optional
    for end in range(complete):
        with malformed():
            ours(raw[:end], read_size=13)
    assert ours(raw[:complete]) == django(raw[:complete])


def test_an_unknown_rfc_2231_charset_is_skipped_like_any_unreadable_header():
    raw = body(part("form-data; name=\"file\"; filename*=nope''x.pdf", b"x"), field("ttl", b"1d"))
    assert ours(raw) == ({"ttl": ["1d"]}, {})


def test_random_damage_never_raises_anything_but_a_400():
    rng = random.Random(2024)
    valid = list(VALID.values())
    for _ in range(400):
        original = rng.choice(valid)
        raw = bytearray(original[:20_000])
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(raw) + 1)
            action = rng.randrange(3)
            if action == 0:
                del raw[at:at + rng.randint(1, 40)]
            elif action == 1:
                raw[at:at] = rng.choice([b"\r\n", b"--", DELIMITER, b"\r\n\r\n", b";", b'"', bytes([at % 256])])
            else:
                raw[at:at + 1] = bytes([rng.randrange(256)])
        with malformed(required=False):
            ours(bytes(raw), rng.choice(READ_SIZES), original.boundary)


LIMIT = 2 * 1024 * 1024
OTHER_FIELD_BYTES = len("ttl") + len("1d") + 2 + len("fill") + 2  # Django counts name, value and 2 per field


@pytest.mark.parametrize("value_size", [LIMIT - OTHER_FIELD_BYTES, LIMIT - OTHER_FIELD_BYTES + 1])
def test_the_form_field_budget_is_djangos(settings, value_size):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    raw = body(field("ttl", b"1d"), field("fill", b"v" * value_size))
    outcomes = []
    for parse in (ours, django):
        try:
            outcomes.append(len(parse(raw, 4096)[0]["fill"][0]))
        except RequestDataTooBig:
            outcomes.append("too big")
    assert outcomes[0] == outcomes[1]
    assert outcomes[0] == ("too big" if value_size > LIMIT - OTHER_FIELD_BYTES else value_size)


@pytest.mark.parametrize("count", [5, 6])
def test_the_field_count_limit_is_djangos(settings, count):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    raw = body(*(field(f"f{i}", b"x") for i in range(count)), file(b"x"))
    outcomes = []
    for parse in (ours, django):
        try:
            outcomes.append(len(parse(raw)[0]))
        except TooManyFieldsSent:
            outcomes.append("too many")
    assert outcomes[0] == outcomes[1] == (5 if count == 5 else "too many")


@pytest.mark.parametrize("skipped", [4, 5])
def test_skipped_parts_count_against_the_limits(settings, skipped):
    # Parts without a name are read and skipped; unbounded, tiny ones would cost seconds of CPU.
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS, settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3, 2
    raw = body(*[part('form-data; filename="x.pdf"', b"x")] * skipped, file(b"x"))
    if skipped + 1 <= 5:
        assert len(ours(raw)[1]["file"]) == 1
    else:
        with pytest.raises(TooManyFieldsSent):
            ours(raw)


def test_a_client_that_goes_away_mid_body_is_a_400_not_a_500():
    from django.http import UnreadablePostError

    class Dropped:
        def __init__(self):
            self.reads = 0

        def read(self, size):
            self.reads += 1
            if self.reads > 1:
                raise UnreadablePostError("connection reset")
            return bytes(body(file(b"x" * 100)))[:50]

    with malformed():
        multipart.parse(Dropped(), B.encode(), "utf-8", Recorder())
