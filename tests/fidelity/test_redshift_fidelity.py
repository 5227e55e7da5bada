"""Redshift-flavoured SQL on the Redshift emulator: each query runs through `query` (sqlglot translation
plus the compatibility layer) over the loaded ecommerce example and must give the answer Redshift
gives, computed here independently from the Parquet files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from statistics import median
from zoneinfo import ZoneInfo

import pytest
from fidelity_support import (
    Case,
    add_months,
    assert_rows,
    counted,
    customers,
    latest_order_per_customer,
    month_boundaries,
    order_items,
    orders,
    products,
    ranked,
    revenue_by_product,
)
from loadkit import copy_example
from services import create_database, database_name, drop_database

from manifest_loader.apply import apply
from manifest_loader.query import run_query

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def loaded(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """The example loaded once per module into a fresh database (the pg_database fixture's helpers)."""
    folder = tmp_path_factory.mktemp("redshift-fidelity")
    manifest = copy_example(folder)
    url = create_database(pg_url)
    env = {"MANIFEST_LOADER_STATE_DIR": str(folder / "state"), "DW_SIMULATOR_REDSHIFT_URL": url}
    try:
        assert apply(manifest, "redshift", env=env).rows == 2274
        yield manifest, env
    finally:
        drop_database(pg_url, database_name(url))


def _listagg_by_country() -> list[tuple[str, str]]:
    groups: dict[str, list[int]] = {}
    for c in customers():
        groups.setdefault(c["country"], []).append(c["customer_id"])
    return [(k, ",".join(str(i) for i in sorted(v))) for k, v in sorted(groups.items())]


def _running_totals(n: int) -> list[tuple[int, Decimal]]:
    total, out = Decimal(0), []
    for o in sorted(orders(), key=lambda o: o["order_id"])[:n]:
        total += o["total"]
        out.append((o["order_id"], total))
    return out


def _previous_order(n: int) -> list[tuple[int, int | None]]:
    last: dict[int, int] = {}
    out = []
    for o in sorted(orders(), key=lambda o: o["order_id"]):
        out.append((o["order_id"], last.get(o["customer_id"])))
        last[o["customer_id"]] = o["order_id"]
    return out[:n]


def _revenue_by_category() -> list[tuple[str, Decimal]]:
    category = {p["product_id"]: p["category"] for p in products()}
    out: dict[str, Decimal] = {}
    for product, revenue in revenue_by_product().items():
        out[category[product]] = out.get(category[product], Decimal(0)) + revenue
    return sorted(out.items())


def _hour_boundaries(a: datetime, b: datetime) -> int:
    return int((b.replace(minute=0, second=0) - a.replace(minute=0, second=0)).total_seconds() // 3600)


CASES = [
    Case("getdate_nvl", "select nvl(null, 1) as one, getdate() <= sysdate as in_order", lambda: [(1, True)]),
    Case("nvl_empty_email", "select count(*) from customers where nvl(email, '') = ''",
         lambda: [(sum(1 for c in customers() if not c["email"]),)]),
    Case("nvl2_shipped", "select sum(nvl2(shipped_at, 1, 0)) from orders",
         lambda: [(sum(1 for o in orders() if o["shipped_at"] is not None),)]),
    Case("len_max", "select max(len(full_name)) from customers",
         lambda: [(max(len(c["full_name"]) for c in customers() if c["full_name"]),)]),
    Case("decode_status",
         "select decode(status, 'shipped', 'S', 'delivered', 'D', 'other') as s, count(*) from orders "
         "group by 1 order by 1",
         lambda: counted({"shipped": "S", "delivered": "D"}.get(o["status"], "other") for o in orders())),
    Case("dateadd_day", "select order_id, dateadd(day, 7, ordered_at) from orders order by order_id limit 5",
         lambda: [(o["order_id"], o["ordered_at"] + timedelta(days=7))
                  for o in sorted(orders(), key=lambda o: o["order_id"])[:5]]),
    Case("datediff_day_sum",
         "select sum(datediff(day, ordered_at, shipped_at)) from orders where shipped_at is not null",
         lambda: [(sum((o["shipped_at"].date() - o["ordered_at"].date()).days for o in orders()
                       if o["shipped_at"]),)]),
    Case("datediff_month_sum", "select sum(datediff(month, signup_date, last_login_at)) from customers",
         lambda: [(sum(month_boundaries(c["signup_date"], c["last_login_at"].date()) for c in customers()
                       if c["last_login_at"]),)]),
    Case("datediff_counts_boundaries",
         "select datediff(hour, '2024-01-01 00:59'::timestamp, '2024-01-01 01:01'::timestamp) as h, "
         "datediff(day, '2024-01-01 23:59'::timestamp, '2024-01-02 00:01'::timestamp) as d",
         lambda: [(_hour_boundaries(datetime(2024, 1, 1, 0, 59), datetime(2024, 1, 1, 1, 1)),
                   (date(2024, 1, 2) - date(2024, 1, 1)).days)]),
    Case("date_trunc_month",
         "select date_trunc('month', ordered_at)::date as m, count(*) from orders group by 1 order by 1",
         lambda: counted(o["ordered_at"].date().replace(day=1) for o in orders())),
    Case("to_char_year_month",
         "select to_char(signup_date, 'YYYY-MM') as ym, count(*) from customers group by 1 order by 1",
         lambda: counted(c["signup_date"].strftime("%Y-%m") for c in customers())),
    Case("date_part_year",
         "select date_part(year, signup_date)::int as y, count(*) from customers group by 1 order by 1",
         lambda: counted(c["signup_date"].year for c in customers())),
    Case("datepart_dow",
         "select datepart(dow, signup_date)::int as dow, count(*) from customers group by 1 order by 1",
         lambda: counted((c["signup_date"].weekday() + 1) % 7 for c in customers())),
    Case("convert_timezone",
         "select order_id, convert_timezone('America/New_York', ordered_at) from orders order by order_id limit 5",
         lambda: [(o["order_id"], o["ordered_at"].astimezone(NEW_YORK).replace(tzinfo=None))
                  for o in sorted(orders(), key=lambda o: o["order_id"])[:5]]),
    Case("trunc_timestamp", "select trunc(created_at) from customers order by customer_id limit 5",
         lambda: [(c["created_at"].date(),) for c in sorted(customers(), key=lambda c: c["customer_id"])[:5]]),
    Case("listagg_within_group",
         "select country, listagg(customer_id::varchar, ',') within group (order by customer_id) "
         "from customers group by country order by country", _listagg_by_country),
    Case("listagg_distinct",
         "select listagg(distinct category, '|') within group (order by category) from products",
         lambda: [("|".join(sorted({p["category"] for p in products()})),)]),
    Case("qualify_latest_order",
         "select customer_id, order_id from orders qualify row_number() over (partition by customer_id "
         "order by ordered_at desc, order_id desc) = 1 order by customer_id limit 10",
         lambda: sorted(latest_order_per_customer().items())[:10]),
    Case("running_total",
         "select order_id, sum(total) over (order by order_id rows unbounded preceding) from orders "
         "order by order_id limit 10", lambda: _running_totals(10)),
    Case("rank_revenue",
         "select product_id, rank() over (order by sum(quantity * unit_price) desc) as r from order_items "
         "group by product_id order by r, product_id limit 5",
         lambda: ranked(revenue_by_product())[:5]),
    Case("lag_previous_order",
         "select order_id, lag(order_id) over (partition by customer_id order by order_id) from orders "
         "order by order_id limit 20", lambda: _previous_order(20)),
    Case("ratio_to_report",
         "select status, round(ratio_to_report(count(*)) over (), 4) from orders group by status order by status",
         lambda: [(s, round(n / len(orders()), 4)) for s, n in counted(o["status"] for o in orders())]),
    Case("median_total", "select median(total) from orders",
         lambda: [(float(median(o["total"] for o in orders())),)]),
    Case("super_navigation",
         "select attributes.color::varchar as color, count(*) from products group by 1 order by 1",
         lambda: counted((p["attributes"] or {}).get("color") for p in products())),
    Case("super_path_filter", "select count(*) from products p where p.attributes.size is not null",
         lambda: [(sum(1 for p in products() if (p["attributes"] or {}).get("size") is not None),)]),
    Case("json_extract_path_text",
         "select count(*) from products where json_extract_path_text(json_serialize(attributes), 'size') = 'M'",
         lambda: [(sum(1 for p in products() if (p["attributes"] or {}).get("size") == "M"),)]),
    Case("split_part_domain",
         "select split_part(email, '@', 2) as domain, count(*) from customers where email is not null "
         "group by 1 order by 1", lambda: counted(c["email"].split("@")[1] for c in customers() if c["email"])),
    Case("charindex", "select count(*) from products where charindex('#', name) > 0",
         lambda: [(sum(1 for p in products() if "#" in (p["name"] or "")),)]),
    Case("regexp_substr", "select product_id, regexp_substr(name, '[0-9]+') from products order by product_id limit 10",
         lambda: [(p["product_id"], (m.group(0) if (m := re.search("[0-9]+", p["name"])) else None))
                  for p in sorted(products(), key=lambda p: p["product_id"])[:10]]),
    Case("top_n", "select top 5 order_id from orders order by total desc, order_id",
         lambda: [(o["order_id"],) for o in sorted(orders(), key=lambda o: (-o["total"], o["order_id"]))[:5]]),
    Case("approximate_count_distinct", "select approximate count(distinct customer_id) from orders",
         lambda: [(len({o["customer_id"] for o in orders()}),)]),
    Case("add_months_month_end",
         "select add_months('2024-02-29'::date, 1) as a, add_months('2024-01-31'::date, 1) as b",
         lambda: [(datetime.combine(add_months(date(2024, 2, 29), 1), datetime.min.time()),
                   datetime.combine(add_months(date(2024, 1, 31), 1), datetime.min.time()))]),
    Case("strtol_months_between",
         "select strtol('ff', 16), months_between('2024-03-31'::date, '2024-02-29'::date)",
         lambda: [(int("ff", 16), float(month_boundaries(date(2024, 2, 29), date(2024, 3, 31))))]),
    Case("stl_load_commits",
         "select count(*), sum(lines_scanned) from stl_load_commits where trim(name) like 'ecommerce.%'",
         lambda: [(6, len(customers()) + len(products()) + len(orders()) + len(order_items()))]),
    Case("ilike_unicode", "select count(*) from customers where full_name ilike '%müller%'",
         lambda: [(sum(1 for c in customers() if "müller" in (c["full_name"] or "").lower()),)]),
    Case("round_avg", "select round(avg(total), 2) from orders",
         lambda: [((sum(o["total"] for o in orders()) / len(orders())).quantize(Decimal("0.01"), ROUND_HALF_UP),)]),
    Case("cast_date_filter", "select count(*) from orders where ordered_at::date >= '2025-01-01'",
         lambda: [(sum(1 for o in orders() if o["ordered_at"].date() >= date(2025, 1, 1)),)]),
    Case("having_count_distinct",
         "select customer_id, count(distinct status) from orders group by 1 having count(distinct status) > 2 "
         "order by 1",
         lambda: sorted((c, len(s)) for c, s in _statuses_by_customer().items() if len(s) > 2)),
    Case("join_revenue_by_category",
         "select p.category, sum(oi.quantity * oi.unit_price) from order_items oi join products p "
         "on p.product_id = oi.product_id group by 1 order by 1", _revenue_by_category),
    Case("trunc_getdate_sysdate", "select trunc(getdate()) = current_date, sysdate::date = current_date",
         lambda: [(True, True)]),
]


def _statuses_by_customer() -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for o in orders():
        out.setdefault(o["customer_id"], set()).add(o["status"])
    return out


def test_suite_is_at_least_thirty_queries() -> None:
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_redshift_query_matches_parquet(case: Case, loaded: tuple[Path, dict[str, str]]) -> None:
    manifest, env = loaded
    _, rows = run_query(manifest, case.sql, "redshift", env=env)
    assert_rows(rows, case.expected(), case.ordered)
