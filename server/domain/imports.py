"""Reading import files (CSV, XLSX) of customers, venues, orders with units, and units.

Columns are found by their header, in English or Chinese, in any order; unknown columns
are reported, missing required ones refuse the file. Cells are read as text: a cell
holding "=SUM(A1)" or "+86..." is that text (an XLSX formula is read as its formula text,
never evaluated), so nothing a file says runs anywhere. Templates for each kind are
written here too. No database, no HTTP.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from server.domain.text import N_, Message

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 20_000


@dataclass(frozen=True)
class Column:
    field: str
    english: str
    chinese: str
    required: bool = False
    example: str = ""


COLUMNS: dict[str, tuple[Column, ...]] = {
    "customers": (
        Column("name", "Customer name", "客户名称", True, "星耀直播传媒"),
        Column("phone", "Customer phone", "客户电话", True, "021-55550000"),
        Column("contact_name", "Contact name", "联系人", False, "李娜"),
        Column("contact_phone", "Contact phone", "联系人电话", False, "13800138000"),
    ),
    "venues": (
        Column("customer_name", "Customer name", "客户名称", True, "星耀直播传媒"),
        Column("customer_phone", "Customer phone", "客户电话", True, "021-55550000"),
        Column("name", "Venue name", "场地名称", True, "上海大剧院"),
        Column("address", "Address", "地址", True, "黄浦区人民大道300号"),
        Column("region", "Region", "区域", True, "urban"),
        Column("lat", "Latitude", "纬度", True, "31.228611"),
        Column("lon", "Longitude", "经度", True, "121.475968"),
        Column("datum", "Datum", "坐标系", True, "GCJ-02"),
        Column("radius_m", "Check-in radius (m)", "签到半径(米)", False, "300"),
    ),
    "orders": (
        Column("order_no", "Order number", "订单号", True, "RO-2026-12-0001"),
        Column("customer_name", "Customer name", "客户名称", True, "星耀直播传媒"),
        Column("customer_phone", "Customer phone", "客户电话", True, "021-55550000"),
        Column("contact_name", "Contact name", "联系人", False, "李娜"),
        Column("contact_phone", "Contact phone", "联系人电话", False, "13800138000"),
        Column("venue", "Venue name", "场地名称", False, "上海大剧院"),
        Column("scenario", "Usage scenario", "使用场景", False, "跨年晚会直播"),
        Column("starts_at", "Start", "开始时间", False, "2026-12-31 18:00"),
        Column("ends_at", "End", "结束时间", False, "2027-01-01 02:00"),
        Column("units", "Asset tags", "设备资产编号", False, "CAM-0001; ENC-0002"),
    ),
    "units": (
        Column("asset_tag", "Asset tag", "资产编号", True, "CAM-0001"),
        Column("device_type", "Device type", "设备类型", True, "camera"),
        Column("model", "Model", "型号", True, "Sony PXW-Z280"),
        Column("depot", "Depot", "仓库", False, "徐汇应急备件库"),
        Column("status", "Status", "状态", False, "reserve"),
    ),
}
KINDS = tuple(COLUMNS)


class FileRefused(Exception):
    """The whole file cannot be read: the reason for the user."""

    def __init__(self, message: Message) -> None:
        self.message = message
        super().__init__(message.msgid)


def _key(header: Any) -> str:
    value = "" if header is None else str(header)
    return "".join(value.lower().replace("_", " ").replace("（", "(").replace("）", ")").split())


def header_map(kind: str, headers: list[Any]) -> tuple[dict[int, Column], list[str]]:
    """Column index -> Column, and the headers nobody knows (reported, then ignored).
    Raises FileRefused when a required column is missing."""
    names: dict[str, Column] = {}
    for column in COLUMNS[kind]:
        for alias in (column.english, column.chinese, column.field):
            names[_key(alias)] = column
    found: dict[int, Column] = {}
    unknown: list[str] = []
    for i, header in enumerate(headers):
        column = names.get(_key(header))
        if column is None:
            if _key(header):
                unknown.append(str(header))
        elif column not in found.values():
            found[i] = column
    missing = [c for c in COLUMNS[kind] if c.required and c not in found.values()]
    if missing:
        raise FileRefused(Message(N_("Required columns are missing: {columns}."),
                                  {"columns": ", ".join(f"{c.chinese} / {c.english}" for c in missing)}))
    return found, unknown


def read_table(filename: str, content: bytes) -> Iterator[list[Any]]:
    """The file's rows (the header first) as lists of cell values."""
    if len(content) > MAX_BYTES:
        raise FileRefused(Message(N_("The file is larger than {mb} MB."), {"mb": MAX_BYTES // 2**20}))
    name = filename.lower()
    if name.endswith(".xlsx"):
        return _xlsx_rows(content)
    if name.endswith((".csv", ".txt")):
        return _csv_rows(content)
    raise FileRefused(Message(N_("Upload a .csv or .xlsx file.")))


def _csv_rows(content: bytes) -> Iterator[list[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FileRefused(Message(N_("The file is not UTF-8 or GB18030 text.")))
    yield from csv.reader(io.StringIO(text, newline=""))


def _xlsx_rows(content: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except Exception as exc:  # zipfile/openpyxl raise many kinds for a broken file
        raise FileRefused(Message(N_("This is not a readable XLSX file."))) from exc
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        book.close()


def rows_of(kind: str, filename: str, content: bytes
            ) -> tuple[list[tuple[int, dict[str, Any]]], list[str], dict[str, str]]:
    """(row number, field -> value) for each non-empty row, the unknown headers, and
    field -> the header as written (to name the column in a refusal)."""
    table = read_table(filename, content)
    headers = next(table, None)
    if headers is None:
        raise FileRefused(Message(N_("The file is empty.")))
    found, unknown = header_map(kind, list(headers))
    written = {column.field: str(headers[i]).strip() for i, column in found.items()}
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, cells in enumerate(table, start=2):
        if not any(c not in (None, "") and str(c).strip() for c in cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise FileRefused(Message(N_("At most {n} rows per file."), {"n": MAX_ROWS}))
        rows.append((number, {col.field: cells[i] if i < len(cells) else None
                              for i, col in found.items()}))
    return rows, unknown, written


def template(kind: str, fmt: str, chinese: bool = True) -> bytes:
    """A file with the headers and one example row."""
    columns = COLUMNS[kind]
    headers = [c.chinese if chinese else c.english for c in columns]
    example = [c.example for c in columns]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(headers)
        writer.writerow(example)
        return buf.getvalue().encode("utf-8-sig")  # the BOM lets Excel read Chinese
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = kind
    sheet.append(headers)
    sheet.append(example)
    for cell in sheet[2]:
        cell.number_format = "@"  # text: Excel keeps leading zeros and "+86"
        cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
