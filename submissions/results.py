"""Files produced by automation runs: stored through STORAGES under server-generated names.

A run's files are written before the transaction that records it as done; if anything fails in
between they are deleted again, and a crash in between leaves orphans that
`cleanup_submission_files` removes. Users only ever see the name the automation gave a file.
"""

import hashlib
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.core.files import File
from django.core.files.storage import default_storage

from agepar import blobs
from submissions.automations import ResultFile

PREFIX = "results"  # result blobs are named results/<yyyy>/<mm>/<uuid> (agepar.blobs)
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,149}$")
CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$")
MAX_FILES = 20
CHUNK = 1024 * 1024


class ResultTooLarge(Exception):
    """The run's files together exceed the automation's MAX_RESULT_SIZE."""


@dataclass(frozen=True)
class StoredFile:
    name: str
    storage_name: str
    size: int
    content_type: str
    sha256: str

    def listing(self) -> dict:
        """How the file appears in the submission's `result` (never its storage name)."""
        return {"name": self.name, "size": self.size, "content_type": self.content_type, "sha256": self.sha256}


def check(files: Sequence[ResultFile]) -> None:
    """An automation's files are well-formed (a programming error otherwise: ValueError)."""
    if len(files) > MAX_FILES:
        raise ValueError(f"a run may produce at most {MAX_FILES} files")
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise ValueError("two result files share a name")
    for f in files:
        if not FILE_NAME.match(f.name) or f.name in {".", ".."}:
            raise ValueError(f"result file name {f.name!r} is not letters, digits and ._-")
        if not CONTENT_TYPE.match(f.content_type):
            raise ValueError(f"result file content type {f.content_type!r} is not type/subtype")


def _chunks(content) -> Iterator[bytes]:
    if isinstance(content, bytes | bytearray | memoryview):
        yield bytes(content)
        return
    while chunk := content.read(CHUNK):
        yield chunk


def store(files: Sequence[ResultFile], *, max_size: int) -> list[StoredFile]:
    """Write every file (hashing it on the way) and return what was stored; all or nothing."""
    check(files)
    stored: list[StoredFile] = []
    total = 0
    try:
        for f in files:
            sha = hashlib.sha256()
            size = 0
            # Spooled first: the size limit holds before a byte reaches the storage, whatever the source.
            with tempfile.SpooledTemporaryFile(max_size=CHUNK) as spool:
                for chunk in _chunks(f.content):
                    size += len(chunk)
                    total += len(chunk)
                    if total > max_size:
                        raise ResultTooLarge
                    sha.update(chunk)
                    spool.write(chunk)
                spool.seek(0)
                name = default_storage.save(blobs.new_name(PREFIX), File(spool))
            stored.append(StoredFile(name=f.name, storage_name=name, size=size, content_type=f.content_type,
                                     sha256=sha.hexdigest()))
    except BaseException:
        blobs.delete(s.storage_name for s in stored)
        raise
    return stored


def blob_names() -> Iterator[str]:
    """Every result blob in the storage, oldest month first."""
    return blobs.names(PREFIX)
