"""The countries an account or a sharing agreement is given are ISO 3166-1 alpha-3 codes (or
XKX, or a country code of the warehouse's places), not merely three letters: a typo such as KNE
is refused naming the value, the reason and the nearest codes, and nothing is written (on DuckDB
and PostgreSQL). Accounts and agreements stored before the check still load."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from corridor.access import (
    add_agreement,
    add_user,
    disable_user,
    get_user,
    list_agreements,
    list_users,
    parse_countries,
    revoke_agreement,
)
from corridor.access.countries import country_names, country_problem
from corridor.access.demo_accounts import DEMO_ACCOUNTS
from corridor.demo.facts import COUNTRIES
from corridor.errors import QueryError
from corridor.storage.engine import Engine
from hubdata import load

PW = "a long enough password"
REASON = "is not an ISO 3166-1 alpha-3 country code"


def _agreement(engine: Engine, countries: str, partner: str = "pa") -> None:
    add_agreement(
        engine,
        partner,
        indicators="positivity",
        by="country",
        period_type="year",
        countries=countries,
        valid_from=date(2025, 1, 1),
        valid_to=date(2025, 12, 31),
        created_by="t",
    )


def _count(engine: Engine, table: str) -> int:
    return int(engine.scalar(f"SELECT COUNT(*) FROM {table}"))


def test_the_message_names_the_value_the_reason_and_the_nearest_codes() -> None:
    assert country_problem("kne") == (
        f"KNE {REASON} (did you mean KEN for Kenya, KNA for Saint Kitts and Nevis or MNE for "
        "Montenegro?)"
    )
    assert country_problem("ugx") == f"UGX {REASON} (did you mean UGA for Uganda?)"
    assert country_problem("tzn").startswith(f"TZN {REASON} (did you mean TZA for Tanzania,")
    assert country_problem("zzz") == f"ZZZ {REASON}"
    # text of another shape: the country it names, if any
    assert country_problem("kenya") == f"KENYA {REASON} (did you mean KEN for Kenya?)"
    assert country_problem("ke") == f"KE {REASON} (did you mean KEN for Kenya?)"
    assert country_problem("k1") == f"K1 {REASON} (three letters, such as KEN)"
    # a withdrawn code says so
    assert country_problem("zar") == f"ZAR {REASON} (withdrawn in 1997: Zaire, Republic of)"
    # codes the warehouse's places use come first
    assert country_problem("kne", {"knx"}).startswith(f"KNE {REASON} (did you mean KNX, KEN for")


def test_the_demonstration_world_uses_iso_codes_only() -> None:
    names = country_names()
    for c in COUNTRIES:
        assert c.iso3.lower() in names, c.iso3
    for _, _, countries in DEMO_ACCOUNTS:
        assert countries == "*" or all(c.lower() in names for c in countries.split(","))
    assert names["xkx"] == "Kosovo" and names["ken"] == "Kenya"


@pytest.mark.parametrize(
    ("countries", "said"),
    [
        ("ZZZ", f"ZZZ {REASON}"),
        ("KEN,KNE", f"KNE {REASON} (did you mean KEN for Kenya"),
        ("uga, kenya", f"KENYA {REASON} (did you mean KEN for Kenya?)"),
        (
            "KNE,ZZZ",
            f"(did you mean KEN for Kenya, KNA for Saint Kitts and Nevis or MNE for Montenegro?); ZZZ {REASON}",
        ),
    ],
)
def test_an_account_with_a_made_up_country_is_refused_and_nothing_is_written(
    engine: Engine, countries: str, said: str
) -> None:
    before = _count(engine, "accounts")
    with pytest.raises(QueryError) as refused:
        add_user(engine, "bob", "analyst", PW, countries=countries)
    assert said in str(refused.value)
    assert _count(engine, "accounts") == before
    assert [a.username for a in list_users(engine)] == []


def test_an_agreement_with_a_made_up_country_is_refused_and_nothing_is_written(
    engine: Engine,
) -> None:
    add_user(engine, "pa", "partner", PW)
    for countries, said in (
        ("KEN,KNE", f"KNE {REASON} (did you mean KEN for Kenya"),
        ("UGX", f"UGX {REASON} (did you mean UGA for Uganda?)"),
        ("KENYA", f"KENYA {REASON} (did you mean KEN for Kenya?)"),
    ):
        with pytest.raises(QueryError, match=r"ISO 3166-1 alpha-3") as refused:
            _agreement(engine, countries)
        assert said in str(refused.value)
    with pytest.raises(QueryError, match=r"not \*"):
        _agreement(engine, "*")
    assert _count(engine, "agreements") == 0
    _agreement(engine, "ken,UGA")
    assert list_agreements(engine)[0].countries == frozenset({"ken", "uga"})


def test_iso_codes_in_any_case_and_kosovo_are_accepted(engine: Engine) -> None:
    assert add_user(engine, "a1", "analyst", PW, countries=" ken, Uga ,TZA").countries == (
        frozenset({"ken", "uga", "tza"})
    )
    assert add_user(engine, "a2", "analyst", PW, countries="XKX,srb").countries == frozenset(
        {"xkx", "srb"}
    )
    assert add_user(engine, "a3", "admin", PW, countries="*").countries is None
    add_user(engine, "pa", "partner", PW)
    _agreement(engine, "XKX")
    with pytest.raises(QueryError, match="name the countries"):
        add_user(engine, "a4", "analyst", PW, countries=" , ")


def _place(engine: Engine, code: str, country: str) -> None:
    engine.insert_arrow(
        "places",
        pa.table(
            {
                "place_code": [code],
                "name": [code],
                "place_type": ["country"],
                "parent_code": [""],
                "country_code": [country],
                "lat": pa.array([0.0], pa.float64()),
                "lon": pa.array([30.0], pa.float64()),
                "corridor": [""],
                "population": pa.array([1], pa.int64()),
                "dhis2_uid": [""],
                "fmp_code": [""],
                "import_id": pa.array([0], pa.int64()),
            }
        ),
    )


def test_a_country_code_the_warehouse_s_places_use_is_accepted(engine: Engine) -> None:
    # intake checks only the shape of a place's country code: a workspace may hold a withdrawn
    # code (Serbia and Montenegro), and its accounts may be given it
    load(engine)
    with pytest.raises(QueryError, match=f"SCG {REASON} \\(withdrawn in 2006"):
        add_user(engine, "old", "analyst", PW, countries="SCG")
    _place(engine, "scg", "scg")
    assert add_user(engine, "old", "analyst", PW, countries="SCG,KEN").countries == frozenset(
        {"scg", "ken"}
    )
    add_user(engine, "pa", "partner", PW)
    _agreement(engine, "scg")
    # and the codes of the warehouse come first among the suggestions
    with pytest.raises(QueryError, match=r"SGC .* \(did you mean SCG, SGP for Singapore"):
        add_user(engine, "old2", "analyst", PW, countries="SGC")


def test_accounts_and_agreements_stored_before_the_check_still_load(engine: Engine) -> None:
    add_user(engine, "amina", "analyst", PW, countries="KEN")
    add_user(engine, "pa", "partner", PW)
    _agreement(engine, "KEN")
    # what an older version let through: a made-up country
    engine.execute("UPDATE accounts SET countries = 'kne' WHERE username = 'amina'")
    engine.execute("UPDATE agreements SET countries = 'zzz'")
    assert get_user(engine, "amina").countries == frozenset({"kne"})
    assert [a.countries for a in list_agreements(engine)] == [frozenset({"zzz"})]
    revoke_agreement(engine, list_agreements(engine)[0].agreement_id)
    assert disable_user(engine, "amina").username == "amina"
    # a stored value is read by its shape only (a query's country filter is checked against
    # ISO 3166-1: tests/api/test_api_country_filter.py)
    assert parse_countries("ZZZ") == frozenset({"zzz"})
    with pytest.raises(QueryError, match=f"KENYA {REASON}"):
        parse_countries("KENYA")
