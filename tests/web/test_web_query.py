"""The query panel, the table previews and the charts of runs, in a real browser (Debian's chromium)
against `manifest-loader serve` with the Redshift emulator on the test PostgreSQL and the embedded
fakesnow for Snowflake. The example is loaded from the page; every rendered cell is compared with
the example's Parquet files.

Screenshots of each state go to test-output/screenshots/ (12-… to 20-…).
"""

from __future__ import annotations

import json
import re
import urllib.request
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq
from pagekit import Served, Watched, screenshot

try:
    from playwright.sync_api import expect
except ImportError:   # the `browser` fixture skips these tests, or fails them under CI=true
    expect = None

LOAD_TIMEOUT = 180_000   # ms


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.load(response)


def load_from_card(page: Any, warehouse: str) -> None:
    """Switch the ecommerce card to `warehouse` and press Load; wait until the run succeeded."""
    card = page.locator('.experiment[data-experiment="ecommerce"]')
    card.get_by_role("radio", name=warehouse).check()
    card.get_by_role("button", name="Load").click()
    panel = page.locator("#run-panel")
    expect(panel).to_have_attribute("data-status", re.compile("succeeded|failed|unchanged"), timeout=LOAD_TIMEOUT)
    assert panel.get_attribute("data-status") == "succeeded", panel.inner_text()


def orders(served: Served) -> list[dict[str, Any]]:
    """The example's orders as the Parquet files hold them, by order id."""
    table = pq.read_table(served.root / "manifests" / "data" / "ecommerce" / "orders")
    return sorted(table.to_pylist(), key=lambda r: r["order_id"])


def run_query(page: Any, sql: str, *, keyboard: bool = False) -> None:
    editor = page.get_by_label("SQL", exact=True)
    editor.fill(sql)
    if keyboard:
        editor.press("Control+Enter")
    else:
        page.locator("#query-run").click()
    expect(page.locator("#query-panel")).to_have_attribute("data-state", re.compile("ok|error"))
    expect(page.locator("#query-panel")).not_to_have_attribute("aria-busy", "true")


def result_cells(page: Any) -> list[list[str]]:
    return page.locator("#query-result-table tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.hasAttribute('data-null') ? '<NULL>' : "
        "c.hasAttribute('data-empty') ? '<EMPTY>' : c.textContent))")


def headers(page: Any) -> list[str]:
    return page.locator("#query-result-table thead th").all_text_contents()


def test_query_tables_and_charts_on_both_emulators(laptop: Watched, served: Served) -> None:
    """Load the example from the page into each emulator; query it, preview its tables, chart its runs."""
    # Each step waits on a warehouse (a fakesnow connection takes seconds on a busy CI machine): give the
    # assertions the time the page's actions already have, then restore Playwright's default for other tests.
    expect.set_options(timeout=30_000)
    try:
        query_tables_and_charts(laptop, served)
    finally:
        expect.set_options(timeout=5_000)


def query_tables_and_charts(laptop: Watched, served: Served) -> None:
    page = laptop.page
    page.goto(served.url)
    expect(page.locator("#explore-experiment")).to_have_value("ecommerce")
    expect(page.locator("#tables-list .table-card")).to_have_count(4)
    expect(page.locator("#tables-status")).to_have_text(
        "Nothing loaded yet: press Load on ecommerce with redshift chosen.")
    expect(page.locator("#chart-duration")).to_contain_text("No runs to draw yet.")
    data = orders(served)

    # -- Redshift emulator: load from the page; the tables panel shows what PostgreSQL holds.
    load_from_card(page, "redshift")
    expect(page.locator("#explore-redshift")).to_be_checked()
    check_tables(page, served, data)
    check_redshift_queries(page, data)

    # -- Snowflake emulator: the panel follows the card; Snowflake's names and types.
    load_from_card(page, "snowflake")
    expect(page.locator("#explore-snowflake")).to_be_checked()
    expect(page.locator("#tables-status")).to_have_text("4 of 4 tables loaded in snowflake, schema ecommerce.")
    customers = page.locator('.table-card[data-table="customers"]')
    expect(customers.locator("h4")).to_have_text("CUSTOMERS")
    customers.locator("summary").click()
    expect(customers.locator(".column-table tbody tr").first.locator("td")).to_have_text(
        ["CUSTOMER_ID", "NUMBER(19,0)", "no"])
    expect(customers.locator(".column-table tbody tr").filter(has_text="LIFETIME_VALUE").locator("td").nth(1)) \
        .to_have_text("NUMBER(12,2)")
    check_snowflake_queries(page, data)
    check_charts(page, served)
    check_history(page)
    check_keyboard_and_narrow(page)


