"""What an import can change (corridor.access.changes): an answer that the change does not
affect, by the rules the answer cache keeps answers by, is the same after the import."""

from __future__ import annotations

import string
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridor.access.changes import Change, Reads, services_change
from corridor.access.reads import indicator_reads
from corridor.access.scope import Scope, scoped
from corridor.contract.dimensions import DATA_ELEMENTS
from corridor.hotspots import rank_sites
from corridor.hotspots.inputs import ELEMENTS_READ
from corridor.indicators import compute_indicators, publish
from corridor.intake.importer import ingest
from corridor.workspace import Workspace, init_workspace
from hubdata import SITES, load

HEADER = "period,place_code,data_element,sex,age_band,population_group,value\n"
SCOPES = (Scope(None), Scope(frozenset({"ken"})), Scope(frozenset({"uga"})))
INDICATORS = ("positivity", "linkage_proxy", "testing_coverage", "vl_coverage")


class _RolledBack(Exception):
    pass


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    w = init_workspace(tmp_path_factory.mktemp("changes") / "ws")
    load(w.engine)
    yield w
    w.close()


def _answer(w: Workspace, scope: Scope, what: str) -> pa.Table:
    """A published answer as the cache would hold it: an indicator by country, or the ranking."""
    with scoped(w.engine, scope) as eng:
        if what == "ranking":
            table: pa.Table = rank_sites(eng, draws=0).table
            return table
        return publish(compute_indicators(eng, [what], ["country"], None), w.settings)


def _reads(scope: Scope, what: str) -> Reads:
    if what == "ranking":
        return Reads(scope, frozenset(ELEMENTS_READ), latest=True)
    return indicator_reads(scope, [what])


@pytest.fixture(scope="module")
def before(ws: Workspace) -> dict[tuple[Scope, str], pa.Table]:
    return {(s, w): _answer(ws, s, w) for s in SCOPES for w in (*INDICATORS, "ranking")}


def _import(w: Workspace, tmp: Path, lines: list[str]) -> list[int]:
    path = tmp / "".join(c for c in str(abs(hash(tuple(lines)))) if c in string.digits)
    path = path.with_suffix(".csv")
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    results = ingest(w.engine, [path], "services")
    return [r.import_id for r in results if r.import_id is not None]


row = st.tuples(
    st.sampled_from(("2023Q2", "2024Q3", "2024-11", "2025Q1")),
    st.sampled_from(SITES),
    st.sampled_from(sorted(DATA_ELEMENTS)),
    st.sampled_from(("15-24", "total", "25-34")),
    st.integers(1, 400),
)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(row, min_size=1, max_size=3, unique_by=lambda r: r[:4]))
def test_an_answer_the_change_does_not_affect_is_unchanged(
    ws: Workspace,
    before: dict[tuple[Scope, str], pa.Table],
    tmp_path: Path,
    rows: list[tuple[str, str, str, str, int]],
) -> None:
    lines = [f"{p},{site},{e},total,{band},total,{v}\n" for p, site, e, band, v in rows]
    try:
        with ws.engine.transaction():  # rolled back: every example starts from the same data
            change = services_change(ws.engine, _import(ws, tmp_path, lines))
            assert change is not None
            assert change.elements == {r[2] for r in rows}
            for (scope, what), table in before.items():
                if not change.affects(_reads(scope, what)):
                    assert _answer(ws, scope, what).equals(table), (scope, what, change)
            raise _RolledBack
    except _RolledBack:
        pass


def test_the_change_of_an_import(ws: Workspace, tmp_path: Path) -> None:
    cases = [
        (["2023Q2,ug-busia,condoms_distributed,total,15-24,total,5\n"], False, False),
        (["2023Q2,ug-busia,condoms_distributed,total,50+,total,5\n"], True, False),
        (["2025Q1,ug-busia,condoms_distributed,total,15-24,total,5\n"], False, True),
    ]
    for lines, band, latest in cases:
        try:
            with ws.engine.transaction():
                change = services_change(ws.engine, _import(ws, tmp_path, lines))
                raise _RolledBack
        except _RolledBack:
            pass
        assert change == Change(
            frozenset({"uga"}), frozenset({"condoms_distributed"}), band, latest
        )
    assert services_change(ws.engine, []) is None


def test_what_an_answer_reads_decides() -> None:
    change = Change(frozenset({"uga"}), frozenset({"hiv_tests"}), False, False)
    ken, uga = Scope(frozenset({"ken"})), Scope(frozenset({"uga"}))
    assert change.affects(None)  # an answer that does not say what it reads
    assert not change.affects(Reads(ken))  # another country
    assert change.affects(Reads(uga))  # any element
    assert change.affects(Reads(Scope(None), frozenset({"hiv_tests", "hiv_positive"})))
    assert not change.affects(Reads(uga, frozenset({"art_current"})))
    assert not change.affects(Reads(uga, frozenset()))  # places only
    assert change.affects(Reads(Scope(frozenset({"uga"}), "ug-busia"), frozenset({"x"})))
    banded = Change(frozenset({"uga"}), frozenset({"condoms_distributed"}), True, False)
    assert banded.affects(Reads(uga, frozenset({"pop_estimated"}), age_bands=True))
    assert not banded.affects(Reads(uga, frozenset({"pop_estimated"})))
    later = Change(frozenset({"uga"}), frozenset({"condoms_distributed"}), False, True)
    assert later.affects(Reads(uga, frozenset({"hiv_tests"}), latest=True))
    assert not later.affects(Reads(uga, frozenset({"hiv_tests"})))


@pytest.mark.parametrize("what", [*INDICATORS, "ranking"])
def test_an_import_of_every_element_an_answer_does_not_read_leaves_it_unchanged(
    ws: Workspace, before: dict[tuple[Scope, str], pa.Table], tmp_path: Path, what: str
) -> None:
    """The elements each answer is said to read are all it reads (a missing one would keep a
    stale answer after an import)."""
    others = sorted(set(DATA_ELEMENTS) - set(_reads(Scope(None), what).elements or ()))
    lines = [
        f"{p},{site},{e},f,15-24,migrant,{300 + 37 * i}\n"  # replaces a row where one is
        for i, e in enumerate(others)
        for site in ("ug-busia", "ke-malaba")
        for p in ("2023Q4", "2024Q3")
    ]
    try:
        with ws.engine.transaction():
            change = services_change(ws.engine, _import(ws, tmp_path, lines))
            assert change is not None and not change.new_age_band and not change.new_latest
            for scope in SCOPES:
                assert not change.affects(_reads(scope, what))
                assert _answer(ws, scope, what).equals(before[(scope, what)]), scope
            raise _RolledBack
    except _RolledBack:
        pass
