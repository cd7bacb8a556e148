"""Writing spreadsheet rows safely (openpyxl).

Text that starts with = + - @ tab or CR would be read by a spreadsheet program as a
formula (CSV/formula injection: a customer's comment '=HYPERLINK(...)' must stay text).
openpyxl turns any string starting with '=' into a formula cell, so every string is
written as a plain string cell here, whatever it starts with.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

RISKY_START = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def append(ws: Worksheet, row: Sequence[Any], bold: bool = False) -> None:
    """Append one row; strings are always string cells, never formulas."""
    r = ws.max_row + 1 if ws.max_row > 1 or ws.cell(1, 1).value is not None else 1
    for col, value in enumerate(row, start=1):
        cell = ws.cell(row=r, column=col)
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"  # openpyxl made '=...' a formula: keep it text
        if bold:
            cell.font = Font(bold=True)


def sheet(wb: Workbook, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]],
          widths: Sequence[int] = ()) -> Worksheet:
    ws = wb.create_sheet(title[:31])
    append(ws, header, bold=True)
    for row in rows:
        append(ws, row)
    for i, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    return ws


def to_bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