def check_tables(page: Any, served: Served, data: list[dict[str, Any]]) -> None:
    expect(page.locator("#tables-status")).to_have_text("4 of 4 tables loaded in redshift, schema ecommerce.")
    counts = {"customers": "200 rows", "products": "50 rows", "orders": "500 rows", "order_items": "1,524 rows"}
    for name, rows in counts.items():
        expect(page.locator(f'.table-card[data-table="{name}"] .row-count')).to_have_text(rows)
    # Columns and types as PostgreSQL holds them.
    customers = page.locator('.table-card[data-table="customers"]')
    customers.locator("summary").click()
    column_rows = customers.locator(".column-table tbody tr")
    expect(column_rows).to_have_count(9)
    expect(column_rows.first.locator("td")).to_have_text(["customer_id", "bigint", "no"])
    expect(column_rows.filter(has_text="email").locator("td")).to_have_text(["email", "character varying(320)", "yes"])
    expect(column_rows.filter(has_text="lifetime_value").locator("td").nth(1)).to_have_text("numeric(12,2)")

    # First rows one click away, in primary-key order, compared with the Parquet data.
    page.locator('.table-card[data-table="orders"]').get_by_role("button", name="First rows").click()
    preview = page.locator("#table-preview")
    expect(preview).to_be_focused()
    expect(preview.locator("h3")).to_have_text("First rows of orders")
    rows = preview.locator("tbody tr")
    expect(rows).to_have_count(20)
    for i in (0, 19):
        cells = rows.nth(i).locator("td")
        expect(cells.nth(0)).to_have_text(str(data[i]["order_id"]))
        expect(cells.nth(5)).to_have_text(str(data[i]["total"]))
    sql = "SELECT * FROM ecommerce.orders\nORDER BY order_id\nLIMIT 20"
    expect(preview.locator(".preview-sql")).to_have_text(sql)
    preview.scroll_into_view_if_needed()
    screenshot(page, "17-table-preview", locator=page.locator("#explore"))
    preview.get_by_role("button", name="Open in the editor").click()
    expect(page.get_by_label("SQL", exact=True)).to_have_value(sql)
    expect(page.get_by_label("SQL", exact=True)).to_be_focused()
    preview.get_by_role("button", name="Close").click()


