"""The indicator registry: what each indicator counts, where its definition comes from, its target.

Every indicator is a ratio of two data elements of the data dictionary
(:data:`corridor.contract.dimensions.DATA_ELEMENTS`), shown as a percentage. ``docs/indicators.md``
is generated from this module by ``scripts/gen_indicator_docs.py``; edit here, then regenerate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from corridor.contract.dimensions import DATA_ELEMENTS
from corridor.errors import QueryError

#: dimensions an output can be grouped by (``--by``)
PLACE_DIMS: Final = ("place", "country", "admin1", "corridor", "place_type")
DISAGGREGATIONS: Final = ("sex", "age_band", "population_group")
DIMENSIONS: Final = (*PLACE_DIMS, *DISAGGREGATIONS, "period")

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

    @property
    def scale(self) -> float:
        """value = scale * numerator / denominator."""
        return 100.0 if self.unit == "percent" else 1.0

    @property
    def elements(self) -> tuple[str, str]:
        return (self.numerator, self.denominator)


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
        "Third 95: viral-load suppression",
        "vl_suppressed",
        "vl_tested",
        PEPFAR_MER,
        "Viral-load results < 1000 copies/mL among viral-load results of people on ART for at "
        "least 6 months (TX_PVLS N / TX_PVLS D). A proxy for the UNAIDS third 95 (suppressed "
        "among all people on ART) where viral-load testing is incomplete.",
        target=95.0,
        sources=(PEPFAR_MER, UNAIDS_GAM),
    ),
    Indicator(
        "vl_coverage",
        "Viral-load testing coverage",
        "vl_tested",
        "art_current",
        PEPFAR_MER,
        "Viral-load results among people currently on ART (TX_PVLS D / TX_CURR). PEPFAR divides "
        "by TX_CURR of two quarters earlier; Corridor uses TX_CURR of the same period.",
        target=95.0,
        notes="Target: the 95-95-95 programme convention.",
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
        "HIV tests with a result returned per estimated population (of the group, place and "
        "period). Counts tests, not people: repeat testers count more than once.",
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


_check_registry()
