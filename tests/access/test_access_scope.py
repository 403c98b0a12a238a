"""Scopes become temporary views: the database applies the filter, on both engines."""

from __future__ import annotations

import pytest

from corridor.access import PermissionDenied, Scope, parse_countries, scoped
from corridor.errors import QueryError
from corridor.indicators import compute_indicators
from corridor.storage.engine import Engine
from hubdata import load


def test_parse_countries() -> None:
    assert parse_countries("*") is None
    assert parse_countries(" KEN, uga ") == frozenset({"ken", "uga"})
    for bad in ("", "KENYA", "K1N"):
        with pytest.raises(QueryError):
            parse_countries(bad)


def test_scoped_views_filter_every_table_and_go_away(engine: Engine) -> None:
    load(engine)
    total = engine.scalar("SELECT COUNT(*) FROM services")
    with scoped(engine, Scope(frozenset({"uga"}))) as eng:
        assert {r[0] for r in eng.query_rows("SELECT DISTINCT country_code FROM places")} == {"uga"}
        inside = eng.scalar("SELECT COUNT(*) FROM services")
        table = compute_indicators(eng, ["positivity"], ["country"], "2024")
        assert set(table.column("place_code").to_pylist()) == {"uga"}
    assert 0 < inside < total
    assert engine.scalar("SELECT COUNT(*) FROM services") == total  # views dropped
    with scoped(engine, Scope(None, place="ke-west")) as eng:
        codes = {r[0] for r in eng.query_rows("SELECT place_code FROM places")}
    assert codes == {"ke-west", "ke-malaba", "ke-busia"}


def test_narrowing_outside_the_scope_is_refused() -> None:
    mine = Scope(frozenset({"ken", "uga"}))
    assert mine.narrow(frozenset({"ken"})).countries == frozenset({"ken"})
    with pytest.raises(PermissionDenied, match="TZA"):
        mine.narrow(frozenset({"tza"}))
    assert Scope(None).narrow(frozenset({"tza"})).countries == frozenset({"tza"})
