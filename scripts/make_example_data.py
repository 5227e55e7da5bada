"""Generate the small e-commerce example data set used by the example manifests and the tests.

Run from the repository root::

    python scripts/make_example_data.py [--out DIR]

The output is fully deterministic: one ``random.Random(42)`` drives every choice, no clock is
read, and every column has an explicit Arrow type, so running the script twice (with the same
pyarrow version, which is recorded in the Parquet footer) yields byte-identical files.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

SEED = 42
DEFAULT_OUT = Path("manifests/data/ecommerce")

# Every timestamp lies in this window (naive values are read as UTC wall-clock time).
WINDOW_START = datetime(2020, 1, 1)
WINDOW_END = datetime(2026, 6, 30, 23, 59, 59)
# Orders stop a month early so that shipped_at (ordered_at + at most 10 days) stays in the window.
LAST_ORDER = datetime(2026, 5, 31)

N_CUSTOMERS = 200
CUSTOMER_SPLIT = 120  # rows in customers/part-0; the remaining 80 go to part-1
N_PRODUCTS = 50
N_ORDERS = 500
ORDER_SPLIT = 250

CENT = Decimal("0.01")
STATUSES = ("placed", "shipped", "delivered", "cancelled")

# Notes that trip up CSV/COPY/TSV encoders. Each appears at least once in orders.notes.
HARD_NOTES: tuple[str | None, ...] = (
    "Leave at the door, ring twice, then wait",
    'Marked "fragile" by the customer',
    "Customer's gift, don't show prices",
    "Quotes: 'single' and \"double\" together",
    "line one\nline two",
    "windows line one\r\nwindows line two",
    "C:\\Users\\shop\\invoice.pdf",
    "\\N",
    "NULL",
    "\\.",
    "before\n\\.\nafter",
    "Gift wrap please 🎁🎉",
    "tab\tseparated | pipe",
    "",
    None,
)
PLAIN_NOTES = ("Standard delivery", "Express delivery", "Call before delivery", "Deliver to reception")

FIRST_NAMES = ("Anna", "José", "Zoë", "François", "Søren", "Ólafur", "Mary", "John", "Priya", "Łukasz")
LAST_NAMES = ("Smith", "García", "Müller", "Dvořák", "Nguyễn", "O'Brien", "Çelik", "Kowalski")
# Written family name first, as in the source languages; no split into first/last.
CJK_NAMES = ("山田 太郎", "李小龍", "김민준", "王芳")
EMOJI_SUFFIXES = (" 😀", " 🚀", " 🌸")
COUNTRIES = ("US", "GB", "DE", "FR", "ES", "JP", "CN", "KR", "IN", "BR", "PL", "IS")

CATEGORIES = ("kitchen", "apparel", "electronics", "garden", "books")
PRODUCT_NOUNS = {
    "kitchen": ("Café Crème Mug", "Tasse à thé", "日本茶 セット", "Crème brûlée torch"),
    "apparel": ("Ünterhemd", "Jersey niño", "T-shirt 👕", "Écharpe"),
    "electronics": ("Headphones 🎧", "Câble USB-C", "充電器", "Smart plug"),
    "garden": ("Gießkanne", "Rosier", "Bonsai 盆栽", "Hose reel"),
    "books": ("Le Petit Prince", "Naïve Art", "三体", "Cookbook 🍝"),
}
COLORS = ("red", "green", "blue", "black", "white")
SIZES = ("S", "M", "L", "XL")
DISCOUNTS = (0.05, 0.1, 0.15, 0.2)

CUSTOMERS_SCHEMA = pa.schema([
    pa.field("customer_id", pa.int64(), nullable=False),
    pa.field("email", pa.string()),
    pa.field("full_name", pa.string()),
    pa.field("country", pa.string()),
    pa.field("signup_date", pa.date32()),
    pa.field("created_at", pa.timestamp("us")),
    pa.field("last_login_at", pa.timestamp("us", tz="UTC")),
    pa.field("is_active", pa.bool_()),
    pa.field("lifetime_value", pa.decimal128(12, 2)),
])
PRODUCTS_SCHEMA = pa.schema([
    pa.field("product_id", pa.int64(), nullable=False),
    pa.field("sku", pa.string()),
    pa.field("name", pa.string()),
    pa.field("category", pa.string()),
    pa.field("price", pa.decimal128(10, 2)),
    pa.field("weight_kg", pa.float64()),
    pa.field("in_stock", pa.bool_()),
    pa.field("attributes", pa.struct([("color", pa.string()), ("size", pa.string())])),
    pa.field("created_at", pa.timestamp("us")),
])
ORDERS_SCHEMA = pa.schema([
    pa.field("order_id", pa.int64(), nullable=False),
    pa.field("customer_id", pa.int64(), nullable=False),
    pa.field("status", pa.string()),
    pa.field("ordered_at", pa.timestamp("us", tz="UTC")),
    pa.field("shipped_at", pa.timestamp("us", tz="UTC")),
    pa.field("total", pa.decimal128(12, 2)),
    pa.field("notes", pa.string()),
])
ORDER_ITEMS_SCHEMA = pa.schema([
    pa.field("order_id", pa.int64(), nullable=False),
    pa.field("line_number", pa.int32(), nullable=False),
    pa.field("product_id", pa.int64(), nullable=False),
    pa.field("quantity", pa.int32()),
    pa.field("unit_price", pa.decimal128(10, 2)),
    pa.field("discount", pa.float64()),
])

Rows = list[dict[str, Any]]


def _rand_datetime(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A whole-second datetime uniformly drawn from [start, end]."""
    return start + timedelta(seconds=rng.randint(0, int((end - start).total_seconds())))


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    """A two-decimal amount between low and high (inclusive), drawn in cents."""
    return (Decimal(rng.randint(low * 100, high * 100)) * CENT).quantize(CENT)


