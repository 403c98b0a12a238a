"""What services hold, asked before the indicator statement (corridor.indicators.reported):
the scan and the loose index scan give the same answers on both engines, the answers are
those of the rows, and on PostgreSQL the loose shapes walk the indexes of migration 7."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from indhelpers import services_table

from corridor.contract.periods import parse_period
from corridor.indicators.reported import (
    age_bands,
    age_bands_sql,
    first_reports,
    first_reports_sql,
    reported_periods,
    reported_sql,
)
from corridor.storage.engine import Engine, connect
from corridor.storage.migrations import migrate

#: codes whose order differs between byte order and a language's collation
PLACES = ("ke-malaba", "ke_malaba", "kemalaba", "ke malaba", "KE-b".lower(), "z")
PERIODS = ("2023", "2023Q4", "2023-10", "2023-12", "2024W05", "2024-01", "2024Q1")
ELEMENTS = ("hiv_tests", "art_current", "plhiv_estimated")
SEXES = ("f", "m", "total")
AGES = ("<15", "15-24", "50+", "60-64", "total")
GROUPS = ("host", "migrant", "total")

Key = tuple[str, str, str, str, str, str]


@st.composite
def services(draw: st.DrawFn) -> pa.Table:
    keys: list[Key] = draw(
        st.lists(
            st.tuples(
                st.sampled_from(PERIODS),
                st.sampled_from(PLACES),
                st.sampled_from(ELEMENTS),
                st.sampled_from(SEXES),
                st.sampled_from(AGES),
                st.sampled_from(GROUPS),
            ),
            max_size=60,
            unique_by=lambda k: (k[1], k[2], k[0], k[3], k[4], k[5]),
        )
    )
    return services_table([(*k, 1.0) for k in keys])


def _truth(
    rows: list[dict[str, object]], elements: tuple[str, ...]
) -> tuple[list[tuple[str, str, bool]], list[str], dict[str, dict[str, date]]]:
    pairs: dict[tuple[str, str], bool] = {}
    first: dict[str, dict[str, date]] = {}
    for r in rows:
        e, p, place = str(r["data_element"]), str(r["period"]), str(r["place_code"])
        if e not in elements:
            continue
        total = "total" in (r["sex"], r["age_band"], r["population_group"])
        pairs[(e, p)] = pairs.get((e, p), False) or total
        start = parse_period(p).start
        own = first.setdefault(e, {})
        own[place] = min(own.get(place, start), start)
    bands = sorted({str(r["age_band"]) for r in rows})
    return sorted((e, p, t) for (e, p), t in pairs.items()), bands, first


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=services(), asked=st.sets(st.sampled_from(ELEMENTS), min_size=1))
def test_both_shapes_give_what_services_hold(
    engine: Engine, data: pa.Table, asked: set[str]
) -> None:
    engine.execute("DELETE FROM services")
    engine.insert_arrow("services", data)
    elements = tuple(sorted(asked))
    pairs, bands, first = _truth(data.to_pylist(), elements)
    for loose in (False, True):
        assert reported_periods(engine, elements, loose) == pairs
        assert age_bands(engine, loose) == bands
        assert first_reports(engine, elements, loose) == first


def test_an_element_without_rows_has_no_answers(engine: Engine) -> None:
    engine.insert_arrow(
        "services", services_table([("2024Q1", "ke-malaba", "hiv_tests", "f", "<15", "host", 3)])
    )
    for loose in (False, True):
        assert reported_periods(engine, ["art_current", "hiv_tests"], loose) == [
            ("hiv_tests", "2024Q1", False)
        ]
        assert first_reports(engine, ["art_current"], loose) == {}
        assert age_bands(engine, loose) == ["<15"]


@pytest.mark.postgres
def test_postgres_walks_the_indexes_of_migration_7(pg_database: str) -> None:
    """Each loose shape is index probes only, no sequential scan of services (on a table
    large enough that the planner has a choice)."""
    engine = connect(pg_database)
    try:
        migrate(engine)
        assert engine.dialect.loose_scans
        rows = [
            (t, f"site-{i}", e, s, a, "host", 1)
            for i in range(40)
            for e in ELEMENTS
            for t in PERIODS[1:4]
            for s in SEXES
            for a in AGES
        ]
        engine.insert_arrow("services", services_table(rows))
        engine.execute("ANALYZE services")
        elements = ["art_current", "hiv_tests"]
        for sql, index in (
            (reported_sql(elements, True), "services_element_partial"),
            (reported_sql(elements, True), "services_element_period"),
            (age_bands_sql(True), "services_age_band"),
            (first_reports_sql(elements, True), "services_element_place"),
        ):
            plan = "\n".join(r[0] for r in engine.query_rows("EXPLAIN " + sql))
            assert "Seq Scan on services" not in plan, plan
            assert index in plan, plan
    finally:
        engine.close()
