"""Documents for automations: a DOCX rendered from a template shipped in the repository (docxtpl),
and its PDF converted by LibreOffice headless.

The converter runs in its own process group, bounded by the run's deadline
(`automations.time_left()`), and is killed whole when it passes it: `soffice` is a wrapper that
starts `soffice.bin`, which killing the wrapper alone would leave running. One LibreOffice profile
directory per process, made on the first conversion and reused: a cold profile costs seconds, a
warm one a fraction of that; conversions of one process take turns on it (LibreOffice locks it).
"""

import atexit
import io
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

from docxtpl import DocxTemplate

from submissions.automations import AutomationError, RetryableAutomationError, time_left

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF = "application/pdf"
CONVERTERS = ("soffice", "libreoffice")
CONVERTER_TIMEOUT = 120  # seconds, at most; less when the run's deadline is nearer
NO_CONVERTER = ("Não foi possível gerar o PDF: o conversor (LibreOffice) não está instalado no servidor. "
                "Avise a equipe de TI.")

_profile_lock = threading.Lock()
_profile: tuple[int, str] | None = None  # (pid, directory): a forked child makes its own


def render_docx(template: Path, context: dict) -> bytes:
    """The template with `context` filled in; every value is escaped (user text cannot inject XML)."""
    document = DocxTemplate(str(template))
    document.render(context, autoescape=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _profile_dir() -> str:
    global _profile
    if _profile is None or _profile[0] != os.getpid():
        path = tempfile.mkdtemp(prefix="agepar-libreoffice-")
        atexit.register(shutil.rmtree, path, ignore_errors=True)
        _profile = (os.getpid(), path)
    return _profile[1]


def converter() -> str | None:
    return next((path for name in CONVERTERS if (path := shutil.which(name))), None)


def docx_to_pdf(docx: bytes) -> bytes:
    """The PDF of a DOCX. AutomationError when no converter is installed; RetryableAutomationError
    when it fails or passes its time (a passing failure: the run is tried again later)."""
    soffice = converter()
    if soffice is None:
        raise AutomationError(NO_CONVERTER)
    left = time_left()
    limit = CONVERTER_TIMEOUT if left is None else min(CONVERTER_TIMEOUT, left)
    if not _profile_lock.acquire(timeout=max(limit, 0.01)):
        raise RetryableAutomationError("O conversor de PDF está ocupado; nova tentativa em instantes.")
    try:
        profile = Path(_profile_dir()).as_uri()
        with tempfile.TemporaryDirectory(prefix="agepar-convert-") as work:
            source = Path(work) / "documento.docx"
            source.write_bytes(docx)
            # Every argument is ours: the converter found on PATH, our directories, no user text.
            process = subprocess.Popen(  # noqa: S603
                [soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--nologo",
                 "--nolockcheck", "--convert-to", "pdf", "--outdir", work, str(source)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                start_new_session=True, cwd=work)
            try:
                output, _ = process.communicate(timeout=limit)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                raise RetryableAutomationError("O conversor de PDF não terminou a tempo.") from None
            target = source.with_suffix(".pdf")
            if process.returncode != 0 or not target.exists():
                raise RetryableAutomationError("O conversor de PDF falhou.") from RuntimeError(
                    output.decode(errors="replace")[-2000:])
            return target.read_bytes()
    finally:
        _profile_lock.release()
