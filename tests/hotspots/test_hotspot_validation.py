"""Validation against the demonstration world's truth: metric helpers and the FLOOR the method
must hold (docs/hotspots.md, "Validation"). In the suite the floor is held on one world (seed
2024, three years); the nine rankings of the acceptance test (three worlds, minutes to generate)
run with CORRIDOR_VALIDATE_NINE=1, the same run as ``python -m corridor.hotspots.validation``."""

from __future__ import annotations

import os

import numpy as np
import pytest

from corridor.hotspots.ranking import RATE_INTERVAL_COVERAGE, RATE_INTERVAL_MIN_DRAWS
from corridor.hotspots.validation import (
    SEEDS,
    YEARS,
    calibration_table,
    precision_at,
    ranking_metrics,
    spearman,
    true_ranks,
    validate_worlds,
)

#: the acceptance numbers of issue 8 (docs/hotspots.md, "Validation")
COVERAGE = (0.80, 0.98)
MIN_BRIER_SKILL = 0.2
#: the 90% interval of the RATE (new infections per 1,000) held the true rate for 81-91% of
#: sites over the nine rankings (58-85% before the recency correction used group-specific
#: testing rates): no ranking may fall below this floor, and the coverage every output states
#: (``ranking.RATE_INTERVAL_COVERAGE``) must be the measured one
MIN_RATE_COVERAGE = 0.80
#: the recency correction's bias: median estimate / true rate in every ranking (measured
#: 0.88-1.09; 1.18-1.38 with the site's average testing rate)
ESTIMATE_OVER_TRUTH = (0.8, 1.2)


def test_precision_at_k_shares_ties() -> None:
    truth = {"a": 5.0, "b": 4.0, "c": 0.0, "d": 0.0, "e": 0.0}
    assert precision_at(2, ["a", "b", "c"], truth) == 1.0
    assert precision_at(2, ["a", "c", "b"], truth) == 0.5
    # top 3: a, b and one of three tied zeros; ranking a, c, d finds a and 2 x 1/3 of a tie
    assert precision_at(3, ["a", "c", "d"], truth) == pytest.approx((1 + 2 / 3) / 3)


def test_spearman() -> None:
    assert spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_true_ranks_share_ties_and_metrics_skip_missing() -> None:
    assert list(true_ranks(np.array([5.0, 3.0, 5.0, 1.0]))) == [1, 3, 1, 4]
    codes = ["a", "b", "c", "d"]
    m = ranking_metrics(np.array([3.0, np.nan, 2.0, 1.0]), np.array([4.0, 3.0, 2.0, 1.0]), codes, 2)
    assert m["spearman"] == pytest.approx(1.0) and m["sites"] == 3
    assert m["precision_at_10"] == pytest.approx(0.5)  # a, c ranked; true top 2: a, b


def test_calibration_table_counts_every_site() -> None:
    p = np.array([0.0, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0])
    hit = np.array([0, 0, 0, 1, 0, 1, 1, 1], dtype=float)
    table = calibration_table(p, hit)
    assert sum(b["sites"] for b in table) == p.size
    assert table[-1]["share_in_true_top10"] == 1.0


def check_floor(reports: list[dict], summary: dict) -> None:
    """The acceptance numbers of issue 8 on the rankings of ``reports``."""
    assert summary["rankings"] == len(reports) and all(r["n_sites"] >= 80 for r in reports)
    rows = summary["rows"]
    singles = {k: v for k, v in rows.items() if k not in ("estimate", "random")}
    assert "positivity" in singles
    best_spearman = max(v["spearman"] for v in singles.values())
    best_precision = max(v["precision_at_10"] for v in singles.values())
    assert rows["estimate"]["spearman"] >= best_spearman, summary
    assert rows["estimate"]["precision_at_10"] >= best_precision, summary
    assert rows["estimate"]["precision_at_10"] >= 4 * rows["random"]["precision_at_10"]
    for coverage in summary["rank_interval_coverage"]:
        assert COVERAGE[0] <= coverage <= COVERAGE[1], summary["rank_interval_coverage"]
    assert summary["brier_skill"] >= MIN_BRIER_SKILL, summary
    check_rate_interval(summary)


def check_rate_interval(summary: dict) -> None:
    """The rate interval's measured coverage: the floor, and what the outputs say of it."""
    rate_coverage = summary["rate_interval_coverage"]
    assert min(rate_coverage) >= MIN_RATE_COVERAGE, rate_coverage
    lo, hi = RATE_INTERVAL_COVERAGE  # stated by every output that shows the rate interval
    if len(rate_coverage) == 9:  # the nine rankings measured it: the statement is exactly theirs
        assert (round(min(rate_coverage), 2), round(max(rate_coverage), 2)) == (lo, hi), (
            rate_coverage
        )
    else:  # one world: within what the nine measured
        assert round(min(rate_coverage), 2) >= lo and round(max(rate_coverage), 2) <= hi, (
            rate_coverage
        )
    for ratio in summary["median_estimate_over_truth"]:
        assert ESTIMATE_OVER_TRUTH[0] <= ratio <= ESTIMATE_OVER_TRUTH[1], ratio


#: CI checks all nine rankings (a minute or two on an idle machine); a developer's `make test`
#: checks one world unless CORRIDOR_VALIDATE_NINE=1
NINE = bool(os.environ.get("CORRIDOR_VALIDATE_NINE")) or os.environ.get("CI") == "true"


#: the draws of the outputs: the HTTP API's and the dashboard's (200,
#: ``ranking.RATE_INTERVAL_MIN_DRAWS``) and the CLI's and the report's default (500); the coverage
#: they state is measured with each (the worlds generated once: ranking them takes seconds)
DRAWS = (RATE_INTERVAL_MIN_DRAWS, 500)


@pytest.mark.slow
@pytest.mark.skipif(NINE, reason="the nine rankings are checked instead (CI)")
def test_validation_floor_on_one_world(tmp_path_factory: pytest.TempPathFactory) -> None:
    """FLOOR (issue 8) in the suite: world seed 2024 x years 2023-2025 (one world to generate,
    so that a developer's suite stays fast), with each of ``DRAWS``. The nine rankings (seeds
    2024, 7, 99) are checked by the test below in CI (or with CORRIDOR_VALIDATE_NINE=1) and by
    ``python -m corridor.hotspots.validation``."""
    folder = tmp_path_factory.mktemp("worlds")
    for draws in DRAWS:
        reports, summary = validate_worlds(folder, (2024,), YEARS, draws=draws)
        check_floor(reports, summary)


@pytest.mark.slow
@pytest.mark.skipif(
    not NINE, reason="three worlds to generate (minutes): set CORRIDOR_VALIDATE_NINE=1 (CI does)"
)
def test_validation_floor_on_nine_rankings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """FLOOR (issue 8): seeds 2024, 7, 99 x years 2023-2025 against true new infections per
    1,000: mean Spearman and precision@10 at least those of the best single observed measure
    (measured in the same run), 90% rank intervals hold the true rank for 80-98% of sites,
    p_top10 has a Brier skill score of at least 0.2 against the constant 10/N, and the 90%
    rate intervals hold the true rate for at least 80% of sites in every ranking (within the
    81-91% that the outputs state), with each of ``DRAWS``."""
    folder = tmp_path_factory.mktemp("worlds")
    for draws in DRAWS:
        reports, summary = validate_worlds(folder, SEEDS, YEARS, draws=draws)
        assert len(reports) == 9
        check_floor(reports, summary)
