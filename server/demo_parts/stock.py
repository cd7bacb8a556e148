"""Demo customers, venues, depots, units and rental orders (D3, D13)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from server.demo_parts.data import (
    CUSTOMERS,
    DEPOTS,
    GCJ02_VENUES,
    GIVEN_NAMES,
    KIT,
    RESERVE_PER_TYPE,
    SCENARIOS,
    SURNAMES,
    UNIT_TYPES,
    VENUES,
)
from server.demo_parts.shapes import Order
from server.domain.geo import wgs84_to_gcj02
from server.models import (
    Contact,
    Customer,
    Depot,
    OrderLine,
    RentalOrder,
    Unit,
    Venue,
)


class StockMixin:
    # -- customers, contacts, venues ----------------------------------------------------

    def _customers_and_venues(self) -> None:
        rng = self.rng
        customers = self._add(
            [
                Customer(
                    name=name, phone=f"021-{rng.randint(5000, 6999)}{rng.randrange(10**4):04d}"
                )
                for name in CUSTOMERS
            ]
        )
        contacts: list[Contact] = []
        for c in customers:
            for _ in range(rng.choice([1, 1, 2])):
                name = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
                contacts.append(Contact(customer_id=c.id, name=name, phone=self._mobile()))
        self._add(contacts)
        venues = []
        for c, (name, address, lat, lon, region, radius) in zip(customers, VENUES, strict=True):
            datum = "GCJ-02" if name in GCJ02_VENUES else "WGS-84"
            if datum == "GCJ-02":
                lat, lon = wgs84_to_gcj02(lat, lon)
            venues.append(
                Venue(
                    customer_id=c.id,
                    name=name,
                    address=address,
                    lat=round(lat, 6),
                    lon=round(lon, 6),
                    datum=datum,
                    region=region,
                    radius_m=radius,
                )
            )
        self._add(venues)
        by_customer: dict[int, list[Contact]] = defaultdict(list)
        for contact in contacts:
            by_customer[contact.customer_id].append(contact)
        self.customers = [(c, by_customer[c.id], v) for c, v in zip(customers, venues, strict=True)]
        self.counts.update(customers=len(customers), contacts=len(contacts), venues=len(venues))

    # -- equipment: depots, units, rental orders (D13) ----------------------------------

    def _equipment(self) -> None:
        rng = self.rng
        depots = self._add(
            [Depot(name=n, address=a, region=r, lat=lat, lon=lon) for n, a, r, lat, lon in DEPOTS]
        )
        by_type: dict[str, list[Unit]] = {}
        units: list[Unit] = []
        for device_type, (prefix, count, models) in UNIT_TYPES.items():
            batch = [
                Unit(
                    asset_tag=f"{prefix}-{i:04d}",
                    device_type=device_type,
                    model=models[(i * 7 + rng.randrange(2)) % len(models)],
                    status="rented",
                )
                for i in range(1, count + 1)
            ]
            units.extend(batch)
            shuffled = batch[:]
            rng.shuffle(shuffled)
            by_type[device_type] = shuffled
        self._add(units)

        for device_type, pool in by_type.items():  # the emergency reserve, split between depots
            for i in range(RESERVE_PER_TYPE):
                unit = pool.pop()
                unit.status, unit.depot_id = "reserve", depots[i % 2].id
                self.reserve[device_type].append(unit)
        for device_type, status in (
            ("camera", "in_repair"),
            ("audio", "in_repair"),
            ("camera", "in_transit"),
            ("encoder", "in_transit"),
            ("mixer", "in_transit"),
        ):
            by_type[device_type].pop().status = status

        specs = self._order_specs()
        orders: list[Order] = []
        seq: dict[str, int] = defaultdict(int)
        for kind, starts, ends, (customer, contacts, venue) in specs:
            month = starts.astimezone(self.tz).strftime("%Y-%m")
            seq[month] += 1
            contact = rng.choice(contacts)
            row = RentalOrder(
                order_no=f"RO-{month}-{seq[month]:04d}",
                customer_id=customer.id,
                contact_id=contact.id,
                venue_id=venue.id,
                scenario=rng.choice(SCENARIOS),
                starts_at=starts,
                ends_at=ends,
            )
            orders.append(Order(row, customer, contact, venue, kind))
        self._add([o.row for o in orders])

        current = [o for o in orders if o.kind != "past"]
        rentable = sum(len(p) for p in by_type.values())
        sizes = [1] * len(current)
        for _ in range(rentable - len(current)):
            i = rng.choice([k for k, s in enumerate(sizes) if s < 5])
            sizes[i] += 1
        lines: list[OrderLine] = []
        for order, size in zip(current, sizes, strict=True):
            shipped = order.row.starts_at - self._minutes(120, 720)
            if order.kind == "upcoming":
                shipped = min(shipped, self.now - self._minutes(60, 1800))
            for k in range(size):
                want = KIT[k]
                if not by_type[want]:
                    want = max(by_type, key=lambda t: len(by_type[t]))
                unit = by_type[want].pop()
                line = OrderLine(order_id=order.row.id, unit_id=unit.id, added_at=shipped)
                order.lines.append((line, unit))
                lines.append(line)
        # Finished orders: their units came back to the reserve (closed lines only).
        spare = {t: pool[:] for t, pool in self.reserve.items()}
        for order in (o for o in orders if o.kind == "past"):
            for k in range(rng.randint(2, 4)):
                unit = spare[KIT[k]].pop()
                line = OrderLine(
                    order_id=order.row.id,
                    unit_id=unit.id,
                    added_at=order.row.starts_at - timedelta(hours=6),
                    removed_at=order.row.ends_at + timedelta(hours=6),
                )
                order.lines.append((line, unit))
                lines.append(line)
        self.swap_spares = spare  # reserve units never on an order: safe to swap in
        self._add(lines)
        self.orders = orders
        self.units = units
        self.counts.update(depots=len(depots), units=len(units), orders=len(orders))

    def _order_specs(self) -> list[tuple[str, datetime, datetime, tuple]]:
        rng, now = self.rng, self.now
        specs = []
        for i in range(40):  # ongoing: the first 30 visit every customer once
            who = self.customers[i] if i < 30 else rng.choice(self.customers)
            starts = now - timedelta(hours=rng.uniform(2, 33 * 24))
            specs.append(("ongoing", starts, now + timedelta(hours=rng.uniform(3, 240)), who))
        for _ in range(12):
            starts = now + timedelta(hours=rng.uniform(4, 144))
            specs.append(
                (
                    "upcoming",
                    starts,
                    starts + timedelta(hours=rng.uniform(24, 96)),
                    rng.choice(self.customers),
                )
            )
        for _ in range(8):
            starts = now - timedelta(hours=rng.uniform(12 * 24, 34 * 24))
            ends = min(starts + timedelta(hours=rng.uniform(24, 96)), now - timedelta(days=2))
            specs.append(("past", starts, ends, rng.choice(self.customers)))
        specs.sort(key=lambda s: s[1])
        return specs
