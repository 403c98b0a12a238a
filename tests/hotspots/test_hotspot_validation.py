"""Validation against the demonstration world's truth: metric helpers and the FLOOR the method
must hold (docs/hotspots.md, "Validation")."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from corridor.hotspots.validation import (
    demo_workspace,
    precision_at,
    spearman,
    validate_against_truth,
)

#: measured on the demo world, seed 2024, year 2025 (default weights, 500 draws, seed 1):
#: Spearman 0.671 and precision@10 0.4 against true new HIV infections per 1,000 people.
#: Chance precision@10 is 10/89 = 0.11. Floors below leave room for small changes of the world.
FLOOR_SPEARMAN = 0.55
FLOOR_PRECISION_AT_10 = 0.3


def test_precision_at_k_shares_ties() -> None:
    truth = {"a": 5.0, "b": 4.0, "c": 0.0, "d": 0.0, "e": 0.0}
    assert precision_at(2, ["a", "b", "c"], truth) == 1.0
    assert precision_at(2, ["a", "c", "b"], truth) == 0.5
    # top 3: a, b and one of three tied zeros; ranking a, c, d finds a and 2 x 1/3 of a tie
    assert precision_at(3, ["a", "c", "d"], truth) == pytest.approx((1 + 2 / 3) / 3)


def test_spearman() -> None:
    assert spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


@pytest.mark.slow
def test_validation_floor_on_demo_world(tmp_path: Path) -> None:
    """FLOOR: the ranking must find where new HIV infections are, well above chance."""
    t0 = time.perf_counter()
    ws, truth = demo_workspace(tmp_path / "demo", seed=2024)
    try:
        report = validate_against_truth(ws, truth, draws=500, seed=1)
    finally:
        ws.close()
    hiv = report["targets"]["new_infections_per_1000"]
    assert report["year"] == 2025 and report["n_sites"] >= 50
    assert hiv["spearman"] >= FLOOR_SPEARMAN, report
    assert hiv["precision_at_10"] >= FLOOR_PRECISION_AT_10, report
    assert hiv["precision_at_10"] >= 2.5 * report["chance_precision"]
    assert time.perf_counter() - t0 < 60
