"""Attacks on the published outputs of the demonstration workspace (issue 12).

A determined analyst with only published outputs tries to recover small counts (1-9) by
differencing: a country minus its other sites, a year minus its other quarters, an admin area
minus its other sites, and the margins of one large output minus their other cells. Under the
cell-key method every published count carries its own noise, so such a difference is the hidden
count plus a sum of noises: it is exact only when the noises cancel. The tests count the exact
recoveries and compare them with the number the noise distribution allows by chance (the sum,
over attacks, of the probability that the noises cancel, computed from the perturbation table):
the observed number must not exceed it by more than sampling error. The attacker cannot tell
which of the differences are the exact ones.

They also check that no published count is 1-9 and that the same cell publishes the same value
in every output, whatever else the query asks for (other groupings, other indicator lists).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from corridor.config import load_settings
from corridor.indicators import compute_indicators, publish
from corridor.indicators.disclosure import perturbation_table
from corridor.indicators.ptable import PerturbationTable

SETTINGS = load_settings(None, env={})
T = SETTINGS.suppression_threshold
Cell = tuple[str, str, str, str, str, str]  # element, period, place, sex, age band, group


@dataclass
class Output:
    raw: dict[Cell, float]
    pub: dict[Cell, float]
    table: pa.Table


def cells_of(table: pa.Table) -> dict[Cell, float]:
    out: dict[Cell, float] = {}
    cols = ["period", "place_code", "sex", "age_band", "population_group"]
    data = table.select(
        [*cols, "numerator", "denominator", "numerator_element", "denominator_element"]
    ).to_pydict()
    for i in range(table.num_rows):
        ident = tuple(data[c][i] for c in cols)
        for role in ("numerator", "denominator"):
            v = data[role][i]
            if v is not None:
                out[(data[f"{role}_element"][i], *ident)] = float(v)  # type: ignore[assignment]
    return out


def query(ws: Any, ids: Sequence[str], by: Sequence[str], period: str) -> Output:
    raw = compute_indicators(ws.engine, ids, by, period, totals=True)
    pub = publish(raw, SETTINGS)
    true, shown = cells_of(raw), cells_of(pub)
    # a cell in no listed row: publish left out every row it is in, as it leaves out every row
    # whose counts are all published 0, so the attacker reads it as 0
    return Output(true, {c: shown.get(c, 0.0) for c in true}, pub)


@pytest.fixture(scope="module")
def outputs(demo_workspace: Any) -> dict[str, Output]:
    ws = demo_workspace
    ids = ["positivity", "mpox_positivity"]
    return {
        "country": query(ws, ids, ["country"], "2024"),
        "admin1": query(ws, ids, ["admin1"], "2024"),
        "sites": query(ws, ids, ["place", "country", "admin1"], "2024"),
        "site_quarters": query(ws, ids, ["place", "period"], "2024Q1:2024Q4"),
        "groups": query(ws, ids, ["sex", "population_group"], "2024Q1"),
        "site_groups": query(ws, ids, ["place", "sex", "population_group"], "2024Q1"),
        "site_groups_all": query(ws, ["all"], ["place", "sex", "population_group"], "2024Q1"),
        "cascade_groups": query(ws, ["cascade"], ["country", "population_group"], "2024"),
    }


_PMF: dict[int, tuple[int, np.ndarray]] = {}


def noise_pmf(ptable: PerturbationTable, count: float) -> tuple[int, np.ndarray]:
    """(lowest noise, probabilities of lowest .. highest noise) of a true count."""
    c = max(0, round(count))
    if c not in _PMF:
        probs = ptable.probabilities(c)
        lo, hi = min(probs), max(probs)
        arr = np.zeros(hi - lo + 1)
        for d, p in probs.items():
            arr[d - lo] = p
        _PMF[c] = (lo, arr)
    return _PMF[c]


def cancel_probability(ptable: PerturbationTable, margin: float, others: Iterable[float]) -> float:
    """P(noise of the margin == sum of the noises of the others): the difference is exact."""
    lo, dist = 0, np.ones(1)
    for v in others:
        vlo, pmf = noise_pmf(ptable, v)
        lo, dist = lo + vlo, np.convolve(dist, pmf)
    mlo, mpmf = noise_pmf(ptable, margin)
    total = 0.0
    for i, p in enumerate(mpmf):
        j = mlo + i - lo
        if 0 <= j < len(dist):
            total += p * dist[j]
    return total


@dataclass
class Tally:
    attacks: int = 0
    exact: int = 0
    chance: float = 0.0
    var: float = 0.0

    def add(self, exact: bool, p: float) -> None:
        self.attacks += 1
        self.exact += int(exact)
        self.chance += p
        self.var += p * (1 - p)

    def check(self, name: str) -> None:
        print(
            f"{name}: {self.attacks} small counts attacked, {self.exact} recovered exactly "
            f"({self.exact / max(1, self.attacks):.1%}); chance allows {self.chance:.1f} "
            f"({self.chance / max(1, self.attacks):.1%})"
        )
        assert self.attacks > 0, f"{name}: no small count to attack"
        assert self.exact <= self.chance + 3 * math.sqrt(self.var) + 1, name


def difference_attack(
    tally: Tally,
    margin_out: Output,
    margin: Cell,
    parts_out: Output,
    parts: Sequence[Cell],
    ptable: PerturbationTable,
) -> None:
    """Each small part, estimated as the published margin minus the other published parts."""
    if margin not in margin_out.pub:
        return
    for target in parts:
        true = parts_out.raw.get(target, 0.0)
        if not 0 < true < T:
            continue
        others = [c for c in parts if c != target]
        est = margin_out.pub[margin] - sum(parts_out.pub.get(c, 0.0) for c in others)
        p = cancel_probability(
            ptable, margin_out.raw[margin], [parts_out.raw.get(c, 0.0) for c in others]
        )
        tally.add(round(est) == round(true), p)


def test_no_published_count_is_small(outputs: dict[str, Output]) -> None:
    for name, out in outputs.items():
        small = [c for c, v in out.pub.items() if 0 < v < T]
        assert not small, f"{name}: published small counts {small[:3]}"
        assert "numerator_key" not in out.table.column_names  # keys never leave
        hidden = sum(1 for v in out.raw.values() if 0 < v < T)
        assert name == "country" or hidden > 0  # there were small counts to protect


def test_same_cell_same_value_in_every_output(outputs: dict[str, Output]) -> None:
    seen: dict[Cell, tuple[float, float, str]] = {}
    shared = 0
    for name, out in outputs.items():
        for cell, v in out.pub.items():
            if cell in seen:
                raw, pub, first = seen[cell]
                if raw == out.raw[cell]:
                    shared += 1
                    assert pub == v, f"{cell}: {pub} in {first}, {v} in {name}"
            else:
                seen[cell] = (out.raw[cell], v, name)
    assert shared > 1000  # groupings and indicator lists overlap a lot


def test_rates_are_computed_from_published_counts(outputs: dict[str, Output]) -> None:
    t = outputs["sites"].table
    num = np.array(t.column("numerator").to_pylist(), dtype=float)
    den = np.array(t.column("denominator").to_pylist(), dtype=float)
    value = np.array(t.column("value").to_pylist(), dtype=float)
    ok = den > 0
    assert np.allclose(value[ok], 100 * num[ok] / den[ok])


def _by_parent(sites: Output, column: str) -> dict[str, list[str]]:
    t = sites.table.select(["place_code", column]).to_pylist()
    out: dict[str, set[str]] = defaultdict(set)
    for r in t:
        if r["place_code"] != "all" and r[column] != "all":
            out[r[column]].add(r["place_code"])
    return {k: sorted(v) for k, v in out.items()}


def _elements(out: Output) -> set[str]:
    return {c[0] for c in out.raw}


def test_country_and_admin_area_minus_sites(outputs: dict[str, Output]) -> None:
    ptable = perturbation_table(SETTINGS)
    sites = outputs["sites"]
    for level, column in (("country", "country"), ("admin1", "admin1")):
        tally = Tally()
        margins = outputs[level]
        for parent, children in _by_parent(sites, column).items():
            for element in _elements(margins):
                margin: Cell = (element, "2024", parent, "total", "total", "total")
                parts = [(element, "2024", s, "total", "total", "total") for s in children]
                difference_attack(tally, margins, margin, sites, parts, ptable)
        tally.check(f"{level} minus sites")


def test_year_minus_quarters(outputs: dict[str, Output]) -> None:
    ptable = perturbation_table(SETTINGS)
    sites, quarters = outputs["sites"], outputs["site_quarters"]
    tally = Tally()
    for cell in list(sites.raw):
        element, _period, place, *dims = cell
        if place == "all":
            continue
        parts = [(element, f"2024Q{q}", place, *dims) for q in range(1, 5)]
        difference_attack(tally, sites, cell, quarters, parts, ptable)  # type: ignore[arg-type]
    tally.check("year minus quarters")


def test_differencing_within_one_large_output(outputs: dict[str, Output]) -> None:
    """Every margin of the output minus its other cells, along each grouped dimension."""
    ptable = perturbation_table(SETTINGS)
    out = outputs["site_groups_all"]
    tally = Tally()
    by_rest: dict[tuple[Any, ...], list[Cell]] = defaultdict(list)
    axes = {2: "all", 3: "total", 5: "total"}  # place, sex, population group
    for cell in out.raw:
        for a, margin_code in axes.items():
            if cell[a] != margin_code:
                by_rest[(a, *cell[:a], *cell[a + 1 :])].append(cell)
    for key, parts in by_rest.items():
        a = key[0]
        rest = key[1:]
        margin = (*rest[:a], axes[a], *rest[a:])
        difference_attack(tally, out, margin, out, parts, ptable)  # type: ignore[arg-type]
    tally.check("within one output")


def test_suppression_setting_still_withholds(demo_workspace: Any) -> None:
    settings = load_settings(None, env={}, overrides={"disclosure_method": "suppression"})
    raw = compute_indicators(demo_workspace.engine, ["positivity"], ["place"], "2024Q1")
    out = publish(raw, settings)
    flags = out.column("numerator_flag").to_pylist()
    assert f"<{T}" in flags
    assert "numerator_key" not in out.column_names
    nums = [v for v in out.column("numerator").to_pylist() if v is not None]
    assert not [v for v in nums if 0 < v < T]


def test_suppression_by_place_and_corridor_shows_no_small_count(demo_workspace: Any) -> None:
    """Each corridor's total over its places is its own count, and an element that two
    indicators pair differently is withheld where the two differ (both once showed small
    counts of this output: corridor totals of 1 to 9)."""
    settings = load_settings(None, env={}, overrides={"disclosure_method": "suppression"})
    by = ["place", "corridor", "sex", "population_group", "period"]
    raw = compute_indicators(demo_workspace.engine, ["all"], by, "2025Q2:2025Q4", totals=True)
    out = publish(raw, settings)
    for role in ("numerator", "denominator"):
        shown = [v for v in out.column(role).to_pylist() if v is not None]
        assert not [v for v in shown if 0 < v < T], role
    # the corridors' totals differ, and some are shown
    totals = [
        r
        for r in out.select(["place_code", "corridor", "numerator"]).to_pylist()
        if r["place_code"] == "all" and r["numerator"] is not None
    ]
    assert len({r["corridor"] for r in totals}) > 1


# ---- linear solving within one large output ------------------------------------------------
def _two_way_systems(out: Output) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, int]]:
    """Per (element, period, place): its sex x group table as a linear system, grouped by shape.

    Unknowns: the table's cells (sex and group not total); observations: every published cell
    and every published margin (a sex, a group, the total) as the sum of the cells it covers.
    Returns per shape (solver = pseudo-inverse, true observations, published observations,
    number of cells): least squares of all blocks of that shape in one product."""
    blocks: dict[tuple[Any, ...], dict[tuple[str, str], tuple[float, float]]] = {}
    for cell, v in out.raw.items():
        element, period, place, sex, age, group = cell
        if age == "total":
            blocks.setdefault((element, period, place), {})[(sex, group)] = (v, out.pub[cell])
    shapes: dict[tuple[Any, ...], list[dict[tuple[str, str], tuple[float, float]]]] = {}
    for b in blocks.values():
        inner = tuple(sorted(k for k in b if "total" not in k))
        outer = tuple(sorted(k for k in b if "total" in k))
        if len(inner) > 1 and outer:
            shapes.setdefault((inner, outer), []).append(b)
    systems = []
    for (inner, outer), members in shapes.items():
        rows = [[1.0 if j == i else 0.0 for j in range(len(inner))] for i in range(len(inner))]
        for s_, g_ in outer:
            rows.append([float(s_ in ("total", s) and g_ in ("total", g)) for s, g in inner])
        solve = np.linalg.pinv(np.array(rows)).T
        keys = [*inner, *outer]
        true = np.array([[b[k][0] for k in keys] for b in members])
        pub = np.array([[b[k][1] for k in keys] for b in members])
        systems.append((solve, true, pub, len(inner)))
    return systems


def test_linear_solving_within_one_large_output(outputs: dict[str, Output]) -> None:
    """The attacker solves each site's sex x group table and its margins by least squares (every
    published cell and margin an equation) and rounds. The chance figure: the same solver on the
    same true tables perturbed with fresh random keys (the noise distribution alone), 20 times."""
    ptable = perturbation_table(SETTINGS)
    systems = _two_way_systems(outputs["site_groups_all"])
    rng = np.random.default_rng(12)
    attacked = exact = 0
    by_chance = np.zeros(20)
    for solve, true, pub, n in systems:
        cells = true[:, :n]
        small = (cells > 0) & (cells < T)
        attacked += int(small.sum())
        exact += int((np.rint(pub @ solve) == cells)[small].sum())
        counts = np.maximum(np.rint(true), 0).astype(np.int64)
        for r in range(len(by_chance)):
            noisy = ptable.perturb(counts.ravel(), rng.random(counts.size)).reshape(counts.shape)
            by_chance[r] += int((np.rint(noisy @ solve) == cells)[small].sum())
    mean, sd = float(by_chance.mean()), float(by_chance.std())
    print(
        f"linear solving: {attacked} small counts attacked, {exact} recovered exactly "
        f"({exact / max(1, attacked):.1%}); chance allows {mean:.1f} "
        f"({mean / max(1, attacked):.1%}, sd {sd:.1f})"
    )
    assert attacked > 500, "too few small counts to attack"
    assert exact <= mean + 3 * sd + 1


# ---- the ranking's raw measures and the report ---------------------------------------------
@pytest.fixture(scope="module")
def hotspot_outputs(demo_workspace: Any) -> tuple[Any, pa.Table, pa.Table]:
    from corridor.hotspots import rank_sites
    from corridor.hotspots.disclosure import measure_rows

    result = rank_sites(demo_workspace.engine, period="2024Q1", draws=0)
    rows = measure_rows(result)
    return result, rows, publish(rows, SETTINGS)


def _hotspot_cells(rows: pa.Table) -> dict[Cell, float]:
    out: dict[Cell, float] = {}
    for r in rows.to_pylist():
        for role in ("numerator", "denominator"):
            if r[role] is not None and r[f"{role}_element"] is not None:
                ident = (r["period"], r["place_code"], "total", "total", "total")
                out[(r[f"{role}_element"], *ident)] = float(r[role])
    return out


def test_hotspot_measures_publish_the_same_cells(
    outputs: dict[str, Output], hotspot_outputs: tuple[Any, pa.Table, pa.Table]
) -> None:
    """The ranking's counts (hiv_positive at a site over 2024Q1, ...) publish as in every other
    output; none is 1-9; the exported, explained and reported rates are the published ones."""
    result, rows, pub = hotspot_outputs
    raw_cells, pub_cells = _hotspot_cells(rows), _hotspot_cells(pub)
    assert not [c for c, v in pub_cells.items() if 0 < v < T]
    assert sum(1 for v in raw_cells.values() if 0 < v < T) > 0  # there were small counts
    sites = outputs["site_groups_all"]  # all indicators by site x sex x group, 2024Q1
    shared = 0
    for cell, v in pub_cells.items():
        if cell in sites.pub and sites.raw[cell] == raw_cells[cell]:
            shared += 1
            assert sites.pub[cell] == v, cell
    assert shared > 50
    table = {r["place_code"]: r for r in result.disclosed(SETTINGS).to_pylist()}
    for r in pub.to_pylist():
        name = r["indicator"].removeprefix("hotspots.")
        if r["denominator"] is not None and r["value"] is not None:
            assert table[r["place_code"]][name] == pytest.approx(r["value"])
    code = result.place_codes[0]
    info = result.explain(code, threshold=SETTINGS)
    for c in info["components"]:
        for m in c["measures"]:
            v = table[code][m["measure"]]
            if m["value"] is not None and v is not None:
                scale = 100.0 if m["unit"] == "%" else 1.0
                assert m["value"] == pytest.approx(scale * v, rel=1e-5, abs=1e-6)


def test_hotspot_mobile_total_minus_groups(
    demo_workspace: Any, hotspot_outputs: tuple[Any, pa.Table, pa.Table]
) -> None:
    """The ranking publishes a site's HIV tests of the mobile groups and of all groups (margins
    no indicator output has): each margin minus the published groups of
    ``--by place,population_group``."""
    from corridor.contract.dimensions import MOBILE_GROUPS

    ptable = perturbation_table(SETTINGS)
    _result, rows, pub = hotspot_outputs
    groups = query(demo_workspace, ["positivity"], ["place", "population_group"], "2024Q1")
    margin_out = Output(_hotspot_cells(rows), _hotspot_cells(pub), pub)
    every = sorted({c[5] for c in groups.raw} - {"total", "unallocated"})
    tally = Tally()
    for cell in margin_out.raw:
        element, period, place, *_ = cell
        if element not in ("hiv_tests_mobile", "hiv_tests_by_group"):
            continue
        covered = MOBILE_GROUPS if element == "hiv_tests_mobile" else every
        parts = [("hiv_tests", period, place, "total", "total", g) for g in covered]
        difference_attack(tally, margin_out, cell, groups, parts, ptable)  # type: ignore[arg-type]
    tally.check("ranking's group totals minus groups")


def test_report_publishes_no_small_count_and_the_same_cells(
    demo_workspace: Any, outputs: dict[str, Output]
) -> None:
    import re

    from corridor.reports.html import render_report

    html = render_report(demo_workspace, period="2024", draws=0)
    counts_of_people = []
    for section in ("cascade", "outbreak"):
        m = re.search(rf'<section id="{section}">(.*?)</section>', html, re.S)
        assert m, section
        counts_of_people += [
            float(v.replace(",", ""))
            for v in re.findall(r'<span class="shown">([\d,]+)</span>', m.group(1))
        ]
    assert counts_of_people and not [v for v in counts_of_people if 0 < v < T]
    cascade = outputs["cascade_groups"].table
    published = {
        (r["numerator"], r["denominator"])
        for r in cascade.to_pylist()
        if r["numerator"] is not None and r["denominator"] is not None
    }
    m = re.search(r'<section id="cascade">(.*?)</section>', html, re.S)
    assert m
    pairs = re.findall(
        r'<span class="sub"><span class="shown">([\d,]+)</span> / '
        r'<span class="shown">([\d,]+)</span>',
        m.group(1),
    )
    shown = {(float(a.replace(",", "")), float(b.replace(",", ""))) for a, b in pairs}
    assert len(shown) > 20 and shown <= published  # the report's counts are the CLI's