def _customer_name(rng: random.Random, customer_id: int) -> str:
    """Mostly accented Latin names; every 9th is CJK, every 25th carries an emoji."""
    if customer_id % 9 == 0:
        name = rng.choice(CJK_NAMES)
    else:
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    if customer_id % 25 == 0:
        name += rng.choice(EMOJI_SUFFIXES)
    return name


def make_customers(rng: random.Random) -> Rows:
    """200 customers with ids 1..200."""
    rows: Rows = []
    for customer_id in range(1, N_CUSTOMERS + 1):
        created_at = _rand_datetime(rng, WINDOW_START, datetime(2025, 12, 31))
        last_login = None
        if rng.random() < 0.8:  # some customers never logged in after signing up
            last_login = _rand_datetime(rng, created_at, WINDOW_END).replace(tzinfo=UTC)
        rows.append({
            "customer_id": customer_id,
            "email": None if rng.random() < 0.1 else f"customer{customer_id:03d}@example.com",
            "full_name": _customer_name(rng, customer_id),
            "country": rng.choice(COUNTRIES),
            "signup_date": created_at.date(),
            "created_at": created_at,
            "last_login_at": last_login,
            "is_active": rng.random() < 0.85,
            "lifetime_value": _money(rng, 0, 25_000),
        })
    return rows


def make_products(rng: random.Random) -> Rows:
    """50 products; attributes and weight are sometimes unknown (NULL)."""
    rows: Rows = []
    for product_id in range(1, N_PRODUCTS + 1):
        category = CATEGORIES[(product_id - 1) % len(CATEGORIES)]
        attributes = None
        if rng.random() < 0.8:
            # A NULL size inside a non-NULL struct is a different case from a NULL struct.
            size = rng.choice(SIZES) if category == "apparel" else None
            attributes = {"color": rng.choice(COLORS), "size": size}
        rows.append({
            "product_id": product_id,
            "sku": f"SKU-{product_id:05d}",
            "name": f"{rng.choice(PRODUCT_NOUNS[category])} #{product_id}",
            "category": category,
            "price": _money(rng, 1, 999),
            "weight_kg": None if rng.random() < 0.15 else round(rng.uniform(0.05, 25.0), 3),
            "in_stock": rng.random() < 0.75,
            "attributes": attributes,
            "created_at": _rand_datetime(rng, WINDOW_START, datetime(2022, 12, 31)),
        })
    return rows


