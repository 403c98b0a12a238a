"""The inputs of the incidence model, per site, from the measures and the warehouse.

Everything is a count read from the warehouse (through the indicator layer, as for the
measures), except recency testing, which no indicator carries yet: ``hiv_recent`` and
``hiv_recency_tested`` are summed from the services table over the window (totals only, the
level at which PEPFAR reports HTS_RECENT to a site).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from corridor.contract.dimensions import TOTAL
from corridor.hotspots.sitetotals import SiteTotals
from corridor.hotspots.warehouse import GROUP_ELEMENTS, TOTAL_ELEMENTS, Window
from corridor.indicators.aggregate import offered_bands
from corridor.indicators.registry import DEFAULT_TESTING_MIN_AGE
from corridor.storage.engine import Engine

RECENCY_ELEMENTS = ("hiv_recent", "hiv_recency_tested")
#: every data element the ranking reads from the services (and, without a period, the latest
#: date of any): an import of other elements cannot change a ranking, so the server's answer
#: cache keeps it (corridor.access.changes; tests/access/test_access_changes.py guards this)
ELEMENTS_READ: tuple[str, ...] = tuple(
    dict.fromkeys((*TOTAL_ELEMENTS, *GROUP_ELEMENTS, *RECENCY_ELEMENTS))
)
#: recency results are pooled over the window and the years before it, up to this many years:
#: a site's share of recent infections among new diagnoses changes slowly, and a year of one
#: site holds only a handful of recent results
RECENCY_YEARS = 3


@dataclass(slots=True)
class IncidenceInputs:
    """Per site (the order of ``SiteData.sites``): counts behind the incidence model."""

    population: np.ndarray  # residents (registry, else estimate); NaN if unknown
    tests: np.ndarray  # HIV tests in the window
    positive: np.ndarray  # positive results in the window
    plhiv: np.ndarray  # estimated PLHIV (latest)
    pop_estimated: np.ndarray  # estimated population (latest)
    art_current: np.ndarray  # people on ART (latest)
    vl_tested: np.ndarray  # viral-load results (lookback)
    vl_suppressed: np.ndarray  # of which suppressed
    sex_workers: np.ndarray  # estimated sex workers (NaN where groups are not reported)
    recent: np.ndarray  # hiv_recent, pooled (NaN where no recency testing)
    recency_tested: np.ndarray  # hiv_recency_tested, pooled
    years: float  # length of the window in years
    #: by population group (sites x groups, NaN where not reported): HIV tests and positive
    #: results in the window, the estimated population and PLHIV who know their status
    #: (latest); the group names in ``group_names``. The recency correction takes
    #: group-specific testing rates from them (``incidence.caught_recent``).
    group_names: tuple[str, ...] = ()
    group_tests: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    group_positive: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    group_pop: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    group_diagnosed: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    #: plhiv_diagnosed (latest): people who know they live with HIV; NaN where not reported
    diagnosed: np.ndarray = field(default_factory=lambda: np.empty(0))
    #: share of ``pop_estimated`` aged 15 and over (the ages offered HIV testing: setting
    #: ``testing_min_age``) where the site reports its estimate by age band (``adult_shares``),
    #: per site and per site x group (``group_names``); NaN where it does not (then the
    #: recency correction assumes ``incidence.adult_share``)
    adult_share: np.ndarray = field(default_factory=lambda: np.empty(0))
    group_adult_share: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))


def read_recency(engine: Engine, window: Window) -> pd.DataFrame:
    """hiv_recent and hiv_recency_tested per place (wide; totals only), pooled over the window
    and the ``RECENCY_YEARS - 1`` years before it."""
    start = date(window.start.year - (RECENCY_YEARS - 1), window.start.month, 1)
    table = engine.query(
        "SELECT place_code, data_element, SUM(value) AS value FROM services "
        "WHERE data_element IN (?, ?) AND sex = ? AND age_band = ? AND population_group = ? "
        "AND period_start >= ? AND period_end <= ? GROUP BY place_code, data_element",
        (*RECENCY_ELEMENTS, TOTAL, TOTAL, TOTAL, start, window.end),
        step="hotspots: recency testing",
    )
    df = table.to_pandas()
    if df.empty:
        return pd.DataFrame(columns=list(RECENCY_ELEMENTS), dtype=float)
    wide = df.pivot_table(index="place_code", columns="data_element", values="value")
    return wide.reindex(columns=list(RECENCY_ELEMENTS)).astype(float)


def adult_shares(ages: pd.DataFrame, min_age: int) -> pd.Series:
    """Share of the population estimate in the age bands offered HIV testing (those whose
    youngest age is ``min_age`` or more: ``15-24``, ..., ``50+`` for 15), per (place_code,
    population_group) of ``ages`` (``warehouse.read_age_totals``), among the bands of known
    age: where every part of the estimate has a band, its adults are the sum of those bands;
    a part reported without a band (``unallocated``, or a band that names no age) is taken to
    have the age mix of the rest. Places (and groups) without a band of known age, or whose
    bands hold nobody, have no share."""
    if ages.empty:
        return pd.Series(dtype=float)
    bands = ages["age_band"].astype(str)
    distinct = sorted(set(bands))
    offered = set(offered_bands(distinct, min_age))
    known = {b for b in distinct if b.startswith("<") or b[:1].isdigit()}
    in_offered = ages["value"].where(bands.isin(offered), 0.0)
    in_known = ages["value"].where(bands.isin(known), 0.0)
    keys = [ages["place_code"], ages["population_group"]]
    adults = in_offered.groupby(keys).sum()
    of_known = in_known.groupby(keys).sum()
    share = adults[of_known > 0] / of_known[of_known > 0]
    return share.astype(float)


def collect_inputs(
    services: pd.DataFrame,
    recency: pd.DataFrame,
    codes: list[str],
    population: np.ndarray,
    window: Window,
    ages: pd.DataFrame | None = None,
    testing_min_age: int = DEFAULT_TESTING_MIN_AGE,
) -> IncidenceInputs:
    """Arrange the service totals (``read_service_totals``), recency and the population
    estimate by age band (``read_age_totals``: the share aged ``testing_min_age`` and over)
    per site."""
    idx = pd.Index(codes)
    totals = SiteTotals(services, idx)

    def element(name: str, group: str = TOTAL) -> np.ndarray:
        return totals(name, (group,))[0]

    rec = recency.reindex(idx)
    tested = rec["hiv_recency_tested"].to_numpy(dtype=float) if not rec.empty else np.nan
    recent = rec["hiv_recent"].to_numpy(dtype=float) if not rec.empty else np.nan
    tested = np.broadcast_to(tested, (len(codes),)).astype(float)
    recent = np.broadcast_to(recent, (len(codes),)).astype(float)
    recent = np.where(np.isfinite(tested) & ~np.isfinite(recent), 0.0, recent)  # zeros dropped
    names = tuple(sorted(str(g) for g in set(services["population_group"]) - {TOTAL}))

    def by_group(name: str) -> np.ndarray:
        if not names:
            return np.empty((len(codes), 0))
        return np.column_stack([element(name, g) for g in names])

    shares = adult_shares(ages if ages is not None else pd.DataFrame(), testing_min_age)

    def share_of(group: str) -> np.ndarray:
        if shares.empty:
            return np.full(len(codes), np.nan)
        pairs = pd.MultiIndex.from_arrays([idx, pd.Index([group] * len(codes))])
        return shares.reindex(pairs).to_numpy(dtype=float)

    group_share = (
        np.column_stack([share_of(g) for g in names]) if names else np.empty((len(codes), 0))
    )

    return IncidenceInputs(
        population=population,
        tests=element("hiv_tests"),
        positive=element("hiv_positive"),
        plhiv=element("plhiv_estimated"),
        pop_estimated=element("pop_estimated"),
        art_current=element("art_current"),
        vl_tested=element("vl_tested"),
        vl_suppressed=element("vl_suppressed"),
        sex_workers=element("pop_estimated", "sex_worker"),
        recent=recent,
        recency_tested=tested,
        years=window.years,
        group_names=names,
        group_tests=by_group("hiv_tests"),
        group_positive=by_group("hiv_positive"),
        group_pop=by_group("pop_estimated"),
        group_diagnosed=by_group("plhiv_diagnosed"),
        diagnosed=element("plhiv_diagnosed"),
        adult_share=share_of(TOTAL),
        group_adult_share=group_share,
    )
