"""The upload handler of POST /api/fileshare/items: limits, hashing and sniffing while the body streams.

Django's default handlers keep small files in memory and spool big ones to disk before
anyone can look at them (the old portal checked the size only after the whole body had
arrived). This handler is the only one installed on the upload view; it reads the body itself
(fileshare.multipart, which copies nothing), writes every byte straight to a temporary file,
refuses the request as soon as the file passes FILESHARE_MAX_UPLOAD_SIZE or turns out to be of a
refused type, and hashes as it goes.
"""

import contextlib
import errno
import hashlib
import unicodedata
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from agepar.errors import InsufficientStorage, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from fileshare import multipart
from fileshare.sniff import SNIFF_BYTES, sniff

FIELD = "file"
# Room for the multipart framing around the file when Content-Length is checked before reading
# anything; the form fields themselves are bounded by DATA_UPLOAD_MAX_MEMORY_SIZE.
MULTIPART_FRAMING = 64 * 1024
NAME_MAX = 255
# SHA-256 (~0.6 s of CPU per GiB) runs here, one chunk behind: hashlib releases the GIL, so hashing a
# chunk overlaps with writing it and reading the next. Each upload has at most one chunk in flight.
HASHER = ThreadPoolExecutor(thread_name_prefix="upload-sha256")


def too_large() -> PayloadTooLarge:
    limit_mib = settings.FILESHARE_MAX_UPLOAD_SIZE / 1024**2
    return PayloadTooLarge(f"O arquivo passa do limite de {limit_mib:g} MiB.", code="too_large")


def clean_name(name: str) -> str:
    """A display/download name: no path, no control or bidi characters, at most NAME_MAX characters."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    # Cc = control characters (NUL, newlines); Cf = format characters (RTL override, zero-width).
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    name = name.strip(" .")
    if len(name) > NAME_MAX:
        dot = name.rfind(".")
        ext = name[dot:] if dot > 0 and len(name) - dot <= 16 else ""
        name = name[: NAME_MAX - len(ext)].rstrip(" .") + ext
    return name or "arquivo"


class StreamingUploadHandler(FileUploadHandler):
    """Accepts exactly one file in the field `file`; raises an AppError (413/415/507/400) otherwise."""

    # The size of each read from the request body (gunicorn does the least work per byte at about 1 MiB).
    chunk_size = 1024 * 1024

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = settings.FILESHARE_MAX_UPLOAD_SIZE
        self.upload = None
        self.content_type = ""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # A declared length over the limit is refused before a single body byte is read.
        overhead = (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) + MULTIPART_FRAMING
        if content_length and content_length > self.limit + overhead:
            raise too_large()
        # Returning (POST, FILES) replaces Django's MultiPartParser (see fileshare.multipart for why).
        return multipart.parse(input_data, boundary, encoding or settings.DEFAULT_CHARSET, self)

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        if field_name != FIELD or self.upload is not None:
            self.discard()
            raise InvalidInput({FIELD: ["Envie um único arquivo no campo 'file'."]}, "one_file")
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        self.sha256 = hashlib.sha256()
        self.hashing = None
        self.size = 0
        self.head = b""
        self.sniffed = False
        try:
            # Always on disk (FILE_UPLOAD_TEMP_DIR), whatever the size: memory use stays one chunk.
            # The temporary file's suffix comes from the name it is given: a long client "extension"
            # would make it longer than the file system allows (ENAMETOOLONG). The name is set after.
            self.upload = TemporaryUploadedFile("upload", "application/octet-stream", 0, None)
            self.upload.name = clean_name(file_name)
        except OSError as exc:
            self._storage_error(exc)

    def receive_data_chunk(self, raw_data, start):
        self.size += len(raw_data)
        if self.size > self.limit:
            self.discard()
            raise too_large()
        if not self.sniffed:
            self.head += raw_data[: SNIFF_BYTES - len(self.head)]
            if len(self.head) >= SNIFF_BYTES:
                self._check_type(complete=False)
        self._wait_for_hash()
        # raw_data is a view of bytes nobody changes (fileshare.multipart), safe to read on another thread.
        self.hashing = HASHER.submit(self.sha256.update, raw_data)
        try:
            self.upload.write(raw_data)
        except OSError as exc:
            self._storage_error(exc)
        return None

    def file_complete(self, file_size):
        if not self.sniffed:
            self._check_type(complete=True)
        self._wait_for_hash()
        try:
            self.upload.flush()
        except OSError as exc:
            self._storage_error(exc)
        self.upload.seek(0)
        self.upload.size = self.size
        self.upload.content_type = self.content_type
        self.upload.sha256 = self.sha256.hexdigest()
        return self.upload

    def _wait_for_hash(self):
        if self.hashing is not None:
            self.hashing.result()
            self.hashing = None

    def _check_type(self, *, complete: bool):
        self.sniffed = True
        self.content_type = sniff(self.head, self.upload.name, complete=complete)
        if self.content_type not in settings.FILESHARE_ALLOWED_TYPES:
            self.discard()
            raise UnsupportedMediaType("Tipo de arquivo não permitido.", code="unsupported_file_type")

    def _storage_error(self, exc: OSError):
        self.discard()
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InsufficientStorage() from exc
        raise exc

    def discard(self):
        """Close and delete the temporary file (a moved file is simply gone already)."""
        if self.upload is not None:
            with contextlib.suppress(OSError):
                self.upload.close()
            self.upload = None
