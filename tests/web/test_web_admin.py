"""The Admin page in a real browser: accounts, sharing agreements, audit search."""

from __future__ import annotations

from typing import Any

from webcheck import axe, screenshots


def test_accounts_agreements_and_audit_search(open_page: Any, served: Any) -> None:
    # something to find: the analyst reads the explorer
    open_page("analyst", "/explorer?submitted=1&indicator=positivity&by=country&period=2024")
    page, w = open_page("admin", "/admin")
    accounts = page.inner_text("#accounts")
    for user in served.accounts.values():
        assert user in accounts
    assert "web-partner" in page.inner_text("#agreements")
    analyst = served.accounts["analyst"]
    page.get_by_label("User").fill(analyst)
    page.get_by_label("Action").fill("web.")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state("networkidle")
    users = page.eval_on_selector_all(
        "#audit tbody tr", "rs => rs.map(r => r.cells[2].textContent)"
    )
    actions = page.eval_on_selector_all(
        "#audit tbody tr", "rs => rs.map(r => r.cells[3].textContent)"
    )
    assert users and set(users) == {analyst}
    assert "web.read_indicators" in actions and all(a.startswith("web.") for a in actions)
    page.get_by_label("Contains").fill("positivity")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state("networkidle")
    params = page.eval_on_selector_all(
        "#audit tbody tr", "rs => rs.map(r => r.cells[4].textContent)"
    )
    assert params and all("positivity" in p for p in params)
    page, w = open_page("admin", "/admin?since=yesterday")
    assert "not a date" in page.inner_text("#audit-error")
    w.assert_clean()


def test_admin_accessibility_and_screenshots(open_page: Any) -> None:
    page, w = open_page("admin", "/admin")
    assert axe(page) == []
    w.assert_clean()
    shots = screenshots(open_page, "/admin", "admin", "admin", ready="#accounts")
    assert all(p.stat().st_size > 10_000 for p in shots)
