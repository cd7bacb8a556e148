"""Text that leaves the system in a spreadsheet is text, never a formula (issue 11).

A person or customer name such as ``=HYPERLINK("http://evil","click")`` or ``@SUM(...)``
must not run when the manager opens an export.

- CSV: the OWASP "CSV injection" rule: a text cell starting with ``=``, ``+``, ``-``,
  ``@``, tab or carriage return gets a leading single quote, so spreadsheet programs show
  it as text (the csv module then quotes the cell as needed). Numbers stay numbers.
- XLSX: openpyxl's own cell data type: every text cell is written with data type
  ``s`` (string), so ``=...`` is stored as a string, never as a formula (``f``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection


def csv_cell(value: Any) -> Any:
    """One CSV cell: text that a spreadsheet would read as a formula gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]


def xlsx_append(ws: Any, values: Iterable[Any]) -> None:
    """Append a row to an openpyxl worksheet with every text cell typed string ('s')."""
    from openpyxl.cell.cell import TYPE_STRING

    values = list(values)
    ws.append(values)
    row = ws.max_row
    for col, value in enumerate(values, start=1):
        if isinstance(value, str):
            cell = ws.cell(row=row, column=col)
            cell.value = value
            cell.data_type = TYPE_STRING