def check_redshift_queries(page: Any, data: list[dict[str, Any]]) -> None:
    first = data[:5]
    run_query(page, "select order_id, total, notes, status from orders order by order_id limit 5", keyboard=True)
    expect(page.locator("#query-panel")).to_have_attribute("data-state", "ok")
    assert headers(page) == ["order_id", "total", "notes", "status"]
    assert result_cells(page) == expected_orders(first)
    status = page.locator("#query-status")
    expect(status).to_have_text(re.compile(r"^5 rows · \d+\.\d+ s · redshift, schema ecommerce$"))
    # Numbers right-aligned, text not.
    cells = page.locator("#query-result-table tbody tr").first.locator("td")
    assert [cells.nth(i).evaluate("c => getComputedStyle(c).textAlign") for i in range(4)] == \
        ["right", "right", "left", "left"]
    screenshot(page, "12-query-redshift", locator=page.locator("#explore"))

    # Column names as written (quoted ones keep their case); NULL and the empty string from the data.
    empty_id = next(r["order_id"] for r in data if r["notes"] == "")
    null_id = next(r["order_id"] for r in data if r["notes"] is None)
    run_query(page, f'select order_id as "OrderId", notes as "Notes", \'\' as "Literal", null as nothing '
                    f"from orders where order_id in ({empty_id}, {null_id}) order by notes nulls last")
    assert headers(page) == ["OrderId", "Notes", "Literal", "nothing"]
    assert result_cells(page) == [[str(empty_id), "<EMPTY>", "<EMPTY>", "<NULL>"],
                                  [str(null_id), "<NULL>", "<EMPTY>", "<NULL>"]]
    expect(page.locator("#query-result-table td[data-null] .null-mark").first).to_have_text("NULL")
    screenshot(page, "13-query-null-and-empty", locator=page.locator("#query-panel"))
    # An exact decimal: the sum of every order's total (a double would say 1994367.4699999988).
    exact_sum = sum((r["total"] for r in data), Decimal(0))
    run_query(page, "select sum(total) as exact_sum, count(*) as n from orders")
    assert result_cells(page) == [[str(exact_sum), "500"]]

    # A row cap: 1,524 lines, the first 100 shown.
    page.get_by_label("Show at most").select_option("100")
    run_query(page, "select * from order_items")
    expect(status).to_have_text(re.compile(r"^1,524 rows; showing first 100 · "))
    expect(page.locator("#query-result-table tbody tr")).to_have_count(100)
    page.get_by_label("Show at most").select_option("500")

    # The translation, behind a toggle that names what was not emulated.
    run_query(page, "select approximate count(distinct customer_id) as customers from orders")
    assert result_cells(page) == [[str(len({r["customer_id"] for r in data}))]]
    toggle = page.get_by_role("button", name="Show the translated SQL")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#query-translation-sql")).to_be_hidden()
    expect(page.locator("#query-translation-notes-count")).to_have_text(
        "1 thing not emulated: APPROXIMATE COUNT(DISTINCT …) is exact on the emulator")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Hide the translated SQL")).to_have_attribute("aria-expanded", "true")
    translated = page.locator("#query-translation-sql")
    expect(translated).to_be_visible()
    expect(translated).to_have_text("SELECT\n  COUNT(DISTINCT customer_id) AS customers\nFROM orders")
    screenshot(page, "14-query-translation", locator=page.locator("#query-panel"))

    # Errors with their position: one in the user's SQL (the translator), one in the SQL that ran (PostgreSQL).
    run_query(page, "select order_id\nform orders")
    error = page.locator("#query-error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("role", "alert")
    expect(error.locator(".error-text")).to_contain_text("cannot read the statement as Redshift SQL at line 2")
    expect(error.locator(".error-where")).to_have_text("at line 2, column 6 of your SQL")
    expect(error.locator(".error-excerpt")).to_have_text("form orders\n     ^")
    expect(page.locator("#query-result-table")).to_have_count(0)
    assert page.locator("#query-sql").evaluate("e => e.selectionStart") == len("select order_id\nform ")
    screenshot(page, "15-query-error", locator=page.locator("#query-panel"))
    run_query(page, "select order_id, no_such_column from orders")
    expect(error.locator(".error-text")).to_have_text(
        re.compile(r'^error: query failed: .*column "no_such_column" does not exist'))
    expect(error.locator(".error-where")).to_have_text("at line 3, column 3 of the translated SQL (show it below)")
    expect(error.locator(".error-excerpt")).to_have_text("  no_such_column\n  ^")


def check_snowflake_queries(page: Any, data: list[dict[str, Any]]) -> None:
    run_query(page, "select order_id, total, notes, status from orders order by order_id limit 5")
    expect(page.locator("#query-panel")).to_have_attribute("data-state", "ok")
    assert headers(page) == ["ORDER_ID", "TOTAL", "NOTES", "STATUS"]   # Snowflake folds unquoted names up
    assert result_cells(page) == expected_orders(data[:5])   # decimals exact: 8551.89 as stored
    expect(page.locator("#query-translation")).to_be_hidden()   # fakesnow translates by itself
    expect(page.locator("#query-status")).to_have_text(re.compile(r"^5 rows · .* · snowflake, schema ecommerce$"))
    empty_id = next(r["order_id"] for r in data if r["notes"] == "")
    null_id = next(r["order_id"] for r in data if r["notes"] is None)
    run_query(page, f"select order_id, notes from orders where order_id in ({empty_id}, {null_id}) "
                    "order by notes nulls last")
    assert result_cells(page) == [[str(empty_id), "<EMPTY>"], [str(null_id), "<NULL>"]]
    screenshot(page, "16-query-snowflake", locator=page.locator("#query-panel"))
    exact_sum = sum((r["total"] for r in data), Decimal(0))
    run_query(page, "select sum(total) as exact_sum, count(*) as n from orders")
    assert result_cells(page) == [[str(exact_sum), "500"]]
    run_query(page, "select * form orders")
    expect(page.locator("#query-error .error-where")).to_have_text("at line 1, column 15 of your SQL")
    expect(page.locator("#query-error .error-excerpt")).to_have_text("select * form orders\n              ^")


def check_charts(page: Any, served: Served) -> None:
    """One mark per finished run (oldest first) in both run charts, one per table of the chosen run."""
    runs = get_json(served.url + "api/runs?experiment=ecommerce")["runs"]
    assert [r["warehouse"] for r in runs] == ["snowflake", "redshift"]
    marks = page.locator("#chart-duration rect.mark")
    expect(marks).to_have_count(2)
    assert marks.evaluate_all("ms => ms.map(m => m.dataset.key)") == [r["id"] for r in reversed(runs)]
    assert marks.evaluate_all("ms => ms.map(m => m.classList.contains('run-' + "
                              "['redshift', 'snowflake'][ms.indexOf(m)]))") == [True, True]
    expect(page.locator("#chart-throughput rect.mark")).to_have_count(2)
    tables_chart = page.locator("#chart-tables")
    expect(tables_chart).to_have_attribute("data-run-id", runs[0]["id"])
    expect(tables_chart.locator("rect.mark")).to_have_count(4)
    expect(tables_chart.locator("rect.mark title").first).to_contain_text(re.compile(r"^customers: [\d.]+ s, 200 rows"))
    page.locator("#charts").scroll_into_view_if_needed()
    screenshot(page, "18-charts", locator=page.locator("#charts"))
    # Opening the older run's detail draws its per-table times.
    older = runs[1]["id"]
    page.locator(f'#history-table tr[data-run-id="{older}"]').get_by_role("button").click()
    expect(tables_chart).to_have_attribute("data-run-id", older)
    expect(tables_chart.locator("rect.mark")).to_have_count(4)


def check_history(page: Any) -> None:
    """Kept in the browser: newest first, survives a reload, one click puts a query back with its target."""
    history = page.locator("#query-history .history-entry")
    expect(history.first).to_contain_text("select * form orders")
    expect(history.first).to_contain_text("ecommerce · snowflake · failed")
    assert history.count() >= 8
    page.reload()
    expect(history.first).to_contain_text("select * form orders")
    entry = page.locator("#query-history li").filter(has_text="approximate count").first.get_by_role("button")
    entry.click()
    expect(page.get_by_label("SQL", exact=True)).to_have_value(
        "select approximate count(distinct customer_id) as customers from orders")
    expect(page.locator("#explore-redshift")).to_be_checked()
    expect(page.get_by_label("SQL", exact=True)).to_be_focused()


def expected_orders(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[str(r["order_id"]), str(r["total"]), "<NULL>" if r["notes"] is None else r["notes"] or "<EMPTY>",
             r["status"]] for r in rows]


def check_keyboard_and_narrow(page: Any) -> None:
    """Focus order and a visible focus ring in the panel; on a phone-wide window nothing is wider than it."""
    editor = page.get_by_label("SQL", exact=True)
    editor.focus()
    order = []
    for _ in range(3):
        page.keyboard.press("Tab")
        focused = page.locator(":focus")
        order.append(focused.evaluate("e => e.id || e.textContent.trim()"))
        assert focused.evaluate("e => getComputedStyle(e).outlineStyle") != "none", order[-1]
    assert order[:2] == ["query-run", "query-cap"], order
    page.set_viewport_size({"width": 390, "height": 844})
    editor.fill("select 1 as one, '' as empty_text, null as nothing")
    editor.press("Control+Enter")
    expect(page.locator("#query-panel")).to_have_attribute("data-state", "ok")
    assert result_cells(page) == [["1", "<EMPTY>", "<NULL>"]]
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone's screen"
    page.locator("#explore").scroll_into_view_if_needed()
    screenshot(page, "19-phone-query")
    page.locator("#charts").scroll_into_view_if_needed()
    screenshot(page, "20-phone-charts")
