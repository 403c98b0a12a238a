"""``rank_sites``: sites ranked by expected new HIV infections per 1,000 residents, explained."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyarrow as pa

from corridor.errors import QueryError
from corridor.hotspots.components import COMPONENTS, SPECS, SiteData, compute_site_data
from corridor.hotspots.drivers import NO_DRIVER
from corridor.hotspots.incidence import (
    MIN_RECENCY_SITES,
    TAU_PRIOR,
    TERM_COMPONENT,
    estimate_incidence,
)
from corridor.hotspots.scoring import (
    NORMALIZATIONS,
    Normaliser,
    Normalization,
    Weights,
    imputation_pools,
    impute_point,
    parse_weights,
)
from corridor.hotspots.warehouse import Window, no_testing_data, resolve_window
from corridor.indicators.registry import DEFAULT_TESTING_MIN_AGE
from corridor.storage.engine import Engine

if TYPE_CHECKING:
    from corridor.config import Settings

PLACE_COLUMNS = ("place_code", "name", "place_type", "country_code", "lat", "lon", "corridor")
#: the columns that come from the uncertainty draws: empty (null) when there are none
INTERVAL_COLUMNS = (
    "new_infections_per_1000_low",
    "new_infections_per_1000_high",
    "new_infections_low",
    "new_infections_high",
    "score_low",
    "score_high",
    "rank_low",
    "rank_high",
    "p_top10",
)

#: the rate interval's MEASURED coverage (docs/hotspots.md, "Validation"): over the nine
#: validation rankings (world seeds 2024, 7, 99 x years 2023-2025, seed 1) the 90% interval of
#: new infections per 1,000 held the true rate for this share of sites (lowest, highest
#: ranking), less than its 90%, with 500 draws (the CLI's and the report's default) and with 200
#: (the HTTP API's and the dashboard's) alike. Every output that shows the rate interval says
#: so; tests/hotspots/test_hotspot_validation.py holds the floor (the lowest) and that these
#: numbers are the measured ones.
RATE_INTERVAL_LEVEL: Final = 0.9
RATE_INTERVAL_COVERAGE: Final = (0.81, 0.91)
#: the fewest draws with which that coverage was measured: fewer draws place the percentiles
#: of the interval less surely, and its coverage was not measured there
RATE_INTERVAL_MIN_DRAWS: Final = 200


def rate_interval_coverage_text(level: float, calibrated: bool, draws: int) -> str:
    """What is known of the rate interval's coverage of the true rate, in words:
    ``measured coverage of the true rate 81-91%`` (the share of sites whose true rate lay inside
    it in validation), or that it was not measured (another level, an uncalibrated model, fewer
    than :data:`RATE_INTERVAL_MIN_DRAWS` draws)."""
    if rate_interval_measured(level, calibrated, draws):
        lo, hi = RATE_INTERVAL_COVERAGE
        return f"measured coverage of the true rate {round(100 * lo)}-{round(100 * hi)}%"
    return "coverage of the true rate not measured"


def rate_interval_measured(level: float, calibrated: bool, draws: int) -> bool:
    """Whether validation measured the coverage of such a rate interval: a calibrated model,
    at :data:`RATE_INTERVAL_LEVEL`, with at least :data:`RATE_INTERVAL_MIN_DRAWS` draws."""
    return (
        calibrated and abs(level - RATE_INTERVAL_LEVEL) < 1e-9 and draws >= RATE_INTERVAL_MIN_DRAWS
    )


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
    #: cell keys of the counts (NaN: none, a reference figure such as the registry population)
    numerator_key: np.ndarray | None = None
    denominator_key: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """The calibrated model: coefficients, model error and how many sites calibrated it."""

    coefficients: dict[str, float]
    tau: float
    recency_sites: int


@dataclass(slots=True)
class HotspotResult:
    """The ranking. ``table`` is the analyst's view: its raw measures are NOT disclosure
    controlled; use ``disclosed(settings)`` (and ``explain(..., threshold=settings)``) for
    anything that leaves. Scores, ranks and intervals are computed on the true values (the
    analyst's model); the raw measures that leave are published (``hotspots.disclosure``).
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
    #: per site (ranking order) and component: log factor of the model's terms of that
    #: component relative to the median site (what lifts the estimate above the median site)
    lift: np.ndarray = field(default_factory=lambda: np.zeros((0, len(COMPONENTS))))
    model: ModelSummary | None = None
    #: published raw measures by disclosure settings: disclosure control runs once per result
    disclosure_cache: dict[tuple[Any, ...], Any] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def has_intervals(self) -> bool:
        """Whether the ranking has uncertainty intervals and ``p_top10`` (``draws`` > 0); without
        draws the columns of ``INTERVAL_COLUMNS`` are empty (null)."""
        return self.draws > 0

    @property
    def calibrated(self) -> bool:
        """Whether recency testing calibrated the model (the validated case)."""
        return self.model is not None and self.model.recency_sites > 0

    @property
    def rate_interval_coverage(self) -> tuple[float, float] | None:
        """The measured coverage (lowest, highest) of the rate interval, where it was measured
        (:func:`rate_interval_measured`); None otherwise or without draws."""
        if self.has_intervals and rate_interval_measured(self.level, self.calibrated, self.draws):
            return RATE_INTERVAL_COVERAGE
        return None

    @property
    def rate_interval_coverage_text(self) -> str:
        """``rate_interval_coverage_text`` of this ranking; empty without draws."""
        if not self.has_intervals:
            return ""
        return rate_interval_coverage_text(self.level, self.calibrated, self.draws)

    @property
    def rate_interval_label(self) -> str:
        """The name of the interval of new infections per 1,000, with what is known of its
        coverage: ``90% model interval (measured coverage of the true rate 81-91%)``; empty
        without draws."""
        if not self.has_intervals:
            return ""
        return f"{round(100 * self.level)}% model interval ({self.rate_interval_coverage_text})"

    @property
    def place_codes(self) -> list[str]:
        return [str(c) for c in self.table.column("place_code").to_pylist()]

    def explain(
        self, place_code: str, *, threshold: int | Settings | None = None
    ) -> dict[str, Any]:
        """Why a site ranks where it does; raw measures published when ``threshold`` is given:
        the workspace's settings (or a threshold with the default and environment settings)."""
        from corridor.hotspots.explain import explain_site

        return explain_site(self, place_code, threshold=threshold)

    def disclosed(self, threshold: int | Settings = 10) -> pa.Table:
        """``table`` with every raw measure published through ``publish``: pass the workspace's
        settings (an int is a threshold over the default and environment settings)."""
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
    level: float = 0.9,
    top: int = 10,
    testing_min_age: int = DEFAULT_TESTING_MIN_AGE,
) -> HotspotResult:
    """Rank every site (place types in ``SITE_TYPES``) by expected new HIV infections per
    1,000 residents a year (``incidence.estimate_incidence``), highest first; equal estimates
    share a rank.

    ``period``: a period or range (``2024``, ``2023Q1:2024Q4``); default the latest 12 months.
    ``weights``: component -> weight of the explanation's components (which are shown; they do
    not change the estimate), optionally ``measures``: measure -> weight within its component.
    ``draws``: uncertainty draws (0: no intervals: the columns of ``INTERVAL_COLUMNS``, ``p_top10``
    among them, are null); ``level``: interval level (default 90%);
    ``top``: the size of the top group for ``p_top10`` (the column keeps its name).
    ``testing_min_age``: the youngest age offered HIV testing (the setting of that name, 15 by
    default): where a site reports its population estimate by age band, the recency
    correction's adults are the bands from that age up.
    ``score`` is the site's position among the sites (100 = highest estimate, 0 = lowest), with
    ``score_low``/``score_high`` from its rank interval.
    """
    if draws < 0:
        raise QueryError(f"draws must be >= 0, got {draws}")
    if not 0 < level < 1:
        raise QueryError(f"level must be between 0 and 1, got {level}")
    if top < 1:
        raise QueryError(f"top must be >= 1, got {top}")
    if (
        isinstance(testing_min_age, bool)
        or not isinstance(testing_min_age, int | np.integer)
        or testing_min_age < 0
    ):
        raise QueryError(f"testing_min_age must be a whole number >= 0, got {testing_min_age!r}")
    if normalization not in NORMALIZATIONS:
        raise QueryError(f"unknown normalisation {normalization!r}; expected rank or minmax")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise QueryError(f"seed must be a whole number >= 0, got {seed!r}")
    w_all = parse_weights(weights)
    window = resolve_window(engine, period)
    check_window(window)
    data = compute_site_data(engine, window, testing_min_age=int(testing_min_age))
    if data.sites.empty:
        raise QueryError(
            "no sites to rank: the place registry has no place of a site type "
            "(border_crossing, truck_stop, mine, ...)"
        )
    if not any(m.spec.name == "positivity" for m in data.measures):
        raise no_testing_data(engine, window)  # the estimate's main input, at no site
    return score_sites(
        data,
        w_all,
        draws=draws,
        seed=seed,
        normalization=normalization,
        level=level,
        top=top,
    )


