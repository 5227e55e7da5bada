"""The web page in a real browser (Debian's chromium, headless) against `manifest-loader serve` and
the real emulators: PostgreSQL for Redshift, the embedded fakesnow for Snowflake.

Screenshots of the main states go to test-output/screenshots/.
"""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

from pagekit import BROKEN, LAPTOP, MARKUP_DESCRIPTION, Served, Watched, screenshot, watch

try:
    from playwright.sync_api import expect
except ImportError:   # the `browser` fixture skips these tests, or fails them under CI=true
    expect = None

LOAD_TIMEOUT = 180_000   # ms; a load of the example takes a few seconds, CI machines are small
EXAMPLE_ROWS = {"customers": "200", "products": "50", "orders": "500", "order_items": "1,524"}


def experiment(page: Any, name: str) -> Any:
    card = page.locator(f'.experiment[data-experiment="{name}"]')
    expect(card).to_be_visible()
    return card


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.load(response)


def wait_for_run(page: Any, status: str) -> Any:
    panel = page.locator("#run-panel")
    expect(panel).to_have_attribute("data-status", re.compile("succeeded|failed|unchanged|abandoned"),
                                    timeout=LOAD_TIMEOUT)
    assert panel.get_attribute("data-status") == status, page.locator("#run-panel").inner_text()
    return panel


def cli_error(output: str) -> str:
    """What the CLI printed from its `error:` line on (the lines before are progress)."""
    lines = output.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("error: "))
    return "\n".join(lines[start:]).strip()


