"""``rank_sites``: the explained ranking of sites with uncertainty, and its result object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from corridor.errors import QueryError
from corridor.hotspots.components import COMPONENTS, SPECS, SiteData, compute_site_data
from corridor.hotspots.scoring import (
    NORMALIZATIONS,
    Normaliser,
    Normalization,
    Weights,
    combine,
    imputation_pools,
    impute_draws,
    impute_point,
    parse_weights,
    rank_order,
)
from corridor.hotspots.uncertainty import dirichlet_weights, resample_numerator, summarise
from corridor.hotspots.warehouse import resolve_window
from corridor.storage.engine import Engine

PLACE_COLUMNS = ("place_code", "name", "place_type", "country_code", "lat", "lon", "corridor")


@dataclass(slots=True)
class MeasureResult:
    """One measure at every site, in ranking order."""

    name: str
    component: str
    label: str
    target: float | None
    counts: bool
    value: np.ndarray  # raw value as observed (NaN where missing)
    normalised: np.ndarray  # in [0, 1], imputed where missing
    imputed: np.ndarray  # bool
    numerator: np.ndarray
    denominator: np.ndarray


@dataclass(slots=True)
class HotspotResult:
    """The ranking. ``table`` is the analyst's view: its raw measures are NOT disclosure
    controlled; use ``disclosed()`` (and ``explain(..., threshold=N)``) for anything that leaves.
    """

    table: pa.Table
    weights: dict[str, float]  # effective component weights (sum 1; 0 for components left out)
    measure_weights: dict[str, float]  # relative weights of measures within components
    components: tuple[str, ...]  # components with data (the others are left out of the score)
    period: str
    draws: int
    seed: int
    normalization: str
    level: float
    top: int
    notes: list[str]
    component_values: np.ndarray  # sites x len(COMPONENTS), ranking order, NaN when left out
    measures: dict[str, MeasureResult] = field(default_factory=dict)
    #: hidden (place, measure) pairs by threshold: disclosure control runs once per result
    disclosure_cache: dict[int, set[tuple[str, str]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def place_codes(self) -> list[str]:
        return [str(c) for c in self.table.column("place_code").to_pylist()]

    def explain(self, place_code: str, *, threshold: int | None = None) -> dict[str, Any]:
        """Why a site ranks where it does; raw counts disclosure-controlled when ``threshold``."""
        from corridor.hotspots.explain import explain_site

        return explain_site(self, place_code, threshold=threshold)

    def disclosed(self, threshold: int = 10) -> pa.Table:
        """``table`` with every raw measure built on a count below ``threshold`` suppressed."""
        from corridor.hotspots.disclosure import disclosed_table

        return disclosed_table(self, threshold)


def rank_sites(
    engine: Engine,
    *,
    period: str | None = None,
    weights: Mapping[str, Any] | Weights | None = None,
    draws: int = 500,
    seed: int = 1,
    normalization: Normalization = "rank",
    level: float = 0.95,
    top: int = 10,
) -> HotspotResult:
    """Rank every site (place types in ``SITE_TYPES``) by vulnerability, with uncertainty.

    ``period``: a period or range (``2024``, ``2023Q1:2024Q4``); default the latest 12 months.
    ``weights``: component -> weight (unnamed components keep their defaults; rescaled to sum 1),
    optionally ``measures``: measure -> weight within its component (default 1 each).
    ``draws``: bootstrap x weight-perturbation draws (0: no intervals); ``level``: interval level;
    ``top``: the size of the top group for ``p_top10`` (the column keeps its name).
    """
    if draws < 0:
        raise QueryError(f"draws must be >= 0, got {draws}")
    if not 0 < level < 1:
        raise QueryError(f"level must be between 0 and 1, got {level}")
    if top < 1:
        raise QueryError(f"top must be >= 1, got {top}")
    if normalization not in NORMALIZATIONS:
        raise QueryError(f"unknown normalisation {normalization!r}; expected rank or minmax")
    w_all = parse_weights(weights)
    window = resolve_window(engine, period)
    data = compute_site_data(engine, window)
    if data.sites.empty:
        raise QueryError(
            "no sites to rank: the place registry has no place of a site type "
            "(border_crossing, truck_stop, mine, ...)"
        )
    return score_sites(
        data,
        w_all,
        draws=draws,
        seed=seed,
        normalization=normalization,
        level=level,
        top=top,
    )


def score_sites(
    data: SiteData,
    weights: Weights,
    *,
    draws: int,
    seed: int,
    normalization: Normalization,
    level: float,
    top: int,
) -> HotspotResult:
    """The scoring model on measures already computed (no database access)."""
    sites = data.sites
    n = len(sites)
    types = sites["place_type"].to_numpy()
    rng = np.random.default_rng(seed)
    notes = list(data.notes)
    mw = weights.measures
    measures = [m for m in data.measures if mw[m.spec.name] > 0]
    for m in data.measures:
        if mw[m.spec.name] <= 0:
            notes.append(f"measure {m.spec.name}: weight 0; left out of its component")
    used = tuple(
        c
        for c in COMPONENTS
        if weights.components[c] > 0 and any(m.spec.component == c for m in measures)
    )
    for c in COMPONENTS:
        if weights.components[c] > 0 and c not in used:
            notes.append(f"component {c}: no data at any site; left out of the score")
    if not used:
        raise QueryError("none of the components with a weight above 0 has data in the window")
    w = np.array([weights.components[c] for c in used], dtype=float)
    w = w / w.sum()

    point_norm: dict[str, np.ndarray] = {}
    draw_norm: dict[str, np.ndarray] = {}
    imputed: dict[str, np.ndarray] = {}
    flags: list[set[str]] = [set() for _ in range(n)]
    for m in data.measures:  # all of them: measures weighted 0 are still shown
        name = m.spec.name
        scored = m.scored(m.value())
        obs = np.isfinite(scored)
        pools = imputation_pools(obs, types)
        norm = Normaliser(scored[obs], normalization)
        point_norm[name] = norm(impute_point(scored, pools))
        imputed[name] = ~obs
        for i in np.flatnonzero(~obs):
            flags[i].add(m.extra_flags.get(int(i), m.spec.missing_flag))
        if draws:
            sd = m.scored(m.value(resample_numerator(m, draws, rng)))
            draw_norm[name] = norm(impute_draws(sd, scored, pools, rng))

    def component_matrix(per_measure: dict[str, np.ndarray]) -> np.ndarray:
        cols = []
        for c in used:
            names = [m.spec.name for m in measures if m.spec.component == c]
            sub = np.array([mw[k] for k in names], dtype=float)
            stacked = np.stack([per_measure[k] for k in names], axis=-1)
            cols.append(stacked @ (sub / sub.sum()))
        return np.stack(cols, axis=-1)

    comp = component_matrix(point_norm)  # sites x C
    score = combine(comp, w)
    tiebreak = np.arange(n)  # sites are sorted by place code
    rank = rank_order(score, tiebreak)
    if draws:
        comp_d = component_matrix(draw_norm)  # draws x sites x C
        w_d = dirichlet_weights(w, draws, rng)
        score_d = combine(comp_d, w_d)
        rank_d = rank_order(score_d, tiebreak)
        summ = summarise(score_d, rank_d, level, top)
        lo, hi, r_lo, r_hi, p_top = (
            summ.score_low,
            summ.score_high,
            summ.rank_low,
            summ.rank_high,
            summ.p_top,
        )
    else:
        lo, hi, r_lo, r_hi = score, score, rank, rank
        p_top = (rank <= top).astype(float)

    contrib = comp * w * 100.0
    driver = np.array([used[j] for j in np.argmax(contrib, axis=1)], dtype=object)
    driver[contrib.max(axis=1) <= 0] = "none"

    order = np.argsort(rank, kind="stable")
    comp_all = np.full((n, len(COMPONENTS)), np.nan)
    for j, c in enumerate(used):
        comp_all[:, COMPONENTS.index(c)] = comp[:, j]

    cols: dict[str, Any] = {"rank": rank[order].astype(np.int64)}
    for c in PLACE_COLUMNS:
        cols[c] = sites[c].to_numpy()[order]
    cols.update(
        score=score[order],
        score_low=np.minimum(lo, score)[order],
        score_high=np.maximum(hi, score)[order],
        rank_low=np.minimum(r_lo, rank)[order].astype(np.int64),
        rank_high=np.maximum(r_hi, rank)[order].astype(np.int64),
        p_top10=p_top[order],
    )
    for j, c in enumerate(COMPONENTS):
        cols[c] = comp_all[order, j]
    cols["main_driver"] = driver[order]
    cols["flags"] = np.array([";".join(sorted(f)) for f in flags], dtype=object)[order]
    results: dict[str, MeasureResult] = {}
    by_name = {m.spec.name: m for m in data.measures}
    for spec in SPECS:
        found = by_name.get(spec.name)
        value = found.value()[order] if found is not None else np.full(n, np.nan)
        cols[spec.name] = value
        if found is not None:
            results[spec.name] = MeasureResult(
                spec.name,
                spec.component,
                spec.label,
                spec.target,
                spec.counts,
                value,
                point_norm[spec.name][order],
                imputed[spec.name][order],
                np.where(found.observed, found.numerator, np.nan)[order],
                np.where(found.observed, found.denominator, np.nan)[order],
            )
    table = pa.table(
        {k: pa.array(v, from_pandas=True) for k, v in cols.items()},
    )
    return HotspotResult(
        table=table,
        weights={c: (float(w[used.index(c)]) if c in used else 0.0) for c in COMPONENTS},
        measure_weights=dict(mw),
        components=used,
        period=data.window.text,
        draws=draws,
        seed=seed,
        normalization=normalization,
        level=level,
        top=top,
        notes=notes,
        component_values=comp_all[order],
        measures=results,
    )