def check_window(window: Window) -> None:
    """QueryError for a window over which counts are not published (``publish`` refuses a sum
    over a range of periods that is not one calendar period nor four consecutive quarters:
    ``indicators.buckets.published_window``): the ranking's raw measures over it could not
    leave."""
    from corridor.contract.periods import parse_period_range
    from corridor.indicators.buckets import published_window

    if not published_window(parse_period_range(window.text)):
        raise QueryError(
            f"cannot rank period {window.text}: the ranking's raw measures are published, and a "
            "count summed over a range of periods is published only for one calendar period (a "
            "week, a month, a quarter, a year) or four consecutive quarters (12 months ending "
            "with a quarter; any other range is a new noisy sum of the same periods); rank one "
            "of those, e.g. 2024, 2024Q3 or 2023-07:2024-06"
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
    """The incidence model and the explanation on measures already computed (no database)."""
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
            if any(m.spec.component == c for m in data.measures):
                notes.append(
                    f"component {c}: every measure with data weighted 0; left out of the "
                    "explanation"
                )
            else:
                notes.append(f"component {c}: no data at any site; left out of the explanation")
    w = np.array([weights.components[c] for c in used], dtype=float)
    w = w / w.sum() if used else w

    # ---- the explanation: measures normalised to [0, 1], components their means -------------
    point_norm: dict[str, np.ndarray] = {}
    imputed: dict[str, np.ndarray] = {}
    flags: list[set[str]] = [set() for _ in range(n)]
    for m in data.measures:  # all of them: measures weighted 0 are still shown
        name = m.spec.name
        scored = m.scored(m.value())
        obs = np.isfinite(scored)
        pools = imputation_pools(obs, types)
        point_norm[name] = Normaliser(scored[obs], normalization)(impute_point(scored, pools))
        imputed[name] = ~obs
        for i in np.flatnonzero(~obs):
            flags[i].add(m.extra_flags.get(int(i), m.spec.missing_flag))
    comp_all = np.full((n, len(COMPONENTS)), np.nan)
    for c in used:
        names = [m.spec.name for m in measures if m.spec.component == c]
        sub = np.array([mw[k] for k in names], dtype=float)
        stacked = np.stack([point_norm[k] for k in names], axis=-1)
        comp_all[:, COMPONENTS.index(c)] = stacked @ (sub / sub.sum())

    # ---- the estimate: expected new infections per 1,000 residents -------------------------
    est = estimate_incidence(data, draws=draws, rng=rng)
    if not est.recency_sites:
        reporting = int(np.isfinite(est.recency_per_1000).sum())
        notes.append(
            f"model not calibrated: {reporting} site(s) report recency testing, fewer than "
            f"{MIN_RECENCY_SITES}; the coefficients are their priors and the model error "
            f"{TAU_PRIOR}, so the estimates and intervals have not been checked against new "
            "infections (docs/hotspots.md validates the calibrated model): read them as relative"
        )
    if draws:
        lvl = round(100 * level)
        notes.append(
            f"the {lvl}% interval of new infections per 1,000 is a model interval (the draws' "
            f"{round(50 * (1 - level), 1):g}th to {round(50 * (1 + level), 1):g}th "
            f"percentiles), {rate_interval_coverage_text(level, est.recency_sites > 0, draws)} "
            '(docs/hotspots.md, "Validation")'
        )
    rate = est.per_1000
    rank = rank_min(rate)
    population = data.inputs.population if data.inputs is not None else np.full(n, np.nan)
    a = (1.0 - level) / 2.0
    if draws:
        rank_d = rank_min(est.draws_per_1000)
        lo, hi = np.quantile(est.draws_per_1000, [a, 1.0 - a], axis=0)
        r_lo = np.quantile(rank_d, a, axis=0, method="inverted_cdf").astype(np.int64)
        r_hi = np.quantile(rank_d, 1.0 - a, axis=0, method="inverted_cdf").astype(np.int64)
        p_top = (rank_d <= top).mean(axis=0)
    else:  # no draws, no intervals: the columns are emptied below (never a 0-width interval)
        lo, hi, r_lo, r_hi = rate, rate, rank, rank
        p_top = np.full(n, np.nan)
    for i in np.flatnonzero(est.fully_imputed):
        flags[i].add("fully_imputed")
    for i in np.flatnonzero(est.calibrated):
        flags[i].add("recency_calibrated")

    # main driver: the component whose terms lift the site most above the median site
    lift = np.zeros((n, len(COMPONENTS)))
    for term, contribution in est.contributions.items():
        lift[:, COMPONENTS.index(TERM_COMPONENT[term])] += contribution
    driver = np.array([COMPONENTS[j] for j in np.argmax(lift, axis=1)], dtype=object)
    driver[lift.max(axis=1) <= 0.0] = NO_DRIVER

    def position(r: np.ndarray) -> np.ndarray:
        return 100.0 * (n - r) / (n - 1) if n > 1 else np.full(n, 100.0)

    order = np.lexsort((np.arange(n), rank))
    cols: dict[str, Any] = {"rank": rank[order].astype(np.int64)}
    for c in PLACE_COLUMNS:
        cols[c] = sites[c].to_numpy()[order]
    cols.update(
        new_infections_per_1000=rate[order],
        new_infections_per_1000_low=np.minimum(lo, rate)[order],
        new_infections_per_1000_high=np.maximum(hi, rate)[order],
        new_infections=(rate * population / 1000.0)[order],
        new_infections_low=(np.minimum(lo, rate) * population / 1000.0)[order],
        new_infections_high=(np.maximum(hi, rate) * population / 1000.0)[order],
        score=position(rank)[order],
        score_low=position(np.maximum(r_hi, rank))[order],
        score_high=position(np.minimum(r_lo, rank))[order],
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
                _ordered(found.numerator_key, order),
                _ordered(found.denominator_key, order),
            )
    table = pa.table(
        {k: pa.array(v, from_pandas=True) for k, v in cols.items()},
    )
    if not draws:
        for name in INTERVAL_COLUMNS:
            i = table.schema.get_field_index(name)
            table = table.set_column(i, name, pa.nulls(n, table.schema.field(i).type))
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
        lift=lift[order],
        model=ModelSummary(est.coefficients, est.tau, est.recency_sites),
    )


def _ordered(keys: np.ndarray | None, order: np.ndarray) -> np.ndarray | None:
    return None if keys is None else np.asarray(keys, dtype=float)[order]


def rank_min(values: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, 1 = highest; equal values share the lowest rank ("min")."""
    v = np.asarray(values, dtype=float)
    v = np.where(np.isfinite(v), v, -np.inf)
    # rank of x = 1 + number of values strictly greater than x
    srt = np.sort(v, axis=-1)
    greater = v.shape[-1] - _searchsorted_right(srt, v)
    return np.asarray(1 + greater, dtype=np.int64)


def _searchsorted_right(sorted_rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    if sorted_rows.ndim == 1:
        return np.searchsorted(sorted_rows, values, side="right")
    return np.stack(
        [np.searchsorted(r, x, side="right") for r, x in zip(sorted_rows, values, strict=True)]
    )