def test_switch_warehouse_read_plan_load_and_history(laptop: Watched, served: Served) -> None:
    """The issue's 'done': switch ecommerce to redshift, read the plan, load, watch it succeed, see it in the
    history and open its detail; then the same on snowflake. Driven from the keyboard where it matters."""
    page = laptop.page
    page.goto(served.url)
    card = experiment(page, "ecommerce")
    expect(card.locator(".tables .table-name")).to_have_text(list(EXAMPLE_ROWS))
    expect(card.locator(".last-run")).to_have_text("never loaded")
    expect(card.locator(".default-target")).to_have_text("redshift")
    expect(card.locator(".file")).to_have_text("manifests/ecommerce.yaml")
    expect(page.locator("#experiments-status")).to_have_text("4 experiments found.")
    screenshot(page, "01-experiments")

    # The switch is a radio group: arrow keys move between redshift and snowflake, and the plan follows.
    redshift = card.get_by_role("radio", name="redshift")
    snowflake = card.get_by_role("radio", name="snowflake")
    expect(redshift).to_be_checked()    # the manifest's own target
    redshift.focus()
    page.keyboard.press("ArrowRight")
    expect(snowflake).to_be_checked()
    plan_status = page.locator("#plan-status")
    expect(plan_status).to_have_text(re.compile(r"\d+ steps for snowflake via the Snowflake emulator \(fakesnow\)"))
    expect(page.locator("#plan-body")).to_contain_text("COPY INTO")
    page.keyboard.press("ArrowLeft")
    expect(redshift).to_be_checked()
    expect(plan_status).to_have_text(re.compile(r"\d+ steps for redshift via the Redshift emulator \(PostgreSQL\)"))

    # The plan shown is the API's plan, step for step; the highlighted SQL reads exactly as the plan's SQL.
    plan = get_json(served.url + "api/experiments/ecommerce/plan?target_warehouse=redshift")
    steps = page.locator("#plan-body .step")
    expect(steps).to_have_count(len(plan["steps"]))
    assert page.locator("#plan-body pre.sql").all_text_contents() == [s["sql"] for s in plan["steps"]]
    expect(page.locator("#plan-body pre.sql .sql-keyword").first).to_have_text(re.compile("[A-Z]+"))
    notes = [n for s in plan["steps"] for n in s["notes"]]
    assert notes, "the Redshift emulator's plan has notes beside its steps"
    expect(page.locator("#plan-body .note")).to_have_count(len(notes))
    expect(page.locator("#plan-body .notes li")).to_have_text(plan["notes"])
    # Steps open from the keyboard (summary + Enter).
    create_customers = next(s["number"] for s in plan["steps"] if s["sql"].startswith("CREATE TABLE")
                            and s["table"] == "customers")
    for number in (create_customers - 1, create_customers):
        page.locator(f'#plan-body .step[data-step="{number}"] summary').focus()
        page.keyboard.press("Enter")
        expect(page.locator(f'#plan-body .step[data-step="{number}"] pre.sql')).to_be_visible()
    page.locator(f'#plan-body .step[data-step="{create_customers - 1}"]').scroll_into_view_if_needed()
    screenshot(page, "02-plan-redshift")

    # Load from the keyboard while another session holds the schema's lock: the page shows the run live,
    # waiting, with every table pending; once the lock is released it loads and succeeds.
    import psycopg

    lock_key = next(s["parameters"][0]["lock_key"] for s in plan["steps"] if s["action"] == "lock")
    with psycopg.connect(served.env["DW_SIMULATOR_REDSHIFT_URL"]) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (lock_key,))
        card.get_by_role("button", name="Load").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#run-heading")).to_have_text("Load: ecommerce → redshift")
        expect(page.locator("#run-phase")).to_contain_text("another apply holds the lock on schema ecommerce")
        expect(page.locator("#run-summary")).to_have_text(
            re.compile(r"Run [0-9a-f]{8}: running — 0 of 4 tables loaded into redshift\."))
        expect(page.locator("#progress-table tbody tr")).to_have_count(4)
        expect(page.locator("#progress-table tbody .badge")).to_have_text(["pending"] * 4)
        expect(card.get_by_role("button", name="Load")).to_have_attribute("aria-disabled", "true")
        expect(card.get_by_role("button", name="Load")).to_be_focused()
        screenshot(page, "03-load-waiting", locator=page.locator("#run-panel"))
        holder.rollback()
    wait_for_run(page, "succeeded")
    expect(page.locator("#run-summary")).to_have_text(
        re.compile(r"Run [0-9a-f]{8} succeeded: loaded 2,274 rows of ecommerce into redshift in \d"))
    progress = page.locator("#progress-table tbody tr")
    expect(progress).to_have_count(4)
    for table, rows in EXAMPLE_ROWS.items():
        row = page.locator(f'#progress-table tr[data-table="{table}"]')
        expect(row.locator("td").nth(1)).to_have_text("loaded")
        expect(row.locator("td").nth(2)).to_have_text(rows)
        expect(row.locator("td").nth(4)).to_have_text(re.compile(r"KiB$"))
        expect(row.locator("td").nth(5)).to_have_text(re.compile(r"^\d+\.\d+ s$"))
    expect(page.locator("#run-summary")).to_have_attribute("aria-live", "polite")
    screenshot(page, "04-load-succeeded", locator=page.locator("#run-panel"))
    card.evaluate("card => card.scrollIntoView({block: 'start'})")
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, "00-overview")

    # The history shows the run; its detail lists every table.
    history = page.locator("#history-table tbody tr")
    expect(history).to_have_count(1)
    first = history.first
    expect(first).to_have_attribute("data-status", "succeeded")
    expect(first.locator('td[data-label="target"]')).to_have_text("redshift")
    expect(first.locator('td[data-label="rows"]')).to_have_text("2,274")
    expect(first.locator('td[data-label="duration"]')).to_have_text(re.compile(r"^\d+\.\d+ s$"))
    expect(first.locator('td[data-label="generation run"]')).to_have_text("–")
    expect(card.locator(".last-run")).to_contain_text("succeeded")
    first.get_by_role("button", name=re.compile("Details of run")).click()
    detail = page.locator("#run-detail")
    expect(detail.locator(".run-tables tbody tr")).to_have_count(4)
    expect(detail.locator(".run-tables tbody tr").first).to_contain_text("customers")
    expect(detail).to_contain_text("postgres")
    expect(detail).to_be_focused()
    screenshot(page, "05-run-detail", locator=page.locator("#history"))

    # The same experiment on the Snowflake emulator.
    snowflake.check()
    expect(plan_status).to_contain_text("steps for snowflake")
    card.get_by_role("button", name="Load").click()
    wait_for_run(page, "succeeded")
    expect(page.locator("#run-summary")).to_contain_text("loaded 2,274 rows of ecommerce into snowflake")
    expect(history).to_have_count(2)
    expect(history.first.locator('td[data-label="target"]')).to_have_text("snowflake")
    expect(history.first).to_have_attribute("data-status", "succeeded")
    expect(experiment(page, "ecommerce").locator(".last-run")).to_contain_text("snowflake")


def test_failed_load_shows_the_message_the_cli_gives(laptop: Watched, served: Served) -> None:
    page = laptop.page
    page.goto(served.url)
    experiment(page, "strict_customers").get_by_role("button", name="Load").click()
    wait_for_run(page, "failed")
    shown = page.locator("#run-error-text").inner_text().strip()
    expect(page.locator("#run-error")).to_have_attribute("role", "alert")
    expect(page.locator('#progress-table tr[data-table="customers"] td').nth(1)).to_have_text("rolled back")
    screenshot(page, "06-load-failed", locator=page.locator("#run-panel"))

    cli = served.cli("apply", "manifests/strict_customers.yaml", "--no-progress")
    assert cli.returncode == 1, cli.stderr
    assert shown == cli_error(cli.stderr)
    assert "table customers: column email is declared NOT NULL" in shown

    # The history has both failed runs; the detail of the page's run shows the same message.
    history = page.locator("#history-table tbody tr")
    page.locator("#refresh-history").click()
    expect(history).to_have_count(2)
    run_id = page.locator("#run-panel").get_attribute("data-run-id")
    row = page.locator(f'#history-table tr[data-run-id="{run_id}"]')
    expect(row).to_have_attribute("data-status", "failed")
    row.get_by_role("button").click()
    expect(page.locator("#run-detail .error-text")).to_have_text(shown)
    expect(page.locator("#run-detail")).to_contain_text("No table was committed")


