"""Attack: a data manager re-draws the noise of a hidden count by re-importing a value.

A replaced value is a new row with a new random record key (docs/disclosure.md, "Record keys"),
so every cell that holds it gets a new cell key and a new noise. A data manager (UGA) adds a
place under the target site (``parent_code`` = the site) and imports a known count there, then
replaces it again and again: each time the total of ``place=<site>`` (the site plus its new
child) is the site's hidden count + the known value + a fresh noise. Subtracting the known value
and averaging recovers the hidden count (on the demonstration world: ``ug-karuma``'s 8 positive
tests in 2024Q1, published as 0, came out as 8.4 after 30 imports in 8 seconds). This goes
against "asking again ... gives no new draw to average" (docs/disclosure.md).

The published value of one true count should not change with imports that do not change it:
here the site's own count never changes, so (total - known value) must take one value. A
replaced row keeps its record key (``intake/importer._replace``), which keeps the same noise.
The test asserts that the child place is accepted, so that it cannot pass without attacking.

This test fails while the leak is there.
"""

from __future__ import annotations

from typing import Any

from hubdata import auth

TARGET = "ug-busia"
CHILD = "ug-busia-annex"
PERIOD = "2024Q1"
PLACES = (
    "place_code,name,place_type,parent_code,country_code,lat,lon,corridor,population,dhis2_uid,"
    "fmp_code\n"
    f"{CHILD},Busia annex,truck_stop,{TARGET},uga,0.5,30.5,,1000,,\n"
)


def _upload(hub: Any, name: str, text: str, kind: str) -> Any:
    return hub.client.post(
        "/api/v1/imports",
        headers=auth(hub.tokens["dm-uga"]),
        files={"file": (name, text.encode(), "text/csv")},
        data={"kind": kind},
    )


def test_reimporting_a_known_value_gives_no_new_draw_of_a_hidden_count(fresh_hub: Any) -> None:
    r = _upload(fresh_hub, "annex.csv", PLACES, "places")
    assert r.status_code < 300, (
        r.text
    )  # a child place under a site is accepted: the attack's way in
    seen = []
    for k in range(20):
        known = 100 + k
        body = (
            "period,place_code,data_element,sex,age_band,population_group,value\n"
            f"{PERIOD},{CHILD},hiv_positive,total,total,total,{known}\n"
            f"{PERIOD},{CHILD},hiv_tests,total,total,total,5000\n"
        )
        r = _upload(fresh_hub, f"annex{k}.csv", body, "services")
        assert r.status_code < 300, r.text
        r = fresh_hub.client.get(
            "/api/v1/indicators",
            headers=auth(fresh_hub.tokens["dm-uga"]),
            params={"indicator": "positivity", "by": "place", "period": PERIOD, "place": TARGET},
        )
        assert r.status_code == 200, r.text
        total = next(row for row in r.json()["rows"] if row["place_code"] == "all")
        seen.append(total["numerator"] - known)
    print(f"{TARGET} {PERIOD}: total of the site and its child minus the known value: {seen}")
    assert len(set(seen)) == 1, (
        f"20 imports of a known value gave {len(set(seen))} different values of the site's "
        f"hidden count + noise ({sorted(set(seen))}): fresh draws to average"
    )
