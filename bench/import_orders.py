"""Import speed (issue 14): the dry run of a file of 5,000 rental orders (goal: < 5 s),
CSV and XLSX, on a real SQLite file already holding 30 customers, 10,000 units and 1,000
orders; then "apply" of the first 1,000 orders in one transaction (apply has no goal).
Prints figures, asserts nothing.

Run: ``.venv/bin/python bench/import_orders.py [ORDERS] [APPLIED]``
"""

from __future__ import annotations

import csv
import io
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openpyxl import Workbook  # noqa: E402
from sqlmodel import Session  # noqa: E402

from server.actions import imports  # noqa: E402
from server.db import make_engine  # noqa: E402
from server.migrate import upgrade  # noqa: E402
from server.models import Customer, OrderLine, RentalOrder, Unit, Venue  # noqa: E402

ZONE = ZoneInfo("Asia/Shanghai")
REGIONS = ("urban", "suburban")
ORDERS = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
APPLY = min(ORDERS, int(sys.argv[2]) if len(sys.argv) > 2 else 1000)  # apply has no goal


def seed(engine) -> None:
    with Session(engine) as db:
        customers = [Customer(name=f"客户{i:02d}", phone=f"021-5555{i:04d}") for i in range(30)]
        db.add_all(customers)
        db.flush()
        db.add_all([Venue(customer_id=c.id, name=f"场地{c.id}", address="上海", lat=31.2,
                          lon=121.4, datum="GCJ-02", region="urban") for c in customers])
        units = [Unit(asset_tag=f"ENC-{i:05d}", device_type="encoder", model="S", status="reserve")
                 for i in range(12_000)]
        db.add_all(units)
        db.flush()
        for i in range(1000):  # orders already there, each with a unit (10,000+)
            order = RentalOrder(order_no=f"OLD-{i:05d}", customer_id=customers[i % 30].id)
            db.add(order)
            db.flush()
            db.add(OrderLine(order_id=order.id, unit_id=units[10_000 + i].id))
        db.commit()


def rows() -> list[list[str]]:
    out = [["订单号", "客户名称", "客户电话", "联系人", "联系人电话", "场地名称", "使用场景",
            "开始时间", "结束时间", "设备资产编号"]]
    for i in range(ORDERS):
        c = i % 30
        out.append([f"RO-2026-{i:05d}", f"客户{c:02d}", f"021-5555{c:04d}", "李娜",
                    f"138{i:08d}", f"场地{c + 1}", "直播", "2026-12-31 18:00", "2027-01-01 02:00",
                    f"ENC-{2 * i:05d}; ENC-{2 * i + 1:05d}"])
    return out


def as_csv(table) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(table)
    return buf.getvalue().encode("utf-8-sig")


def as_xlsx(table) -> bytes:
    book = Workbook()
    for row in table:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    url = f"sqlite:///{folder}/bench.db"
    upgrade(url)
    engine = make_engine(url)
    seed(engine)
    table = rows()
    files = {"csv": as_csv(table), "xlsx": as_xlsx(table)}
    print(f"file of {ORDERS} orders × 2 units: CSV {len(files['csv']) / 1024:.0f} KB, "
          f"XLSX {len(files['xlsx']) / 1024:.0f} KB")
    for fmt, content in files.items():
        times = []
        for _ in range(5):
            with Session(engine) as db:
                start = time.perf_counter()
                report = imports.dry_run(db, "orders", f"orders.{fmt}", content, REGIONS, ZONE)
                times.append(time.perf_counter() - start)
        print(f"dry run {fmt.upper()}: median {statistics.median(times):.2f} s, "
              f"max {max(times):.2f} s (goal < 5 s); {dict(report.counts)}")
    apply_rows = table[: APPLY + 1]
    with Session(engine) as db:
        upload = imports.keep_upload(db, None, "orders", "orders.csv", as_csv(apply_rows),
                                     datetime.now(UTC))
        db.commit()
        start = time.perf_counter()
        report = imports.apply(db, None, upload.id, REGIONS, ZONE, datetime.now(UTC), set())
        db.commit()
        took = time.perf_counter() - start
        print(f"apply CSV of {APPLY} orders (one transaction, every change audited): {took:.1f} s, "
              f"{1000 * took / APPLY:.0f} ms per order; {dict(report.counts)}")
    with Session(engine) as db:
        start = time.perf_counter()
        report = imports.dry_run(db, "orders", "orders.csv", files["csv"], REGIONS, ZONE)
        print("dry run again after apply (applied rows 'updated'): "
              f"{time.perf_counter() - start:.2f} s; {dict(report.counts)}")


if __name__ == "__main__":
    main()