def _order_note(rng: random.Random, index: int) -> str | None:
    """Spread the hard notes over the orders every 17 rows; other rows get a plain note or NULL."""
    slot, remainder = divmod(index, 17)
    if remainder == 0 and slot < len(HARD_NOTES):
        return HARD_NOTES[slot]
    return rng.choice(PLAIN_NOTES) if rng.random() < 0.5 else None


def make_orders(rng: random.Random, products: Rows) -> tuple[Rows, Rows]:
    """500 orders and their line items; each order's total is the sum of its discounted lines."""
    prices = {p["product_id"]: p["price"] for p in products}
    orders: Rows = []
    items: Rows = []
    for index in range(N_ORDERS):
        order_id = 100_001 + index
        status = rng.choice(STATUSES)
        ordered_at = _rand_datetime(rng, WINDOW_START, LAST_ORDER)
        shipped_at = None
        if status in ("shipped", "delivered"):
            shipped_at = ordered_at + timedelta(days=rng.randint(0, 9), seconds=rng.randint(3600, 86_399))
        total = Decimal(0)
        # No product twice in one order, so (order_id, product_id) is unique too.
        for line_number, product_id in enumerate(rng.sample(sorted(prices), rng.randint(1, 5)), start=1):
            quantity = rng.randint(1, 4)
            discount = rng.choice(DISCOUNTS) if rng.random() < 0.3 else None
            unit_price = prices[product_id]
            total += quantity * unit_price * (1 - Decimal(str(discount or 0)))
            items.append({
                "order_id": order_id,
                "line_number": line_number,
                "product_id": product_id,
                "quantity": quantity,
                "unit_price": unit_price,
                "discount": discount,
            })
        orders.append({
            "order_id": order_id,
            "customer_id": rng.randint(1, N_CUSTOMERS),
            "status": status,
            "ordered_at": ordered_at.replace(tzinfo=UTC),
            "shipped_at": shipped_at.replace(tzinfo=UTC) if shipped_at else None,
            "total": total.quantize(CENT, rounding=ROUND_HALF_UP),
            "notes": _order_note(rng, index),
        })
    return orders, items


def _write(rows: Rows, schema: pa.Schema, path: Path, row_group_size: int) -> Path:
    """Write rows with the given explicit schema; small row groups so readers see several."""
    table = pa.Table.from_pylist(rows, schema=schema)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, coerce_timestamps="us", compression="zstd", row_group_size=row_group_size)
    return path


def generate(out_dir: Path) -> list[Path]:
    """Write every example file below out_dir and return their paths, in a fixed order."""
    rng = random.Random(SEED)
    # The generation order is part of the output: changing it changes every file.
    customers = make_customers(rng)
    products = make_products(rng)
    orders, items = make_orders(rng, products)
    return [
        _write(customers[:CUSTOMER_SPLIT], CUSTOMERS_SCHEMA, out_dir / "customers/part-0.parquet", 64),
        _write(customers[CUSTOMER_SPLIT:], CUSTOMERS_SCHEMA, out_dir / "customers/part-1.parquet", 64),
        _write(products, PRODUCTS_SCHEMA, out_dir / "products/products.parquet", 25),
        _write(orders[:ORDER_SPLIT], ORDERS_SCHEMA, out_dir / "orders/part-0.parquet", 100),
        _write(orders[ORDER_SPLIT:], ORDERS_SCHEMA, out_dir / "orders/part-1.parquet", 100),
        _write(items, ORDER_ITEMS_SCHEMA, out_dir / "order_items/part-0.parquet", 500),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; a relative --out is taken relative to the current directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output directory (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    total = 0
    for path in generate(args.out):
        size = path.stat().st_size
        total += size
        rows = pq.read_metadata(path).num_rows
        print(f"{path}  rows={rows}  bytes={size}")
    print(f"total bytes={total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
