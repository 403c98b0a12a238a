"""A data manager's places file cannot take a place of another country into their own (and
with it that place's data), nor hang a place under another country's area: 403, nothing
imported, as for rows of another country."""

from __future__ import annotations

from typing import Any

import pytest

from hubdata import auth

HEADER = "place_code,name,place_type,parent_code,country_code,corridor\n"


def _post(hub: Any, who: str, text: str, **data: str) -> Any:
    return hub.client.post(
        "/api/v1/imports",
        headers=auth(hub.tokens[who]),
        files={"file": ("places.csv", text.encode(), "text/csv")},
        data={"kind": "places", **data},
    )


@pytest.mark.parametrize(
    ("row", "named"),
    [
        # Kenya's Malaba moved into Uganda: its Kenyan data would become Uganda's to read
        ("ke-malaba,Malaba (KE),border_crossing,uga,uga,northern\n", "ke-malaba (KEN)"),
        # a new Ugandan site hung under a Kenyan area
        ("ug-tororo,Tororo,truck_stop,ke-west,uga,northern\n", "parent ke-west (KEN)"),
    ],
)
@pytest.mark.parametrize("dry_run", ["false", "true"])
def test_a_place_of_another_country_is_refused(
    fresh_hub: Any, row: str, named: str, dry_run: str
) -> None:
    r = _post(fresh_hub, "dm-uga", HEADER + row, dry_run=dry_run)
    assert r.status_code == 403, r.text
    assert named in r.json()["detail"]
    got = fresh_hub.client.get(
        "/api/v1/indicators?indicator=positivity&by=place&period=2024&place=ke-malaba",
        headers=auth(fresh_hub.tokens["dm-uga"]),
    )
    assert got.status_code == 403, got.text


def test_own_places_still_import(fresh_hub: Any) -> None:
    r = _post(fresh_hub, "dm-uga", HEADER + "ug-tororo,Tororo,truck_stop,uga,uga,northern\n")
    assert r.status_code == 201, r.text