def test_names_that_look_like_html_render_as_text(laptop: Watched, served: Served) -> None:
    page = laptop.page
    page.goto(served.url)
    card = experiment(page, "markup")
    names = ["<script>alert(1)</script>", "<b>x</b>"]
    expect(card.locator(".description")).to_have_text(MARKUP_DESCRIPTION)
    expect(card.locator(".tables .table-name")).to_have_text(names)
    card.get_by_role("button", name="View plan").click()
    expect(page.locator("#plan-status")).to_contain_text("steps for redshift")
    expect(page.locator("#plan-body .plan-tables tbody td.table-name")).to_have_text(names)
    page.get_by_role("button", name="Show all SQL").click()
    expect(page.locator("#plan-body pre.sql").filter(has_text='"<script>alert(1)</script>"').first).to_be_visible()

    card.get_by_role("button", name="Load").click()
    wait_for_run(page, "succeeded")
    for name in names:
        expect(page.locator("#progress-table td.table-name").filter(has_text=name)).to_have_count(1)
    page.locator("#history-table tbody tr").first.get_by_role("button").click()
    expect(page.locator("#run-detail .run-tables td.table-name")).to_have_text(names)
    # Nothing of it became markup: no element the data spelled, no dialog (checked by the fixture).
    assert page.locator("main b, main img, main script").count() == 0
    assert card.locator(".description *").count() == 0
    assert page.locator("script").count() == 1    # the page's own app.js
    screenshot(page, "07-markup-as-text", locator=card)


def test_invalid_manifest_shows_file_line_col(laptop: Watched, served: Served) -> None:
    page = laptop.page
    page.goto(served.url)
    card = experiment(page, "broken")
    expect(card).to_have_class(re.compile(r"\binvalid\b"))
    expect(card.get_by_role("button", name="Load")).to_be_disabled()
    cli = served.cli("validate", "manifests/broken.yaml")
    assert cli.returncode == 2
    expected = [line for line in cli.stderr.splitlines() if line.startswith("manifests/broken.yaml:")]
    assert len(expected) >= 2, cli.stderr
    expect(card.locator(".problems code")).to_have_text(expected)
    screenshot(page, "08-invalid-manifest", locator=card)

    # The same manifest pasted into the validator: positions in the posted text.
    page.get_by_label("Manifest YAML").fill(BROKEN)
    page.get_by_role("button", name="Validate").click()
    result = page.locator("#validate-result .problems code")
    expect(result).to_have_text([line.replace("manifests/broken.yaml:", "manifest.yaml:") for line in expected])
    expect(result.first).to_have_text(re.compile(r"^manifest\.yaml:\d+:\d+: \$\.tables\[0\]\.mode: 'upsert'"))
    page.locator("#validate").scroll_into_view_if_needed()
    screenshot(page, "09-validate", locator=page.locator("#validate"))
    page.get_by_label("Manifest YAML").fill((served.root / "manifests" / "ecommerce.yaml").read_text())
    page.get_by_role("button", name="Validate").click()
    expect(page.locator("#validate-result")).to_have_text("Valid (4 tables).")


def test_readable_on_a_phone(browser: Any, served: Served) -> None:
    # A phone in the dark colour scheme: the screenshots show that scheme too.
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="en-US", timezone_id="UTC", color_scheme="dark")
    try:
        page = context.new_page()
        watched = watch(page, served.url)
        page.goto(served.url)
        card = experiment(page, "ecommerce")
        card.get_by_role("button", name="View plan").tap()
        expect(page.locator("#plan-status")).to_contain_text("steps for redshift")
        page.locator("#plan-body details.step-sql summary").nth(3).tap()
        # Nothing wider than the screen: long SQL and tables scroll inside their own boxes.
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than a phone's screen"
        for button in card.get_by_role("button").all():
            assert button.bounding_box()["height"] >= 40, "touch targets are at least 40px high"
        page.evaluate("() => window.scrollTo(0, 0)")
        screenshot(page, "10-phone-experiments")
        page.locator("#plan-body .step-sql[open]").first.scroll_into_view_if_needed()
        screenshot(page, "11-phone-plan")
        watched.check()
    finally:
        context.close()


def test_keyboard_focus_is_visible(laptop: Watched, served: Served) -> None:
    page = laptop.page
    page.goto(served.url)
    experiment(page, "ecommerce")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    seen = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused = page.locator(":focus")
        seen.append(focused.evaluate("e => e.tagName + (e.textContent ? ':' + e.textContent.trim() : '')"))
        outline = focused.evaluate("e => getComputedStyle(e).outlineStyle")
        label_outline = focused.evaluate(
            "e => e.labels && e.labels[0] ? getComputedStyle(e.labels[0]).outlineStyle : 'none'")
        assert outline != "none" or label_outline != "none", f"no visible focus on {seen[-1]}"
    assert any(s.startswith("BUTTON:Load") for s in seen), seen
    assert page.viewport_size == LAPTOP
