"""Content type from the first bytes of a file; the client's claim is never trusted.

Only the types the portal shares are recognised; anything that a browser could run
(HTML, SVG, scripts) or an operating system could execute is named so it can be refused.
"""

import re

SNIFF_BYTES = 8192

OOXML = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
OLE = {".doc": "application/msword", ".xls": "application/vnd.ms-excel", ".ppt": "application/vnd.ms-powerpoint"}
ODF = (b"application/vnd.oasis.opendocument.text", b"application/vnd.oasis.opendocument.spreadsheet",
       b"application/vnd.oasis.opendocument.presentation")

# Extensions a downloaded file may keep for each type; any other gets the first one appended,
# so "fatura.html" holding plain text is saved as "fatura.html.txt" and never opens as a page.
EXTENSIONS = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "application/zip": (".zip",),
    "text/plain": (".txt", ".text", ".log", ".md", ".json"),
    "text/csv": (".csv",),
    "application/vnd.oasis.opendocument.text": (".odt",),
    "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
    "application/vnd.oasis.opendocument.presentation": (".odp",),
    **{ctype: (ext,) for ext, ctype in OOXML.items()},
    **{ctype: (ext,) for ext, ctype in OLE.items()},
}

# What browsers treat as markup when they sniff (WHATWG MIME sniffing, "text/html" patterns).
_HTML_START = re.compile(
    rb"<(!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--|svg|object|embed)"
    rb"[\s>/]", re.IGNORECASE)
_MARKUP_ANYWHERE = re.compile(rb"<(script|html|iframe|svg|object|embed|body)[\s>/]|javascript:", re.IGNORECASE)
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def _text_type(head: bytes, name: str, complete: bool) -> str | None:
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    if _CONTROL.search(body):
        return None
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The sniffed window may cut a multi-byte character in two; that is not an error.
        if complete or exc.start < len(body) - 3:
            try:
                body.decode("cp1252")
            except UnicodeDecodeError:
                return None
    return "text/csv" if _extension(name) == ".csv" else "text/plain"


def sniff(head: bytes, name: str, *, complete: bool) -> str:
    """The content type of a file starting with `head` (at most SNIFF_BYTES of it).

    `complete` says `head` is the whole file, so a truncated character at its end is real.
    """
    ext = _extension(name)
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        # ODF stores an uncompressed "mimetype" entry first; OOXML is only known by its name.
        if head[30:38] == b"mimetype":
            for odf in ODF:
                if head[38:38 + len(odf)] == odf:
                    return odf.decode()
        return OOXML.get(ext, "application/zip")
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return OLE.get(ext, "application/x-ole-storage")
    if head.startswith(b"MZ"):
        return "application/x-msdownload"
    if head.startswith(b"\x7fELF"):
        return "application/x-executable"
    if head[:4] in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
                    b"\xca\xfe\xba\xbe"):
        return "application/x-mach-binary"
    if head.startswith(b"#!"):
        return "text/x-shellscript"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n\x0c")
    if stripped.startswith(b"<?xml"):
        return "image/svg+xml" if b"<svg" in head.lower() else "application/xml"
    if _HTML_START.match(stripped) or _MARKUP_ANYWHERE.search(head):
        return "text/html"
    return _text_type(head, name, complete) or "application/octet-stream"


def safe_download_name(name: str, content_type: str, *, max_length: int) -> str:
    """`name` with an extension that matches its sniffed type (see EXTENSIONS), within `max_length`."""
    allowed = EXTENSIONS.get(content_type)
    if not allowed or _extension(name) in allowed:
        return name[:max_length]
    return name[: max_length - len(allowed[0])] + allowed[0]
