"""The indicator explorer in a real browser: the table is the API's answer for the same query,
the CSV and XLSX downloads are what is shown, a partner sees only what its agreement grants."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from openpyxl import load_workbook
from webcheck import axe, screenshots

from corridor.web.explorer_query import cell_text

QUERY = (
    "submitted=1&indicator=positivity&indicator=first_95&by=country&by=sex&period=2024&totals=true"
)
API_QUERY = "indicator=positivity,first_95&by=country,sex&period=2024"


def get(page: Any, path: str) -> Any:
    """GET ``path`` on the server with the page's session cookie (the API accepts it)."""
    return page.request.get(urljoin(page.url, path))


def table_of(page: Any) -> tuple[list[str], list[list[str]]]:
    head = page.eval_on_selector_all(
        "#explorer-table thead th", "els => els.map(e => e.textContent.trim())"
    )
    body = page.eval_on_selector_all(
        "#explorer-table tbody tr",
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent.trim()))",
    )
    return head, body


def test_the_table_is_the_api_answer_and_the_downloads_are_what_is_shown(open_page: Any) -> None:
    page, w = open_page("analyst", f"/explorer?{QUERY}")
    head, body = table_of(page)
    api = get(page, f"/api/v1/indicators?{API_QUERY}").json()
    rows = api["rows"]
    assert rows, "the quick-start data has positivity and first 95 in Kenya, 2024"
    assert head == list(rows[0])
    assert body == [[cell_text(r[c]) for c in head] for r in rows]
    assert {r["country"] for r in rows} == {"ken", "all"}  # the analyst is scoped to Kenya
    assert "cellkey" in page.inner_text("#disclosure-note") or "suppress" in page.inner_text(
        "#disclosure-note"
    )
    # the chart draws a bar for every row with a number, and names the withheld ones
    assert page.locator("svg.bars rect").count() == sum(
        isinstance(r["value"], int | float) for r in rows[:40]
    )

    with page.expect_download() as got:
        page.get_by_role("link", name="CSV", exact=True).click()
    text = Path(got.value.path()).read_text(encoding="utf-8")
    api_csv = get(page, f"/api/v1/indicators?{API_QUERY}&format=csv").text()
    assert text == api_csv
    shown = list(csv.reader(io.StringIO(text)))
    assert shown[0] == head and len(shown) - 1 == len(body)
    assert [r[head.index("place_code")] for r in shown[1:]] == [
        r[head.index("place_code")] for r in body
    ]

    with page.expect_download() as got:
        page.get_by_role("link", name="XLSX", exact=True).click()
    wb = load_workbook(io.BytesIO(Path(got.value.path()).read_bytes()))
    sheet = [list(r) for r in wb["indicators"].iter_rows(values_only=True)]
    assert sheet[0] == head
    assert [[cell_text(v) for v in r] for r in sheet[1:]] == [
        [cell_text(r[c]) if r[c] is not None else "" for c in head] for r in rows
    ]
    w.assert_clean()


def test_a_bad_query_keeps_the_form_and_says_why(open_page: Any) -> None:
    page, _w = open_page("analyst", "/explorer?submitted=1&indicator=positivity&period=2024Q9")
    assert "2024Q9" in page.inner_text("#query-error")
    assert page.get_by_role("textbox", name="Period").input_value() == "2024Q9"
    # a country outside the account's scope is refused (403), never an empty table
    page, _w = open_page("analyst", "/explorer?submitted=1&indicator=positivity&country=UGA")
    assert "UGA is outside your scope" in page.inner_text("#query-error")
    assert page.locator("#explorer-table").count() == 0
    status = get(page, "/explorer?submitted=1&indicator=positivity&country=UGA").status
    assert status == 403
    page, _w = open_page("analyst", "/explorer?submitted=1&indicator=positivity&place=ug-katosi")
    assert "outside your scope" in page.inner_text("#query-error")


def test_a_partner_sees_only_what_its_agreement_grants(open_page: Any) -> None:
    page, w = open_page("partner", "/explorer")
    assert "agreement" in page.inner_text("main")  # the grant is shown
    page, w = open_page(
        "partner", "/explorer?submitted=1&indicator=positivity&by=country&period=2024&totals=true"
    )
    head, body = table_of(page)
    assert body and {r[head.index("country")] for r in body} == {"ken", "all"}
    api = get(page, "/api/v1/indicators?indicator=positivity&by=country&period=2024").json()
    assert body == [[cell_text(r[c]) for c in head] for r in api["rows"]]
    w.assert_clean()
    # what the agreement does not grant is refused, with the reason, and shows no table
    for query in (
        "indicator=positivity&by=country&by=sex&period=2024",  # a disaggregation not granted
        "indicator=first_95&by=country&period=2024",  # an indicator not granted
        "indicator=positivity&by=country&period=2024Q1",  # a period type not granted
    ):
        page, w = open_page("partner", f"/explorer?submitted=1&{query}")
        assert "agreement" in page.inner_text("#query-error")
        assert page.locator("#explorer-table").count() == 0
    # and the pages a partner has no right to are refused
    for path in ("/spaces", "/data", "/admin"):
        page, _w = open_page("partner", path)  # (the 403 itself is a console message)
        assert page.locator("h1").inner_text() == "Not allowed", path


def test_keyboard_only_query(open_page: Any) -> None:
    """Every control is reachable and labelled: tick an indicator and submit with the keyboard."""
    page, w = open_page("analyst", "/explorer")
    box = page.get_by_label("Viral-load suppression", exact=False).first
    box.focus()
    page.keyboard.press("Space")
    page.get_by_role("textbox", name="Period").focus()
    page.keyboard.type("2024")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "period=2024" in page.url
    w.assert_clean()


def test_explorer_accessibility_and_screenshots(open_page: Any) -> None:
    page, w = open_page("analyst", f"/explorer?{QUERY}")
    assert axe(page) == []
    w.assert_clean()
    shots = screenshots(
        open_page, f"/explorer?{QUERY}", "explorer", "analyst", ready="#explorer-table"
    )
    assert all(p.stat().st_size > 10_000 for p in shots)


def test_the_chart_can_be_scrolled_with_the_keyboard_on_a_phone(open_page: Any) -> None:
    """On a phone the chart is wider than the screen and scrolls sideways: the keyboard must
    reach it (axe: scrollable-region-focusable, serious), as it reaches the table."""
    page, w = open_page("analyst", f"/explorer?{QUERY}", viewport=(390, 844))
    chart = page.locator("figure.chart-wrap")
    assert chart.evaluate("f => f.scrollWidth > f.clientWidth")  # it does scroll
    assert axe(page) == []
    chart.focus()
    for _ in range(20):  # (wait_for_function evaluates a string: the page's CSP refuses it)
        page.keyboard.press("ArrowRight")
        if chart.evaluate("f => f.scrollLeft") > 0:
            break
    assert chart.evaluate("f => f.scrollLeft") > 0
    w.assert_clean()
