"""A simulator-shaped experiment (customers, products, orders, order items, as the warehouse
simulator writes them) and the analytical queries people run on one: monthly revenue by category,
top customers, repeat buyers, a ranking window, a reconciliation join, running totals and a
correlated subquery. Deterministic for a given scale; one order per TPC-H order at the same scale
(150,000 at 0.1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TABLES = ("customers", "products", "orders", "order_items")
KEYS = {"customers": ["customer_id"], "products": ["product_id"], "orders": ["order_id"],
        "order_items": ["order_id", "line_number"]}
SORTKEYS = {"orders": ["ordered_at"], "order_items": ["order_id"]}

QUERIES: dict[str, str] = {
    "e1_monthly_revenue": """
select extract(year from o.ordered_at) as y, extract(month from o.ordered_at) as m, p.category,
       sum(i.quantity * i.unit_price) as revenue, count(distinct o.order_id) as order_count
from orders o join order_items i on i.order_id = o.order_id join products p on p.product_id = i.product_id
where o.status <> 'cancelled'
group by extract(year from o.ordered_at), extract(month from o.ordered_at), p.category
order by y, m, p.category""",
    "e2_top_customers": """
select c.customer_id, c.country, count(*) as order_count, sum(o.total) as spent
from customers c join orders o on o.customer_id = c.customer_id
group by c.customer_id, c.country
order by spent desc, c.customer_id
limit 20""",
    "e3_repeat_buyers": """
with per_customer as (select customer_id, count(*) as n from orders group by customer_id)
select c.segment, count(*) as buyers, sum(case when pc.n > 1 then 1 else 0 end) as repeat_buyers
from customers c join per_customer pc on pc.customer_id = c.customer_id
group by c.segment
order by c.segment""",
    "e4_top_products_per_category": """
select category, product_id, revenue, rnk
from (select p.category, p.product_id, sum(i.quantity * i.unit_price) as revenue,
             row_number() over (partition by p.category order by sum(i.quantity * i.unit_price) desc, p.product_id)
               as rnk
      from order_items i join products p on p.product_id = i.product_id
      group by p.category, p.product_id) ranked
where rnk <= 3
order by category, rnk""",
    "e5_reconciliation": """
select count(*) as mismatched, sum(o.total - t.items_total) as difference
from orders o
join (select order_id, sum(quantity * unit_price) as items_total from order_items group by order_id) t
  on t.order_id = o.order_id
where abs(o.total - t.items_total) >= 0.5""",
    "e6_running_totals": """
select customer_id, order_id, sum(total) over (partition by customer_id order by ordered_at, order_id
                                               rows between unbounded preceding and current row) as running
from orders
where customer_id <= 200
order by customer_id, ordered_at, order_id""",
    "e7_above_own_average": """
select count(*) as orders_above_average
from orders o
where o.total > (select avg(o2.total) from orders o2 where o2.customer_id = o.customer_id)""",
}


def generate(folder: Path, scale: float) -> None:
    """Write the four tables as Parquet under `folder` (one file each), unless already there."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    if all((folder / f"{t}.parquet").exists() for t in TABLES):
        return
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(18)
    n_customers, n_products, n_orders = max(int(150_000 * scale), 100), max(int(20_000 * scale), 50), \
        max(int(1_500_000 * scale), 500)
    countries = np.array(["US", "DE", "FR", "GB", "JP", "BR", "IN", "CA"])
    segments = np.array(["consumer", "corporate", "home office", "small business"])
    categories = np.array([f"category {i:02d}" for i in range(24)])
    statuses = np.array(["placed", "shipped", "delivered", "returned", "cancelled"])
    epoch = np.datetime64("2023-01-01")
    pq.write_table(pa.table({
        "customer_id": pa.array(np.arange(1, n_customers + 1, dtype=np.int64)),
        "country": pa.array(countries[rng.integers(0, len(countries), n_customers)]),
        "segment": pa.array(segments[rng.integers(0, len(segments), n_customers)]),
        "signup_date": pa.array(epoch + rng.integers(0, 730, n_customers).astype("timedelta64[D]")),
    }), folder / "customers.parquet")
    price_cents = rng.integers(100, 50_000, n_products)
    pq.write_table(pa.table({
        "product_id": pa.array(np.arange(1, n_products + 1, dtype=np.int64)),
        "category": pa.array(categories[rng.integers(0, len(categories), n_products)]),
        "price": _cents(pa, price_cents),
    }), folder / "products.parquet")
    lines = rng.integers(1, 8, n_orders)
    item_order = np.repeat(np.arange(1, n_orders + 1, dtype=np.int64), lines)
    line_number = (np.arange(len(item_order)) - np.repeat(np.cumsum(lines) - lines, lines) + 1).astype(np.int32)
    product = rng.integers(1, n_products + 1, len(item_order))
    quantity = rng.integers(1, 10, len(item_order)).astype(np.int32)
    unit_cents = price_cents[product - 1]
    order_cents = np.bincount(item_order - 1, weights=quantity * unit_cents, minlength=n_orders).astype(np.int64)
    # About 1% of orders disagree with their items (a refund not booked): the reconciliation query finds them.
    order_cents[rng.random(n_orders) < 0.01] -= 100
    seconds = rng.integers(0, 730 * 86_400, n_orders)
    pq.write_table(pa.table({
        "order_id": pa.array(np.arange(1, n_orders + 1, dtype=np.int64)),
        "customer_id": pa.array(rng.integers(1, n_customers + 1, n_orders).astype(np.int64)),
        "status": pa.array(statuses[rng.choice(len(statuses), n_orders, p=[0.1, 0.2, 0.55, 0.1, 0.05])]),
        "ordered_at": pa.array(epoch.astype("datetime64[s]") + seconds.astype("timedelta64[s]")).cast(
            pa.timestamp("us")),
        "total": _cents(pa, order_cents),
    }), folder / "orders.parquet")
    pq.write_table(pa.table({
        "order_id": pa.array(item_order),
        "line_number": pa.array(line_number),
        "product_id": pa.array(product.astype(np.int64)),
        "quantity": pa.array(quantity),
        "unit_price": _cents(pa, unit_cents),
    }), folder / "order_items.parquet", row_group_size=131_072)


def _cents(pa: Any, cents: Any) -> Any:
    """Whole cents as DECIMAL(12,2), exactly: the unscaled integers viewed with scale 2."""
    import pyarrow.compute as pc

    unscaled = pc.cast(pa.array(cents, pa.int64()), pa.decimal128(19, 0), safe=False)
    return unscaled.view(pa.decimal128(19, 2)).cast(pa.decimal128(12, 2))
