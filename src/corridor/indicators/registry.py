"""The indicator registry: what each indicator counts, where its definition comes from, its target.

Every indicator is a ratio of two data elements of the data dictionary
(:data:`corridor.contract.dimensions.DATA_ELEMENTS`), shown as a percentage. An element may be
taken as it is, from an earlier period (``denominator_lag``: viral-load coverage divides by the
people on ART two quarters earlier) or only for the ages offered testing (``denominator_ages``).
``docs/indicators.md`` is generated from this module by ``scripts/gen_indicator_docs.py``; edit
here, then regenerate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from corridor.contract.dimensions import (
    DATA_ELEMENTS,
    LOOKBACK_MONTHS,
    QUERY_DIMENSIONS,
)
from corridor.errors import QueryError

#: dimensions an output can be grouped by (``--by``)
DIMENSIONS: Final = QUERY_DIMENSIONS

DIMENSION_HELP: Final[dict[str, str]] = {
    "place": "each place that reports (a site, or an area that reports its own values)",
    "country": "the country of the place (its country_code; place_code is the country's place)",
    "admin1": "the first-level administrative area above the place (the parent_code chain)",
    "corridor": "each corridor of the place (places.corridor is `;`-separated; not additive)",
    "place_type": "the type of the place (border_crossing, truck_stop, ...)",
    "sex": "f, m, x",
    "age_band": "<15, 15-24, 25-34, 35-49, 50+ (and bands declared in the workspace)",
    "population_group": "host, migrant, mobile_worker, truck_driver, sex_worker, ...",
    "period": "reporting periods at the granularity of --period (quarters by default)",
}

#: the three sources named in the design, plus the outbreak ones
WHO_SI: Final = "WHO consolidated HIV strategic information guidelines (2022)"
UNAIDS_GAM: Final = "UNAIDS Global AIDS Monitoring"
PEPFAR_MER: Final = "PEPFAR Monitoring, Evaluation and Reporting (MER) indicator reference guide"
WHO_IHR: Final = "WHO International Health Regulations (2005), points of entry"
WHO_MPOX: Final = "WHO mpox surveillance and case reporting guidance"

#: the default youngest age offered HIV testing (setting ``testing_min_age``)
DEFAULT_TESTING_MIN_AGE: Final = 15


@dataclass(frozen=True, slots=True)
class Series:
    """A data element as an indicator takes it.

    ``lag_quarters``: the value of that many quarters before the output period (a stock, its
    latest value in the moved period). ``offered_ages``: only the rows of the age bands offered
    HIV testing (setting ``testing_min_age``); rows without an age band do not count.
    """

    element: str
    lag_quarters: int = 0
    offered_ages: bool = False

    @property
    def key(self) -> str:
        """The name of the series in SQL and in the output's ``*_element`` columns."""
        k = self.element
        if self.lag_quarters:
            k += f"__lag{self.lag_quarters}q"
        if self.offered_ages:
            k += "__offered_ages"
        return k

    @property
    def plain(self) -> bool:
        return not self.lag_quarters and not self.offered_ages

    @property
    def kind(self) -> str:
        """The aggregation type of the element: sum, stock or lookback."""
        return DATA_ELEMENTS[self.element]

    def describe(self) -> str:
        parts = []
        if self.lag_quarters:
            parts.append(f"{self.lag_quarters} quarters before the output period")
        if self.offered_ages:
            parts.append("age bands offered HIV testing only")
        if self.element in LOOKBACK_MONTHS:
            parts.append(f"{LOOKBACK_MONTHS[self.element]}-month lookback")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator: numerator / denominator (data elements), shown in ``unit``."""

    id: str
    name: str
    numerator: str
    denominator: str
    source: str
    definition: str
    target: float | None = None
    unit: str = "percent"
    disaggregations: tuple[str, ...] = DIMENSIONS
    area: str = "HIV"
    notes: str = ""
    sources: tuple[str, ...] = field(default=())
    denominator_lag: int = 0
    denominator_ages: bool = False

    @property
    def scale(self) -> float:
        """value = scale * numerator / denominator."""
        return 100.0 if self.unit == "percent" else 1.0

    @property
    def elements(self) -> tuple[str, str]:
        return (self.numerator, self.denominator)

    @property
    def series(self) -> tuple[Series, Series]:
        """(numerator, denominator) as taken: the denominator possibly lagged or age-limited."""
        return (
            Series(self.numerator),
            Series(self.denominator, self.denominator_lag, self.denominator_ages),
        )

    @property
    def pairs_by_slot(self) -> bool:
        """Both elements are summed over time: numerator and denominator add only over the
        reported quarters (slots) in which a place reports both."""
        return all(s.kind == "sum" for s in self.series)


INDICATORS: Final[tuple[Indicator, ...]] = (
    Indicator(
        "positivity",
        "HIV test positivity",
        "hiv_positive",
        "hiv_tests",
        PEPFAR_MER,
        "Positive results returned among HIV tests with a result returned (HTS_TST_POS / "
        "HTS_TST, the testing yield).",
        sources=(PEPFAR_MER, WHO_SI),
        notes="No default target: a higher yield is not better in itself; it shows how well "
        "testing reaches people with undiagnosed HIV.",
    ),
    Indicator(
        "linkage_proxy",
        "Proxy linkage to ART",
        "art_initiated",
        "hiv_positive",
        PEPFAR_MER,
        "People newly started on ART among people newly diagnosed in the same period and "
        "place (TX_NEW / HTS_TST_POS). A proxy: the people started are not necessarily those "
        "diagnosed, so values above 100% occur (e.g. clients diagnosed elsewhere).",
        target=95.0,
    ),
    Indicator(
        "first_95",
        "First 95: people living with HIV who know their status",
        "plhiv_diagnosed",
        "plhiv_estimated",
        UNAIDS_GAM,
        "People living with HIV who know their status among the estimated people living with HIV.",
        target=95.0,
        sources=(UNAIDS_GAM, WHO_SI),
    ),
    Indicator(
        "second_95",
        "Second 95: diagnosed people on ART",
        "art_current",
        "plhiv_diagnosed",
        UNAIDS_GAM,
        "People currently on ART (TX_CURR) among people living with HIV who know their status.",
        target=95.0,
        sources=(UNAIDS_GAM, PEPFAR_MER),
    ),
    Indicator(
        "third_95",
        "Third 95: people on ART who are virally suppressed",
        "vl_suppressed",
        "art_current",
        UNAIDS_GAM,
        "People on ART whose last viral-load result in the last 12 months is < 1000 copies/mL "
        "(TX_PVLS N) among all people currently on ART (TX_CURR): the UNAIDS definition. People "
        "on ART without a viral-load result count as not suppressed, so this is a lower bound "
        "of the true share where viral-load testing is incomplete; `vl_suppression` is the "
        "share among those tested.",
        target=95.0,
        sources=(UNAIDS_GAM, WHO_SI, PEPFAR_MER),
        notes="first_95 x second_95 x third_95 = overall_suppression where all three are "
        "reported by the same places.",
    ),
    Indicator(
        "vl_suppression",
        "Viral-load suppression among people tested",
        "vl_suppressed",
        "vl_tested",
        PEPFAR_MER,
        "People on ART with a viral-load result in the last 12 months whose last result is "
        "< 1000 copies/mL, among those with a result (TX_PVLS N / TX_PVLS D).",
        target=95.0,
        sources=(PEPFAR_MER, WHO_SI),
        notes="Higher than third_95 wherever viral-load coverage is below 100%: people without "
        "a result are left out, not counted as unsuppressed.",
    ),
    Indicator(
        "overall_suppression",
        "People living with HIV who are virally suppressed",
        "vl_suppressed",
        "plhiv_estimated",
        UNAIDS_GAM,
        "People on ART with a suppressed viral load (TX_PVLS N) among the estimated people "
        "living with HIV: the product of the three 95s. A lower bound, like third_95 (people "
        "without a viral-load result count as not suppressed).",
        target=round(95.0**3 / 10_000, 1),
        sources=(UNAIDS_GAM, WHO_SI),
        notes="Target: 95% x 95% x 95% of all people living with HIV (85.7%, about 86%).",
    ),
    Indicator(
        "vl_coverage",
        "Viral-load testing coverage",
        "vl_tested",
        "art_current",
        PEPFAR_MER,
        "People on ART with a viral-load result in the last 12 months (TX_PVLS D) among the "
        "people on ART two quarters before the end of the output period (TX_CURR two quarters "
        "earlier), the PEPFAR definition: people who started ART recently are not yet due a "
        "test. For a quarter, TX_CURR of the quarter two before; for a year, of its second "
        "quarter.",
        target=95.0,
        denominator_lag=2,
        notes="Target: the 95-95-95 programme convention. A place without TX_CURR two "
        "quarters earlier does not report this indicator for the period.",
    ),
    Indicator(
        "art_coverage",
        "ART coverage",
        "art_current",
        "plhiv_estimated",
        UNAIDS_GAM,
        "People currently on ART among the estimated people living with HIV.",
        target=90.0,
        sources=(UNAIDS_GAM, WHO_SI),
        notes="Target: 95% x 95% of all people living with HIV (about 90%).",
    ),
    Indicator(
        "testing_coverage",
        "HIV testing coverage",
        "hiv_tests",
        "pop_estimated",
        WHO_SI,
        "HIV tests with a result returned per estimated population of the ages offered HIV "
        "testing (the age bands from the setting testing_min_age up, 15+ by default; of the "
        "group, place and period). Counts tests, not people: repeat testers count more than "
        "once.",
        denominator_ages=True,
        notes="Population estimates must be reported by age band: a place that reports its "
        "population only as a total does not report this indicator. Tests are counted at all "
        "ages (group by age_band to see tests of other ages apart).",
    ),
    Indicator(
        "prep_coverage",
        "PrEP uptake",
        "prep_initiated",
        "pop_estimated",
        WHO_SI,
        "People newly started on PrEP (PrEP_NEW) per estimated population, where PrEP data exist.",
        sources=(WHO_SI, PEPFAR_MER),
    ),
    Indicator(
        "recent_infections",
        "Recent infections among newly diagnosed people",
        "hiv_recent",
        "hiv_recency_tested",
        PEPFAR_MER,
        "Newly diagnosed people classified as recent infections by a recent-infection testing "
        "algorithm among newly diagnosed people with a recency test result (HTS_RECENT: recent "
        "/ all results).",
        sources=(PEPFAR_MER, WHO_SI),
        notes="No target: a signal of where transmission is ongoing. The share depends on the "
        "assay's mean duration of recent infection and its false-recent rate; compare places "
        "that use the same algorithm.",
    ),
    Indicator(
        "screening_coverage",
        "Point-of-entry screening coverage",
        "poe_screened",
        "poe_crossings",
        WHO_IHR,
        "Travellers screened at a point of entry among crossings recorded there.",
        area="outbreak",
    ),
    Indicator(
        "mpox_positivity",
        "Mpox test positivity",
        "mpox_confirmed",
        "mpox_tested",
        WHO_MPOX,
        "Confirmed mpox cases among mpox tests.",
        area="outbreak",
    ),
)

_BY_ID: Final = {i.id: i for i in INDICATORS}
#: the HIV cascade, in registry order (``--indicator cascade``)
CASCADE: Final = tuple(i.id for i in INDICATORS if i.area == "HIV")
GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "cascade": CASCADE,
    "all": tuple(i.id for i in INDICATORS),
}


def get_indicator(indicator_id: str) -> Indicator:
    try:
        return _BY_ID[indicator_id]
    except KeyError:
        raise QueryError(
            f"unknown indicator {indicator_id!r}; known: {', '.join(_BY_ID)} "
            f"(or {', '.join(GROUPS)})"
        ) from None


def resolve_ids(ids: Sequence[str]) -> list[Indicator]:
    """Indicators by id (or group name: cascade, all), in the order given, without repeats."""
    out: list[Indicator] = []
    for raw in ids:
        key = raw.strip().lower()
        if not key:
            continue
        for i in GROUPS.get(key, (key,)):
            ind = get_indicator(i)
            if ind not in out:
                out.append(ind)
    if not out:
        raise QueryError("no indicator named; use --list to see them")
    return out


def _check_registry() -> None:
    for ind in INDICATORS:
        for e in ind.elements:
            if e not in DATA_ELEMENTS:  # pragma: no cover - caught by the tests
                raise AssertionError(f"{ind.id}: {e} is not in the data dictionary")
        for s in ind.series:
            if not s.plain and s.kind == "sum":  # pragma: no cover - caught by the tests
                raise AssertionError(f"{ind.id}: only stocks can be lagged or age-limited")


_check_registry()
