"""A query's country filter names ISO 3166-1 alpha-3 codes (or XKX, or, for an account that reads
every country, a country code of the warehouse's places): a typo such as KNE is a 400 problem with
the message of accounts and agreements (the value, the reason, the nearest codes), in the API
(``GET /indicators``, ``GET /hotspots``, the fast lane) and in the dashboard (explorer, ranking),
never an empty answer. An account that reads some countries only is told nothing about the
warehouse's other countries: a valid code outside its scope is still a 403, a code outside
ISO 3166-1 is refused alike whether the warehouse has places with it or not, and the codes
suggested are never the warehouse's codes outside its countries. On DuckDB and PostgreSQL."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from corridor.access import add_user, create_token
from corridor.api.app import create_app
from hubdata import PASSWORD, auth, make_hub, web_login

REASON = "is not an ISO 3166-1 alpha-3 country code"
KNE = f"KNE {REASON} (did you mean KEN for Kenya, KNA for Saint Kitts and Nevis or MNE for Montenegro?)"
SCG = f"SCG {REASON} (withdrawn in 2006: Serbia and Montenegro)"
IND = "/api/v1/indicators?indicator=positivity&by=country&period=2024"


class Hub(NamedTuple):
    client: TestClient
    tokens: dict[str, str]


def _scg_place(engine: Any) -> None:
    """A place whose country is the withdrawn SCG: what a warehouse imported before places'
    country codes were checked against ISO 3166-1 may hold."""
    engine.insert_arrow(
        "places",
        pa.table(
            {
                "place_code": ["rs-old"],
                "name": ["Old site"],
                "place_type": ["country"],
                "parent_code": [""],
                "country_code": ["scg"],
                "lat": pa.array([44.8], pa.float64()),
                "lon": pa.array([20.5], pa.float64()),
                "corridor": [""],
                "population": pa.array([1000], pa.int64()),
                "dhis2_uid": [""],
                "fmp_code": [""],
                "import_id": pa.array([0], pa.int64()),
            }
        ),
    )


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def legacy_hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hub]:
    """The hub's data, a place of country SCG, and an analyst of KEN and SCG."""
    tmp: Path = tmp_path_factory.mktemp("legacy")
    db = None
    if request.param == "postgres":
        import psycopg

        pg_url = str(request.getfixturevalue("pg_url"))
        name = "c_" + uuid.uuid4().hex[:12]
        with psycopg.connect(pg_url, autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}".encode())
        db = f"{pg_url.rsplit('/', 1)[0]}/{name}"
    ws, tokens = make_hub(tmp / "ws", db=db)
    _scg_place(ws.engine)
    add_user(ws.engine, "an-scg", "analyst", PASSWORD, countries="KEN,SCG")
    tokens["an-scg"], _ = create_token(ws.engine, "an-scg")
    ws.close()
    app = create_app(tmp / "ws", db=db, pool_size=4)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Hub(client, tokens)


def _get(hub: Hub, who: str, url: str) -> Any:
    return hub.client.get(url, headers=auth(hub.tokens[who]))


def _refused(r: Any) -> str:
    """The detail of a 400 problem document."""
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 400 and body["title"] == "Bad request"
    return str(body["detail"])


def test_a_made_up_country_is_a_400_naming_it_and_the_nearest_codes(legacy_hub: Hub) -> None:
    for who in ("admin1", "an-keug", "partner1"):
        for _ in range(2):  # the second time as well (the fast lane must not answer it)
            assert _refused(_get(legacy_hub, who, f"{IND}&country=KNE")) == KNE
            assert _refused(_get(legacy_hub, who, f"{IND}&country=ken,kne&format=csv")) == KNE
    assert _refused(_get(legacy_hub, "admin1", "/api/v1/hotspots?draws=0&country=KNE")) == KNE
    assert _refused(_get(legacy_hub, "an-keug", "/api/v1/hotspots?draws=0&country=KNE")) == KNE
    detail = _refused(_get(legacy_hub, "admin1", f"{IND}&country=KNE,ZZZ,KENYA"))
    assert detail == f"{KNE}; ZZZ {REASON}; KENYA {REASON} (did you mean KEN for Kenya?)"


def test_valid_codes_answer_as_before(legacy_hub: Hub) -> None:
    # ISO codes with no data, and Kosovo: an empty answer, as before
    for code in ("FRA", "XKX", "ken"):
        r = _get(legacy_hub, "admin1", f"{IND}&country={code}")
        assert r.status_code == 200, r.text
    assert _get(legacy_hub, "admin1", f"{IND}&country=ken").json()["rows"]
    # a valid code outside the account's scope: 403 as before (for an agreement likewise)
    assert _get(legacy_hub, "an-keug", f"{IND}&country=TZA").status_code == 403
    assert _get(legacy_hub, "an-keug", "/api/v1/hotspots?draws=0&country=TZA").status_code == 403
    assert _get(legacy_hub, "partner1", f"{IND}&country=UGA").status_code == 403
    assert _get(legacy_hub, "partner1", f"{IND}&country=KEN").status_code == 200


