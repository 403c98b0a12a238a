"""The overview in the browser: the report's summary, live, for the user's scope."""

from __future__ import annotations

from typing import Any

from webcheck import axe, screenshots
from webserve import Served


def test_overview_shows_the_summary(open_page: Any) -> None:
    page, w = open_page("admin", "/overview")
    for heading in (
        "Top spaces of vulnerability",
        "Furthest behind on the cascade",
        "Reporting completeness",
        "Latest outbreak situation",
    ):
        assert page.get_by_role("heading", name=heading).is_visible()
    rows = page.locator("#top-sites tbody tr")
    assert rows.count() == 10  # the quick-start world has more than ten ranked sites
    assert "Mpox" in page.inner_text("#outbreak")
    w.assert_clean()
    assert axe(page) == []


def test_overview_period_and_bad_period(open_page: Any, served: Served) -> None:
    page, w = open_page("analyst", "/overview?period=2024Q2")
    assert "Period 2024Q2" in page.inner_text("main")
    w.assert_clean()
    # a bad period is a page that says what is wrong (HTTP 400), not a traceback
    response = page.goto(served.base_url + "/overview?period=2024Q9")
    assert response is not None and response.status == 400
    assert "2024Q9" in page.get_by_role("alert").inner_text()
    assert "Traceback" not in page.content()


def test_partner_overview_lists_the_agreement(open_page: Any) -> None:
    page, w = open_page("partner", "/overview")
    text = page.inner_text("main")
    assert "positivity" in text and "KEN" in text
    nav = page.get_by_role("navigation", name="Main").inner_text()
    assert "Map" not in nav and "Admin" not in nav
    w.assert_clean()
    assert axe(page) == []


def test_overview_screenshots(open_page: Any) -> None:
    shots = screenshots(open_page, "/overview", "overview", "admin")
    shots += screenshots(open_page, "/login", "login", "admin")
    assert all(s.stat().st_size > 10_000 for s in shots)


def test_a_bad_period_keeps_the_period_form(open_page: Any, served: Served) -> None:
    """The period form answers a period it cannot show with the reason next to it and the
    period as typed, so that it can be corrected there (not a page with only a way back)."""
    page, w = open_page("analyst", "/overview")
    page.get_by_label("Period").fill("2024Q9")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    assert "2024Q9" in page.inner_text("#period-error")
    assert page.get_by_label("Period").input_value() == "2024Q9"
    assert axe(page) == []
    page.get_by_label("Period").fill("2024Q2")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    assert "Period 2024Q2" in page.inner_text("main")
    assert page.locator("#period-error").count() == 0
    # the browser reports the 400 answer, and nothing else
    assert len(w.errors) == 1 and "status of 400" in w.errors[0], w.errors


def test_a_bad_period_is_said_without_the_cli_option(open_page: Any, served: Served) -> None:
    """The pages share the report's period check: its message says "bad period", never the
    CLI's "--period" (nobody typed an option on a web page)."""
    page, _w = open_page("analyst", "/overview")
    for path, where in (
        ("/overview?period=2024Q9", "#period-error"),
        ("/spaces?period=2024Q9", "#ranking-error"),
        ("/map?period=2024Q9", "main"),
    ):
        response = page.goto(served.base_url + path)
        assert response is not None and response.status == 400, path
        said = page.inner_text(where)
        assert "bad period '2024Q9'" in said, (path, said)
        assert "--period" not in page.content(), path
