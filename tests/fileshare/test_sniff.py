"""Content sniffing and name cleaning, byte by byte."""

import pytest

from fileshare.sniff import safe_download_name, sniff
from fileshare.uploads import clean_name

ODT = b"PK\x03\x04" + b"\x00" * 26 + b"mimetypeapplication/vnd.oasis.opendocument.text" + b"\x00" * 20


@pytest.mark.parametrize(("head", "name", "expected"), [
    (b"%PDF-1.4\n...", "a.pdf", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n....", "a.png", "image/png"),
    (b"\xff\xd8\xff\xe0..JFIF", "a.jpg", "image/jpeg"),
    (b"GIF89a....", "a.gif", "image/gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "a.webp", "image/webp"),
    (b"PK\x03\x04\x14\x00", "a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (b"PK\x03\x04\x14\x00", "a.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (b"PK\x03\x04\x14\x00", "a.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    (b"PK\x03\x04\x14\x00", "a.zip", "application/zip"),
    (b"PK\x03\x04\x14\x00", "a.exe", "application/zip"),
    (ODT, "a.odt", "application/vnd.oasis.opendocument.text"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a.doc", "application/msword"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a.xls", "application/vnd.ms-excel"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a.msi", "application/x-ole-storage"),
    (b"nome;valor\nana;1\n", "a.csv", "text/csv"),
    (b"ol\xc3\xa1 mundo\n", "a.txt", "text/plain"),
    ("olá, ação\n".encode("cp1252"), "a.txt", "text/plain"),
    (b"\xef\xbb\xbfcom BOM\n", "a.txt", "text/plain"),
    (b"MZ\x90\x00", "a.pdf", "application/x-msdownload"),
    (b"\x7fELF\x02", "a.txt", "application/x-executable"),
    (b"\xcf\xfa\xed\xfe\x07", "a.txt", "application/x-mach-binary"),
    (b"#!/usr/bin/env python\n", "a.txt", "text/x-shellscript"),
    (b"<!doctype html><p>", "a.pdf", "text/html"),
    (b"\n\n  <HTML>", "a.txt", "text/html"),
    (b"<a href=x>clique</a>", "a.txt", "text/html"),
    (b"texto normal\n<ScRiPt>alert(1)</script>", "a.txt", "text/html"),
    (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", "a.png", "image/svg+xml"),
    (b"<?xml version='1.0'?><nota/>", "a.xml", "application/xml"),
    (b"texto\x00com nul", "a.txt", "application/octet-stream"),
    (b"\x1b[31mescape\n", "a.txt", "application/octet-stream"),
])
def test_sniff(head, name, expected):
    assert sniff(head, name, complete=True) == expected


def test_a_multibyte_character_cut_by_the_sniff_window_is_still_text():
    head = ("a" * 8190 + "é").encode()[:8191]  # the "é" is cut in half
    assert sniff(head, "a.txt", complete=False) == "text/plain"


@pytest.mark.parametrize(("raw", "clean"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\ana\\relatório.pdf", "relatório.pdf"),
    ("a\x00b.pdf", "ab.pdf"),
    ("fatura\u202efdp.exe", "faturafdp.exe"),
    ("zero\u200bwidth.txt", "zerowidth.txt"),
    ("  .oculto. ", "oculto"),
    ("..", "arquivo"),
    ("", "arquivo"),
    ("nfd-relato\u0301rio.pdf", "nfd-relatório.pdf"),
])
def test_clean_name(raw, clean):
    assert clean_name(raw) == clean


def test_clean_name_shortens_to_255_and_keeps_the_extension():
    name = clean_name("x" * 1000 + ".xlsx")
    assert len(name) == 255 and name.endswith("x.xlsx")


@pytest.mark.parametrize(("name", "ctype", "expected"), [
    ("a.pdf", "application/pdf", "a.pdf"),
    ("a.html", "text/plain", "a.html.txt"),
    ("foto.JPEG", "image/jpeg", "foto.JPEG"),
    ("dados", "text/csv", "dados.csv"),
])
def test_safe_download_name(name, ctype, expected):
    assert safe_download_name(name, ctype, max_length=255) == expected


def test_safe_download_name_keeps_the_added_extension_within_the_column():
    # A 255-character name whose extension does not match gets one added: still 255 at most.
    name = safe_download_name("a" * 251 + ".pdf", "image/png", max_length=255)
    assert len(name) == 255 and name.endswith(".png")