def test_the_warehouse_s_own_codes_for_those_who_read_every_country(legacy_hub: Hub) -> None:
    # an account of every country may filter on a code its warehouse's places have...
    r = _get(legacy_hub, "admin1", f"{IND}&country=SCG")
    assert r.status_code == 200, r.text
    # ...and is offered it first for a typo
    detail = _refused(_get(legacy_hub, "admin1", f"{IND}&country=SGC"))
    assert detail.startswith(f"SGC {REASON} (did you mean SCG, SGP for Singapore"), detail
    # an account given that country may filter on it too
    assert _get(legacy_hub, "an-scg", f"{IND}&country=SCG").status_code == 200
    assert _get(legacy_hub, "an-scg", f"{IND}&country=UGA").status_code == 403


def test_a_scoped_account_learns_nothing_of_the_warehouse_s_other_countries(
    legacy_hub: Hub,
) -> None:
    """SCG (places of the warehouse have it) and QQQ (none has) are answered alike to accounts
    that do not read SCG, and SGC's suggestions do not name SCG to them."""
    for who in ("an-keug", "partner1"):
        scg = _get(legacy_hub, who, f"{IND}&country=SCG")
        qqq = _get(legacy_hub, who, f"{IND}&country=QQQ")
        assert (scg.status_code, qqq.status_code) == (400, 400)
        assert _refused(scg) == SCG and _refused(qqq) == f"QQQ {REASON}"
        detail = _refused(_get(legacy_hub, who, f"{IND}&country=SGC"))
        assert detail.startswith(f"SGC {REASON} (did you mean SGP for Singapore"), detail
        assert "SCG" not in detail
    for code in ("SCG", "QQQ"):
        url = f"/api/v1/hotspots?draws=0&country={code}"
        assert _refused(_get(legacy_hub, "an-keug", url)).startswith(f"{code} {REASON}")


def _web_login(client: TestClient, name: str) -> None:
    client.cookies.clear()
    web_login(client, name)


def _error(r: Any, element: str) -> str:
    found = re.search(rf'<p class="error" role="alert" id="{element}">(.*?)</p>', r.text, re.S)
    assert found, r.text
    return unescape(found.group(1)).strip()


def test_the_dashboard_says_so_in_place(legacy_hub: Hub) -> None:
    c = legacy_hub.client
    try:
        for who in ("admin1", "an-keug"):
            _web_login(c, who)
            r = c.get("/explorer?submitted=1&indicator=positivity&country=KNE")
            assert r.status_code == 400 and _error(r, "query-error") == KNE
            assert 'value="KNE"' in r.text  # the form keeps what was typed
            r = c.get("/spaces?show_country=kne")
            assert r.status_code == 400 and _error(r, "ranking-error") == KNE
            r = c.get("/explorer?submitted=1&indicator=positivity&country=KEN")
            assert r.status_code == 200 and 'id="query-error"' not in r.text
        # the ranking's country select filters the table only: a valid code outside the scope
        # shows an empty table, as before
        r = c.get("/spaces?show_country=tza")
        assert r.status_code == 200 and 'id="ranking-error"' not in r.text
    finally:
        c.cookies.clear()


def test_an_uploaded_places_file_with_a_made_up_country(fresh_hub: Any) -> None:
    """POST /imports of places: UGX is a 422 problem naming row, column, value and the nearest
    code (it was a three-letter country outside the data manager's, a 403); with quarantine the
    row is kept with that reason, and its data manager sees it (a code that is no country does
    not make the row a country of its own that only admins see)."""
    places = (
        b"place_code,name,place_type,parent_code,country_code\n"
        b"ug-new,New site,market,uga,UGA\n"
        b"ug-typo,Typo site,market,uga,UGX\n"
    )

    def post(**data: str) -> Any:
        return fresh_hub.client.post(
            "/api/v1/imports",
            headers=auth(fresh_hub.tokens["dm-uga"]),
            files={"file": ("places.csv", places, "text/csv")},
            data={"kind": "places", **data},
        )

    ugx = "not an ISO 3166-1 alpha-3 country code (did you mean UGA for Uganda?)"
    r = post()
    assert r.status_code == 422, r.text
    assert r.json()["problems"] == [
        {"file": "places.csv", "row": 2, "column": "country_code", "value": "ugx", "reason": ugx}
    ]
    r = post(quarantine="true")
    assert r.status_code == 201, r.text
    assert r.json()["imports"][0]["rows_quarantined"] == 1
    q = fresh_hub.client.get("/api/v1/quarantine", headers=auth(fresh_hub.tokens["dm-uga"]))
    [row] = q.json()["quarantine"]
    assert (row["column_name"], row["value"], row["reason"], row["country_code"]) == (
        "country_code",
        "ugx",
        ugx,
        "uga",
    )
