"""The cell-key method where a place reports the same count at several levels of disaggregation.

A DHIS2 or spreadsheet export often holds a total row and rows by sex (or by sex, age band and
group) that add up to it. Each output chooses one level per place (docs/indicators.md): the
total where it asks for no disaggregation, the rows by sex where it asks for sex. Before, the
place's total was keyed by the total row in one output and by the sum of the rows by sex in the
other: the same count got two keys, so two independent noises, which an attacker averages or
differences (hiv_tests of 100 published 99 by place and 102 as the total of the rows by sex).
Now the cells of a place always add up to the key of its total, whichever level an output
chooses, and every margin that holds whole places publishes one value.

Also: a key outside [0, 2^32) (a difference of keys left unreduced) is reduced before the
lookup, never read from another count's row of the perturbation table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from corridor.config import load_settings
from corridor.indicators import compute_indicators, publish
from corridor.indicators.cellkey import perturb_counts
from corridor.indicators.disclosure import perturbation_table
from corridor.storage.recordkeys import KEY_MODULUS
from corridor.workspace import init_workspace

SETTINGS = load_settings(None, env={})

PLACES = (
    "place_code,name,place_type,parent_code,country_code,lat,lon\n"
    "ken,Kenya,country,,ken,0,37\n"
    "ke-busia,Busia,border_crossing,ken,ken,0.46,34.1\n"
    "ke-malaba,Malaba,border_crossing,ken,ken,0.63,34.27\n"
)

#: (place, element, sex, age band, group, value): Busia reports each count as a total, by sex
#: and fully disaggregated, all adding up; Malaba only by sex (with an incomplete total row)
ROWS = [
    ("ke-busia", "hiv_tests", "", "", "", 100),
    ("ke-busia", "hiv_tests", "f", "", "", 40),
    ("ke-busia", "hiv_tests", "m", "", "", 60),
    ("ke-busia", "hiv_tests", "f", "15-24", "migrant", 15),
    ("ke-busia", "hiv_tests", "f", "25-34", "host", 25),
    ("ke-busia", "hiv_tests", "m", "15-24", "migrant", 60),
    ("ke-busia", "hiv_positive", "", "", "", 30),
    ("ke-busia", "hiv_positive", "f", "", "", 12),
    ("ke-busia", "hiv_positive", "m", "", "", 18),
    ("ke-busia", "hiv_positive", "f", "15-24", "migrant", 5),
    ("ke-busia", "hiv_positive", "f", "25-34", "host", 7),
    ("ke-busia", "hiv_positive", "m", "15-24", "migrant", 18),
    ("ke-malaba", "hiv_tests", "", "", "", 90),
    ("ke-malaba", "hiv_tests", "f", "", "", 50),
    ("ke-malaba", "hiv_tests", "m", "", "", 30),
    ("ke-malaba", "hiv_positive", "f", "", "", 4),
    ("ke-malaba", "hiv_positive", "m", "", "", 6),
]

BYS: list[list[str]] = [
    [],
    ["place"],
    ["country"],
    ["place", "sex"],
    ["sex"],
    ["place", "age_band"],
    ["place", "population_group"],
    ["place", "sex", "population_group"],
    ["place", "sex", "age_band", "population_group"],
    ["sex", "age_band", "population_group"],
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("levels")
    ws = init_workspace(tmp / "ws")
    (tmp / "places.csv").write_text(PLACES, encoding="utf-8")
    ws.ingest([tmp / "places.csv"], "places")
    lines = ["period,place_code,data_element,sex,age_band,population_group,value"]
    lines += [f"2024Q1,{p},{e},{s},{a},{g},{v}" for p, e, s, a, g, v in ROWS]
    (tmp / "services.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ws.ingest([tmp / "services.csv"], "services")
    yield ws
    ws.close()


def _totals(ws: Any, by: list[str]) -> dict[tuple[str, str], tuple[float, int, float]]:
    """(element, place) -> (true count, key, published count) of each row total over sex, age
    band and group."""
    raw = compute_indicators(ws.engine, ["positivity"], by, "2024Q1", totals=True)
    pub = publish(raw, SETTINGS)
    r, p = raw.to_pydict(), pub.to_pydict()
    out: dict[tuple[str, str], tuple[float, int, float]] = {}
    for i in range(raw.num_rows):
        if any(r[d][i] != "total" for d in ("sex", "age_band", "population_group")):
            continue
        for role in ("numerator", "denominator"):
            ident = (str(r[f"{role}_element"][i]), str(r["place_code"][i]))
            out[ident] = (r[role][i], r[f"{role}_key"][i], p[role][i])
    return out


def test_a_place_total_has_one_key_whichever_level_an_output_chooses(workspace: Any) -> None:
    seen: dict[tuple[str, str], set[tuple[float, int, float]]] = {}
    for by in BYS:
        for ident, cell in _totals(workspace, by).items():
            if ident[1] == "ken":  # the country's row is the all-places total
                ident = (ident[0], "all")
            seen.setdefault(ident, set()).add(cell)
    for place in ("ke-busia", "all"):
        for element in ("hiv_tests", "hiv_positive"):
            cells = seen[(element, place)]
            # one count, one key, one published value in every output
            assert len(cells) == 1, (element, place, sorted(cells))


def test_the_unit_total_key_is_that_of_the_total_row(workspace: Any) -> None:
    by_place = _totals(workspace, ["place"])
    by_sex = _totals(workspace, ["place", "sex"])
    finest = _totals(workspace, ["place", "sex", "age_band", "population_group"])
    for element in ("hiv_tests", "hiv_positive"):
        want = by_place[(element, "ke-busia")]
        assert by_sex[(element, "ke-busia")] == want
        assert finest[(element, "ke-busia")] == want


def test_negative_keys_are_reduced_before_the_lookup() -> None:
    pt = perturbation_table(SETTINGS)
    counts = np.repeat(np.arange(0, 40, dtype=float), 64)
    u = np.tile(np.linspace(0.001, 0.999, 64), 40)
    keys = np.floor(u * KEY_MODULUS)
    wrapped = keys - KEY_MODULUS  # the same keys, unreduced (a difference of sums)
    plain = perturb_counts(counts, keys, pt)
    shifted = perturb_counts(counts, wrapped, pt)
    assert np.array_equal(plain, shifted)
    assert not np.any((shifted > 0) & (shifted < SETTINGS.suppression_threshold))
    assert np.array_equal(perturb_counts(counts, keys + 3 * KEY_MODULUS, pt), plain)


def test_the_values_of_a_report_path_stay_whole(tmp_path: Path) -> None:
    # the levels change keys only: every count and rate of a table is as before
    ws = init_workspace(tmp_path / "ws")
    (tmp_path / "places.csv").write_text(PLACES, encoding="utf-8")
    ws.ingest([tmp_path / "places.csv"], "places")
    lines = ["period,place_code,data_element,sex,age_band,population_group,value"]
    lines += [f"2024Q1,{p},{e},{s},{a},{g},{v}" for p, e, s, a, g, v in ROWS]
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ws.ingest([tmp_path / "s.csv"], "services")
    raw = compute_indicators(ws.engine, ["positivity"], ["place", "sex"], "2024Q1", totals=True)
    got = {
        (r["place_code"], r["sex"]): (r["numerator"], r["denominator"])
        for r in raw.select(["place_code", "sex", "numerator", "denominator"]).to_pylist()
    }
    assert got[("ke-busia", "f")] == (12.0, 40.0)
    assert got[("ke-busia", "m")] == (18.0, 60.0)
    assert got[("ke-busia", "total")] == (30.0, 100.0)
    assert got[("ke-malaba", "unallocated")][1] == 10.0  # 90 - (50 + 30)
    ws.close()


def test_a_count_without_a_key_is_refused_not_perturbed_with_a_stand_in() -> None:
    pt = perturbation_table(SETTINGS)
    with pytest.raises(ValueError, match="without a cell key"):
        perturb_counts(np.array([5.0, 7.0]), np.array([123.0, np.nan]), pt)
    # a zero or a missing count needs no key
    out = perturb_counts(np.array([0.0, np.nan]), np.array([np.nan, np.nan]), pt)
    assert out[0] == 0 and np.isnan(out[1])
