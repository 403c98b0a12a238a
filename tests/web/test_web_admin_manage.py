"""The Admin page's forms in a real browser: add and disable an account, add and revoke a
sharing agreement, with the CLI's messages for refused changes; admins only, CSRF-checked."""

from __future__ import annotations

import json
from html import unescape
from typing import Any

from webcheck import axe
from webserve import log_in


def _post(page: Any, path: str) -> Any:
    """Submit the form whose action is ``path`` and return the server's answer."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator(f"form[action='{path}'] button[type=submit]").click()
    page.wait_for_load_state("domcontentloaded")
    return answer.value


def _csrf(page: Any) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "corridor_csrf")


def _audit(page: Any, action: str) -> list[dict[str, Any]]:
    """The audit trail's entries for ``action`` (newest first), as the Admin page shows them;
    the page is left showing them."""
    page.goto(f"{page.url.split('/admin')[0]}/admin?action={action}")
    rows = page.eval_on_selector_all(
        "#audit tbody tr", "rs => rs.map(r => [r.cells[2].textContent, r.cells[4].textContent])"
    )
    return [{"user": u, "parameters": json.loads(p), "text": p} for u, p in rows]


def test_admin_adds_and_disables_an_account(open_page: Any, served: Any, browser: Any) -> None:
    page, w = open_page("admin", "/admin")
    page.get_by_label("Name").fill("web-newcomer")
    page.get_by_label("Role", exact=True).select_option("analyst")
    page.locator("#new-countries").fill("ken")
    assert _post(page, "/admin/accounts").status == 200
    assert "Added web-newcomer (analyst, countries KEN)" in page.inner_text("#admin-result")
    password = page.inner_text("#new-password")
    assert len(password) >= 12
    row = page.locator("#accounts tbody tr", has_text="web-newcomer").inner_text()
    assert "analyst" in row and "KEN" in row and "active" in row
    assert axe(page) == []
    # the password works; it is shown once
    added = _audit(page, "web.add_user")
    assert added[0]["user"] == served.accounts["admin"]
    assert added[0]["parameters"]["username"] == "web-newcomer"
    assert password not in page.content()  # neither in the audit trail nor on the page again
    newcomer = browser.new_context()
    try:
        log_in(newcomer.new_page(), served.base_url, "web-newcomer", password)
        page.goto(served.base_url + "/admin")
        # disable it: its session ends and it cannot log in again (the form never offers the
        # admin's own account)
        options = page.eval_on_selector_all(
            "#disable-username option", "os => os.map(o => o.value)"
        )
        assert "web-newcomer" in options and served.accounts["admin"] not in options
        page.get_by_label("Account", exact=True).select_option("web-newcomer")
        assert _post(page, "/admin/accounts/disable").status == 200
        assert "Disabled web-newcomer" in page.inner_text("#admin-result")
        row = page.locator("#accounts tbody tr", has_text="web-newcomer").inner_text()
        assert "disabled" in row
        assert _audit(page, "web.disable_user")[0]["parameters"] == {"username": "web-newcomer"}
        other = newcomer.pages[0]
        other.goto(served.base_url + "/overview")
        assert "/login" in other.url
        other.get_by_label("User name").fill("web-newcomer")
        other.get_by_label("Password").fill(password)
        other.get_by_role("button", name="Log in").click()
        other.wait_for_load_state("domcontentloaded")
        assert "/login" in other.url and "Wrong user name or password" in other.content()
    finally:
        newcomer.close()
    w.assert_clean()


def test_admin_adds_and_revokes_an_agreement(open_page: Any, served: Any) -> None:
    page, w = open_page("admin", "/admin")
    page.get_by_label("Name").fill("web-ngo")
    page.get_by_label("Role", exact=True).select_option("partner")
    assert _post(page, "/admin/accounts").status == 200
    page.get_by_label("Partner").select_option("web-ngo")
    page.get_by_label("Indicators").fill("positivity")
    page.get_by_label("Disaggregation").fill("country")
    page.get_by_label("Period type").select_option("quarter")
    page.locator("#ag-countries").fill("UGA")
    page.get_by_label("Valid from").fill("2025-01-01")
    page.get_by_label("Valid to").fill("2026-12-31")
    assert _post(page, "/admin/agreements").status == 200
    message = page.inner_text("#admin-result")
    assert "recorded for web-ngo" in message
    number = message.split()[1]
    row = page.locator("#agreements tbody tr", has_text="web-ngo").inner_text()
    assert "positivity" in row and "quarter" in row and "UGA" in row and "revoked" not in row
    added = _audit(page, "web.add_agreement")[0]["parameters"]
    assert added["partner"] == "web-ngo" and str(added["id"]) == number
    page.goto(served.base_url + "/admin")
    page.get_by_label("Agreement", exact=True).select_option(number)
    assert _post(page, "/admin/agreements/revoke").status == 200
    assert f"Revoked agreement {number}" in page.inner_text("#admin-result")
    row = page.locator("#agreements tbody tr", has_text="web-ngo").inner_text()
    assert "revoked" in row
    assert _audit(page, "web.revoke_agreement")[0]["parameters"] == {"id": int(number)}
    w.assert_clean()


def test_refused_changes_show_the_cli_message(open_page: Any, served: Any) -> None:
    page, w = open_page("admin", "/admin")
    # duplicate name, bad country code: the page again, with the message and a 400
    for name, countries, said in (
        ("web-admin", "*", "account 'web-admin' exists already"),
        (
            "web-elsewhere",
            "KENYA",
            "KENYA is not an ISO 3166-1 alpha-3 country code (did you mean KEN for Kenya?)",
        ),
    ):
        page.get_by_label("Name").fill(name)
        page.locator("#new-countries").fill(countries)
        assert _post(page, "/admin/accounts").status == 400
        assert said in page.inner_text("#admin-error")
        assert page.get_by_label("Name").input_value() == name  # what was typed stays
    # an agreement that ends before it starts
    page.get_by_label("Partner").select_option("web-partner")
    page.get_by_label("Indicators").fill("positivity")
    page.locator("#ag-countries").fill("KEN")
    page.get_by_label("Valid from").fill("2026-01-01")
    page.get_by_label("Valid to").fill("2025-01-01")
    assert _post(page, "/admin/agreements").status == 400
    assert "ends (2025-01-01) before it starts (2026-01-01)" in page.inner_text("#admin-error")
    assert axe(page) == []
    # what no form offers: an unknown role, an unknown account, an unknown agreement
    csrf = _csrf(page)
    url = served.base_url
    r = page.request.post(
        f"{url}/admin/accounts", form={"csrf": csrf, "username": "x-y", "role": "boss"}
    )
    assert (
        r.status == 400
        and "unknown role 'boss'" in unescape(r.text())
        and "Traceback" not in unescape(r.text())
    )
    r = page.request.post(
        f"{url}/admin/accounts/disable", form={"csrf": csrf, "username": "nobody"}
    )
    assert r.status == 404 and "no account named 'nobody'" in unescape(r.text())
    # an admin's own account, which the form does not offer: refused by the server too
    r = page.request.post(
        f"{url}/admin/accounts/disable", form={"csrf": csrf, "username": "web-admin"}
    )
    assert r.status == 403 and "your own account" in unescape(r.text())
    r = page.request.post(f"{url}/admin/agreements/revoke", form={"csrf": csrf, "id": "999"})
    assert r.status == 404 and "no agreement with id 999" in unescape(r.text())
    # without the CSRF field (or with a wrong one) nothing changes
    for sent in ({}, {"csrf": "forged"}):
        form = {**sent, "username": "web-forged", "role": "admin", "countries": "*"}
        r = page.request.post(f"{url}/admin/accounts", form=form)
        assert r.status == 403 and "csrf" in unescape(r.text())
    r = page.request.post(f"{url}/admin/accounts/disable", form={"username": "web-analyst"})
    assert r.status == 403
    page.goto(f"{url}/admin")
    accounts = page.inner_text("#accounts")
    assert "web-forged" not in accounts and "web-elsewhere" not in accounts
    assert "disabled" not in page.locator("#accounts tbody tr", has_text="web-analyst").inner_text()
    # the browser reports the three refused forms' 400 answers, and nothing else
    assert len(w.errors) == 3 and all("status of 400" in e for e in w.errors), w.errors
    assert w.foreign == []


def test_only_admins_may_change_accounts_or_agreements(open_page: Any, served: Any) -> None:
    url = served.base_url
    posts = {
        "/admin/accounts": {"username": "web-sneaky", "role": "admin", "countries": "*"},
        "/admin/accounts/disable": {"username": "web-admin"},
        "/admin/agreements": {
            "partner": "web-partner",
            "indicators": "positivity",
            "by": "country,sex",
            "period_type": "year",
            "countries": "KEN,UGA",
            "valid_from": "2020-01-01",
            "valid_to": "2099-12-31",
        },
        "/admin/agreements/revoke": {"id": "1"},
    }
    for role in ("data_manager", "analyst", "partner"):
        page, _ = open_page(role, "/overview")
        csrf = _csrf(page)
        for path, form in posts.items():
            r = page.request.post(url + path, form={"csrf": csrf, **form})
            assert r.status == 403, (role, path)
            assert "may not create and disable accounts" in unescape(r.text())
    page, _ = open_page("admin", "/admin")
    assert "web-sneaky" not in page.inner_text("#accounts")
    assert "disabled" not in page.locator("#accounts tbody tr", has_text="web-admin").inner_text()
    ag = page.locator("#agreements tbody tr", has_text="web-partner").first.inner_text()
    assert "active" in ag and "sex" not in ag


def test_an_account_without_countries_is_refused(open_page: Any, served: Any) -> None:
    """A blank countries field is not "every country" (except for a partner, whose agreements
    say what it reads): the page refuses it with the message of ``corridor users add`` (which
    requires --countries) and adds no account."""
    page, w = open_page("admin", "/admin")
    for blank in ("", "   "):
        r = page.request.post(
            f"{served.base_url}/admin/accounts",
            form={
                "csrf": _csrf(page),
                "username": "web-nowhere",
                "role": "analyst",
                "countries": blank,
            },
        )
        assert r.status == 400
        assert "name the countries as ISO3 codes" in unescape(r.text())
    page.goto(f"{served.base_url}/admin")
    assert "web-nowhere" not in page.inner_text("#accounts")
    w.assert_clean()
