"""reweigh: the ranking again with component multipliers moved (the dashboard's weights)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from hotspot_world import load_synthetic_world
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridor.errors import QueryError
from corridor.hotspots import COMPONENTS, HotspotResult, rank_sites, sensitivity
from corridor.hotspots.reweigh import parse_multipliers, reweigh
from corridor.storage.engine import connect
from corridor.storage.migrations import migrate


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HotspotResult]:
    eng = connect(str(tmp_path_factory.mktemp("rw") / "w.duckdb"))
    migrate(eng)
    load_synthetic_world(eng, n_sites=40)
    yield rank_sites(eng, draws=0)
    eng.close()


def test_unmoved_multipliers_keep_the_calibrated_ranking(result: HotspotResult) -> None:
    again = reweigh(result)
    assert not again.moved and again.entered == [] and again.left == []
    assert again.place_codes == result.place_codes
    assert again.rank.tolist() == result.table.column("rank").to_pylist()
    np.testing.assert_allclose(
        again.per_1000, result.table.column("new_infections_per_1000").to_numpy()
    )


def test_moving_a_multiplier_is_the_sensitivity_analysis(result: HotspotResult) -> None:
    """At 1.5 on one component, the top 10 moves exactly as ``sensitivity``'s +50% says."""
    sens = sensitivity(result, top=10).to_pylist()
    assert sens, "the synthetic world has lifts on some component"
    for row in sens:
        factor = row["factor"]
        again = reweigh(result, {row["component"]: factor}, top=10)
        assert again.moved
        assert ";".join(again.entered) == row["entered_codes"]
        assert ";".join(again.left) == row["left_codes"]


def test_a_multiplier_changes_the_ranking(result: HotspotResult) -> None:
    moved = [reweigh(result, {c: 3.0}) for c in COMPONENTS]
    assert any(m.place_codes != result.place_codes for m in moved)
    assert any(m.entered for m in moved)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(st.sampled_from(COMPONENTS), st.floats(0.0, 3.0), max_size=4))
def test_ranks_and_top_changes_are_consistent(
    result: HotspotResult, mult: dict[str, float]
) -> None:
    again = reweigh(result, mult, top=10)
    assert sorted(again.place_codes) == sorted(result.place_codes)
    assert np.all(np.diff(again.rank) >= 0)  # new order is by new rank
    before = {
        c
        for c, r in zip(result.place_codes, result.table.column("rank").to_pylist(), strict=True)
        if r <= 10
    }
    after = {c for c, r in zip(again.place_codes, again.rank.tolist(), strict=True) if r <= 10}
    assert set(again.entered) == after - before and set(again.left) == before - after
    # the estimate moves by exp((m - 1) x lift) per component, nothing else
    i = {c: k for k, c in enumerate(result.place_codes)}
    expected = result.table.column("new_infections_per_1000").to_numpy().copy()
    for j, c in enumerate(COMPONENTS):
        expected = expected * np.exp((mult.get(c, 1.0) - 1.0) * result.lift[:, j])
    got = np.empty_like(expected)
    got[[i[c] for c in again.place_codes]] = again.per_1000
    np.testing.assert_allclose(got, expected, rtol=1e-9)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"speed": 1}, "unknown component 'speed'"),
        ({"burden": "lots"}, "must be a number"),
        ({"burden": -1}, "between 0 and 3"),
        ({"burden": float("nan")}, "between 0 and 3"),
        ({"mobility": 3.5}, "between 0 and 3"),
    ],
)
def test_bad_multipliers_are_user_errors(raw: dict[str, object], words: str) -> None:
    with pytest.raises(QueryError, match=words):
        parse_multipliers(raw)


def test_top_must_be_positive(result: HotspotResult) -> None:
    with pytest.raises(QueryError, match="top must be"):
        reweigh(result, top=0)
