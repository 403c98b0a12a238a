"""Attack: least squares over period ranges, against what may be published.

Each period range (``--period 2021Q2:2023Q3``) would be a cell of its own under the cell-key
method: its rows are the quarters it covers, so its key (the sum of their record keys) and its
noise are new. Asking for every range of 28 quarters (406 queries) and solving the noisy sums by
least squares recovered 482 of 1,150 quarterly counts of 1-9 exactly on the demonstration world
(42%). ``publish`` therefore refuses a sum over any range but one calendar period or four
consecutive quarters (``buckets.published_window``): this test checks that an arbitrary range is
refused, then mounts the same attack on every window that may be published (28 quarters, 7
years, 25 windows of four consecutive quarters) and holds its exact recoveries to what chance
allows one difference: for each small quarterly count, the chance that at least one of the
differences the published windows offer for it (its year minus the year's other quarters; each
window of four quarters holding it minus the window's other quarters) has noises that cancel,
from the perturbation table (+ 3 standard deviations + 1, the rule of
``test_disclosure_attacks.py``). Measured: 131 of 1,150 exact (11.4%; the quarters and years
alone 63, 5.5%).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
import pytest

from corridor.config import load_settings
from corridor.errors import QueryError
from corridor.indicators import compute_indicators, publish
from corridor.indicators.disclosure import perturbation_table

SETTINGS = load_settings(None, env={})
IDS = ["positivity", "mpox_positivity", "recent_infections"]
QUARTERS = [f"{y}Q{q}" for y in range(2019, 2026) for q in range(1, 5)]


def _counts(table: Any) -> dict[tuple[str, str, str], float]:
    """(element, place, role) -> count of each row of a by-place table."""
    d = table.select(
        ["place_code", "numerator", "denominator", "numerator_element", "denominator_element"]
    ).to_pydict()
    out: dict[tuple[str, str, str], float] = {}
    for i in range(table.num_rows):
        for role in ("numerator", "denominator"):
            v = d[role][i]
            if v is not None and d["place_code"][i] != "all":
                out[(d[f"{role}_element"][i], d["place_code"][i], role)] = float(v)
    return out


#: the windows that may be published as one sum: quarters, years, four consecutive quarters
WINDOWS = sorted(
    {(a, a) for a in range(len(QUARTERS))} | {(a, a + 3) for a in range(len(QUARTERS) - 3)}
)


def test_a_range_that_is_no_calendar_period_is_refused(demo_workspace: Any) -> None:
    raw = compute_indicators(demo_workspace.engine, IDS, ["place"], "2021Q2:2023Q3")
    with pytest.raises(QueryError, match="Ask for the range by period"):
        publish(raw, SETTINGS)
    by_period = compute_indicators(demo_workspace.engine, IDS, ["place", "period"], "2021Q2:2023Q3")
    assert publish(by_period, SETTINGS).num_rows > 0


@pytest.fixture(scope="module")
def ranges(demo_workspace: Any) -> tuple[dict[Any, list[Any]], dict[Any, dict[int, float]]]:
    eng = demo_workspace.engine
    obs: dict[Any, list[tuple[int, int, float, float]]] = defaultdict(list)
    for a, b in WINDOWS:
        raw = compute_indicators(eng, IDS, ["place"], f"{QUARTERS[a]}:{QUARTERS[b]}")
        pub = _counts(publish(raw, SETTINGS))
        for cell, true in _counts(raw).items():
            if cell in pub:
                obs[cell].append((a, b, pub[cell], true))
    raw = compute_indicators(eng, IDS, ["place", "period"], f"{QUARTERS[0]}:{QUARTERS[-1]}")
    columns = ["period", "place_code", "numerator", "denominator"]
    d = raw.select([*columns, "numerator_element", "denominator_element"]).to_pydict()
    truth: dict[Any, dict[int, float]] = defaultdict(dict)
    for i in range(raw.num_rows):
        for role in ("numerator", "denominator"):
            v = d[role][i]
            if v is not None and d["place_code"][i] != "all":
                cell = (d[f"{role}_element"][i], d["place_code"][i], role)
                truth[cell][QUARTERS.index(d["period"][i])] = float(v)
    return obs, truth


def _p_cancel(whole: float, parts: list[float]) -> float:
    """The chance that the noise of a window with count ``whole`` equals the sum of the noises
    of ``parts`` (its other quarters): then the window minus them gives the hidden count."""
    pt = perturbation_table(SETTINGS)
    total: dict[int, float] = {0: 1.0}
    for c in parts:
        nxt: dict[int, float] = defaultdict(float)
        for d1, p1 in total.items():
            for d2, p2 in pt.probabilities(int(c)).items():
                nxt[d1 + d2] += p1 * p2
        total = nxt
    return sum(p * total.get(d, 0.0) for d, p in pt.probabilities(int(whole)).items())


def test_least_squares_over_published_windows_recovers_no_more_than_chance(
    ranges: tuple[dict[Any, list[Any]], dict[Any, dict[int, float]]],
) -> None:
    obs, truth = ranges
    n = len(QUARTERS)
    exact = 0
    chance = 0.0
    var = 0.0
    small = 0
    for cell, rows in obs.items():
        if cell not in truth:
            continue
        x = np.zeros((len(rows), n))
        y = np.array([r[2] for r in rows])
        for i, (a, b, _, _) in enumerate(rows):
            x[i, a : b + 1] = 1.0
        est, *_ = np.linalg.lstsq(x, y, rcond=None)
        counts = truth[cell]
        for q, t in counts.items():
            if not 1 <= t <= 9:
                continue
            small += 1
            exact += int(round(est[q]) == t)
            # the windows of four quarters holding q (its year among them), each minus its
            # other quarters: the chance that one of those differences is exact
            miss = 1.0
            for a in range(max(0, q - 3), min(q, n - 4) + 1):
                quarters = range(a, a + 4)
                whole = sum(counts.get(k, 0.0) for k in quarters)
                parts = [counts.get(k, 0.0) for k in quarters if k != q]
                miss *= 1.0 - _p_cancel(whole, parts)
            chance += 1.0 - miss
            var += (1.0 - miss) * miss
    bound = chance + 3 * math.sqrt(var) + 1
    print(
        f"published windows: {len(WINDOWS)} queries, {small} small counts, {exact} recovered "
        f"exactly; chance {chance:.1f}, bound {bound:.1f}"
    )
    assert small > 100
    assert exact <= bound, (
        f"least squares over the published windows recovered {exact} of {small} small counts "
        f"exactly; one difference allows {chance:.1f} by chance (bound {bound:.1f})"
    )
