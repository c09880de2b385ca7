"""Streamed CSV downloads (the audit export of the API, the admin's changelist exports)."""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import date, time

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control

# Cells starting with these are run as formulas by spreadsheets; actor labels and targets can
# come from untrusted input (the identifier typed at a failed login), so they are neutralised.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FLUSH_AT = 64 * 1024


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    elif isinstance(value, date | time):  # datetime is a date
        text = value.isoformat()
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_chunks(rows: Iterable, header: tuple[str, ...]) -> Iterator[bytes]:
    """Encoded CSV in chunks of about 64 KiB: the BOM and header first, then one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    # The BOM makes Excel (what most auditors open this with) read the file as UTF-8.
    buffer.write("\ufeff")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
        if buffer.tell() >= _FLUSH_AT:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()




def csv_download(rows: Iterable, header: tuple[str, ...], name: str) -> StreamingHttpResponse:
    """`rows` streamed as `<name>-<timestamp>.csv`, never cached."""
    response = StreamingHttpResponse(csv_chunks(rows, header), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    patch_cache_control(response, private=True, no_store=True)
    return response
