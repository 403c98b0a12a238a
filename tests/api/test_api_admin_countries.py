"""The dashboard's Admin forms, the hub's HTTP way of adding accounts and sharing agreements,
refuse a made-up country code (KNE for KEN) with a 400 and the CLI's message, and write nothing
(on DuckDB and PostgreSQL)."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from hubdata import auth, web_login

REASON = "is not an ISO 3166-1 alpha-3 country code"


def _error(r: Any) -> str:
    """The text of the page's error paragraph."""
    found = re.search(r'<p class="error" role="alert" id="admin-error">(.*?)</p>', r.text, re.S)
    assert found, r.text
    return unescape(found.group(1))


def test_admin_forms_refuse_made_up_countries_and_write_nothing(fresh_hub_both: Any) -> None:
    c = fresh_hub_both.client
    admin = auth(fresh_hub_both.tokens["admin1"])
    csrf = web_login(c, "admin1")
    agreement = {
        "csrf": csrf,
        "partner": "partner1",
        "indicators": "positivity",
        "by": "country",
        "period_type": "year",
        "valid_from": "2025-01-01",
        "valid_to": "2025-12-31",
    }
    for path, form, said in (
        (
            "/admin/accounts",
            {"csrf": csrf, "username": "bob", "role": "analyst", "countries": "KEN,KNE"},
            f"KNE {REASON} (did you mean KEN for Kenya, KNA for Saint Kitts and Nevis or MNE "
            "for Montenegro?)",
        ),
        (
            "/admin/accounts",
            {"csrf": csrf, "username": "bob", "role": "data_manager", "countries": "zzz"},
            f"ZZZ {REASON}",
        ),
        (
            "/admin/agreements",
            {**agreement, "countries": "UGX"},
            f"UGX {REASON} (did you mean UGA for Uganda?)",
        ),
    ):
        r = c.post(path, data=form)
        assert r.status_code == 400, r.text
        assert _error(r) == said
        assert "Traceback" not in r.text
    # nothing written: no account bob, no agreement for partner1, no audited change
    page = c.get("/admin").text
    assert ">bob<" not in page
    entries = c.get("/api/v1/audit?limit=100", headers=admin).json()["entries"]
    assert not [e for e in entries if e["action"] in ("web.add_user", "web.add_agreement")]
    # what is accepted: Kosovo's user-assigned code, ISO codes in any case
    r = c.post(
        "/admin/accounts",
        data={"csrf": csrf, "username": "bob", "role": "analyst", "countries": "xkx,ken"},
    )
    assert r.status_code == 200 and "Added bob (analyst, countries KEN,XKX)" in unescape(r.text)
    assert ">bob<" in c.get("/admin").text  # as the page lists an account
    r = c.post("/admin/agreements", data={**agreement, "countries": "uga"})
    assert r.status_code == 200 and "recorded for partner1" in r.text


def test_the_admin_form_says_when_an_agreement_is_not_in_force(fresh_hub_both: Any) -> None:
    """An agreement recorded through the Admin form whose days are over is recorded (it can be
    meant, for the record) and the page says it grants nothing, as `corridor agreements add`
    does; one that starts later is said to start then."""
    c = fresh_hub_both.client
    csrf = web_login(c, "admin1")
    form = {
        "csrf": csrf,
        "partner": "partner1",
        "indicators": "positivity",
        "by": "country",
        "period_type": "year",
        "countries": "KEN",
    }
    r = c.post(
        "/admin/agreements", data={**form, "valid_from": "2001-01-01", "valid_to": "2001-12-31"}
    )
    assert r.status_code == 200, r.text
    text = " ".join(unescape(r.text).split())
    assert "is not in force: it ended on 2001-12-31" in text and "grants partner1 nothing" in text
    r = c.post(
        "/admin/agreements", data={**form, "valid_from": "2090-01-01", "valid_to": "2090-12-31"}
    )
    assert r.status_code == 200, r.text
    assert "is not in force yet: it starts on 2090-01-01" in " ".join(unescape(r.text).split())
