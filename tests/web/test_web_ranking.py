"""Spaces of vulnerability in a real browser: scoped to the account's countries, sortable and
filterable, and moving a weight (a component multiplier) changes the ranking and names the
sites that enter and leave the top 10."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from webcheck import axe, screenshots


def get(page: Any, path: str) -> Any:
    """GET ``path`` on the server with the page's session cookie (the API accepts it)."""
    return page.request.get(urljoin(page.url, path))


def codes(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#ranking-table tbody tr", "rows => rows.map(r => r.dataset.code)"
    )


def column(page: Any, n: int) -> list[str]:
    return page.eval_on_selector_all(
        "#ranking-table tbody tr",
        f"rows => rows.map(r => r.cells[{n}].textContent.trim())",
    )


def test_an_analyst_sees_only_the_sites_of_their_country(open_page: Any) -> None:
    page, w = open_page("analyst", "/spaces")
    api = get(page, "/api/v1/hotspots").json()["sites"]
    assert codes(page) == [s["place_code"] for s in api]  # the API's ranking, in its order
    assert set(column(page, 2)) == {"KEN"}
    w.assert_clean()


def test_moving_a_weight_changes_the_ranking(open_page: Any) -> None:
    page, w = open_page("admin", "/spaces")
    before = codes(page)
    changed = None
    for component in ("mobility", "bridging", "service_gap", "burden"):
        slider = page.get_by_label(component.replace("_", " "), exact=True)
        slider.fill("3")  # the change event makes htmx re-render the result
        page.wait_for_selector("#top-changes")
        after = codes(page)
        if after != before:
            changed = component
            break
        slider.fill("1")
        page.wait_for_load_state("networkidle")
    assert changed is not None, "moving a multiplier re-ranks the sites"
    assert f"m_{changed}=3" in page.url  # the what-if can be bookmarked
    entered = page.inner_text("#entered")
    left = page.inner_text("#left")
    top_before, top_after = set(before[:10]), set(after[:10])
    for code in top_after - top_before:
        row = page.locator(f"#ranking-table tr[data-code='{code}'] th").inner_text()
        assert row.split(" ")[0] in entered
    assert (top_after == top_before) == (entered == "none" and left == "none")
    w.assert_clean()


def test_without_javascript_the_form_recomputes(open_page: Any, served: Any) -> None:
    page, _w = open_page("admin", "/spaces?m_burden=0&m_mobility=3")
    assert page.locator("#top-changes").count() == 1
    assert float(page.get_by_label("mobility", exact=True).input_value()) == 3


def test_sort_and_filter(open_page: Any) -> None:
    page, w = open_page("admin", "/spaces?sort=name&dir=asc")
    names = page.eval_on_selector_all(
        "#ranking-table tbody th", "els => els.map(e => e.firstChild.textContent.trim())"
    )
    assert names == sorted(names)
    page.get_by_role("link", name="Site ▲").click()  # again: descending
    page.wait_for_load_state("networkidle")
    assert "dir=desc" in page.url
    page, w = open_page("admin", "/spaces?show_country=uga")
    assert set(column(page, 2)) == {"UGA"}
    page, w = open_page("admin", "/spaces?top_only=1")
    ranks = [int(r) for r in column(page, 0)]
    assert ranks and max(ranks) <= 10
    w.assert_clean()


def test_a_bad_multiplier_is_a_message_not_a_traceback(open_page: Any) -> None:
    page, _w = open_page("admin", "/spaces?m_burden=9")
    assert "between 0 and 3" in page.inner_text("main")


def test_ranking_accessibility_and_screenshots(open_page: Any) -> None:
    page, w = open_page("admin", "/spaces?m_mobility=3&m_burden=0.3")
    assert axe(page) == []
    w.assert_clean()
    shots = screenshots(
        open_page, "/spaces?m_mobility=3&m_burden=0.3", "ranking", "admin", ready="#ranking-table"
    )
    assert all(p.stat().st_size > 10_000 for p in shots)


def test_p_top10_reads_the_same_on_the_overview_and_spaces(open_page: Any) -> None:
    page, w = open_page("admin", "/overview")
    overview = dict(
        page.eval_on_selector_all(
            "#top-sites tbody tr",
            "rows => rows.map(r => [new URL(r.cells[1].querySelector('a').href)"
            ".searchParams.get('site'), r.cells[4].textContent.trim()])",
        )
    )
    page, w = open_page("admin", "/spaces")
    spaces = dict(
        page.eval_on_selector_all(
            "#ranking-table tbody tr",
            "rows => rows.map(r => [r.dataset.code, r.cells[7].textContent.trim()])",
        )
    )
    assert overview and all(v.endswith("%") for v in overview.values()), overview
    assert {code: spaces[code] for code in overview} == overview
    w.assert_clean()


def test_a_bad_period_is_said_next_to_the_form(open_page: Any) -> None:
    """With JavaScript (htmx) a bad period shows its reason in the result's place (the 400
    answer was left out before: nothing on the page changed); without it, the form stays."""
    page, w = open_page("admin", "/spaces")
    page.get_by_label("Period").fill("2024Q7")
    page.get_by_label("Period").press("Enter")
    page.wait_for_selector("#ranking-error")
    assert "2024Q7" in page.inner_text("#ranking-error")
    assert "period=2024Q7" in page.url
    page.get_by_label("Period").fill("")
    page.get_by_label("Period").press("Enter")
    page.wait_for_selector("#ranking-table")
    assert page.locator("#ranking-error").count() == 0
    # the browser reports the 400 answer, and nothing else
    assert len(w.errors) == 1 and "status of 400" in w.errors[0], w.errors
    page, _w = open_page("admin", "/spaces?period=1999&m_mobility=2&show_country=uga")
    assert "1999" in page.inner_text("#ranking-error")
    assert page.get_by_label("Period").input_value() == "1999"  # what was typed stays
    assert float(page.get_by_label("mobility", exact=True).input_value()) == 2
    assert page.get_by_label("Country").input_value() == "uga"
    assert axe(page) == []
