"""Public figures that anchor the demonstration world, with their sources.

Copied from the project's facts sheet (``shared/data/corridor-facts.md``) so that the generator
runs offline and never reads it at run time. Markers as in the sheet: ``[E]`` estimate or
calculation, ``[S]`` second-hand source, ``[assumed]`` a gap in the sheet filled with a plausible
value by the generator (documented in ``docs/demo.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Final


@dataclass(frozen=True, slots=True)
class CountryFacts:
    """HIV figures of one country (adults 15–49, 2023 unless noted)."""

    iso3: str
    iso2: str
    name: str
    prevalence: float  # HIV prevalence among adults 15–49, fraction
    know: float  # first 95: share of PLHIV who know their status
    on_art: float  # second 95: share of those who know who are on ART
    suppressed: float  # third 95: share of those on ART who are virally suppressed
    cascade_source: str
    population: int  # national population, rounded [assumed: UN WPP 2024, 2023 values]
    lat: float  # approximate centroid [assumed]
    lon: float
    #: the survey year the cascade refers to (the world matches it in that year)
    cascade_year: int = 2023


_OWID = "UNAIDS 2024 estimates via Our World in Data"

#: the 16 countries of the facts sheet, in its order
_CITED: Final[tuple[CountryFacts, ...]] = (
    CountryFacts(
        "KEN", "ke", "Kenya", 0.032, 0.96, 0.98, 0.97, "UNAIDS 2024", 55_100_000, 0.2, 37.9
    ),
    # Uganda: 94% know; 82% of all PLHIV suppressed -> 0.82/0.94 = 0.87 on ART x suppressed;
    # split 0.92 x 0.948 [assumed]
    CountryFacts(
        "UGA",
        "ug",
        "Uganda",
        0.051,
        0.94,
        0.92,
        0.948,
        "Uganda AIDS Commission 2024 [E split]",
        48_600_000,
        1.3,
        32.3,
    ),
    CountryFacts(
        "TZA",
        "tz",
        "Tanzania",
        0.038,
        0.83,
        0.95,
        0.92,
        "THIS 2022-23 (2022) [S]",
        67_400_000,
        -6.4,
        34.9,
    ),
    CountryFacts(
        "RWA", "rw", "Rwanda", 0.022, 0.95, 0.95, 0.95, "UNAIDS 2024", 14_100_000, -2.0, 29.9
    ),
    CountryFacts(
        "BDI", "bi", "Burundi", 0.009, 0.90, 0.95, 0.90, "[assumed]", 13_200_000, -3.4, 29.9
    ),
    CountryFacts(
        "COD", "cd", "DR Congo", 0.007, 0.70, 0.90, 0.85, "[assumed]", 102_300_000, -2.9, 23.6
    ),
    CountryFacts(
        "SSD", "ss", "South Sudan", 0.016, 0.55, 0.85, 0.80, "[assumed]", 11_100_000, 7.3, 30.0
    ),
    CountryFacts(
        "ZMB", "zm", "Zambia", 0.098, 0.887, 0.98, 0.963, "ZAMPHIA 2021", 20_600_000, -13.1, 27.8
    ),
    CountryFacts(
        "ZWE",
        "zw",
        "Zimbabwe",
        0.105,
        0.866,
        0.969,
        0.901,
        "ZIMPHIA 2020 (15-64)",
        16_700_000,
        -19.0,
        29.9,
    ),
    CountryFacts(
        "MWI",
        "mw",
        "Malawi",
        0.067,
        0.884,
        0.978,
        0.969,
        "MPHIA 2020-21 (15-64)",
        20_900_000,
        -13.3,
        34.3,
    ),
    CountryFacts(
        "MOZ", "mz", "Mozambique", 0.115, 0.80, 0.90, 0.85, "[assumed]", 33_900_000, -17.3, 35.5
    ),
    CountryFacts(
        "ZAF",
        "za",
        "South Africa",
        0.171,
        0.90,
        0.91,
        0.94,
        "SABSSM VI 2022",
        60_400_000,
        -29.0,
        25.1,
    ),
    CountryFacts(
        "BWA", "bw", "Botswana", 0.166, 0.951, 0.98, 0.979, "BAIS V 2021", 2_700_000, -22.3, 24.7
    ),
    CountryFacts(
        "SWZ", "sz", "Eswatini", 0.251, 0.94, 0.97, 0.96, "SHIMS3 2021", 1_200_000, -26.5, 31.5
    ),
    CountryFacts(
        "LSO", "ls", "Lesotho", 0.185, 0.90, 0.95, 0.92, "[assumed]", 2_300_000, -29.6, 28.2
    ),
    CountryFacts(
        "NAM", "na", "Namibia", 0.097, 0.92, 0.97, 0.95, "[assumed]", 2_600_000, -22.6, 17.1
    ),
)
PREVALENCE_SOURCE: Final = _OWID

#: the year of each cited cascade (facts sheet); countries not listed: 2023 (the sheet's year)
CASCADE_YEARS: Final[dict[str, int]] = {
    "TZA": 2022,  # THIS 2022-23 (2022)
    "RWA": 2024,  # reached 95-95-95 (2024)
    "ZMB": 2021,  # ZAMPHIA 2021
    "ZWE": 2020,  # ZIMPHIA 2020
    "MWI": 2021,  # MPHIA 2020-21
    "ZAF": 2022,  # SABSSM VI 2022
    "BWA": 2021,  # BAIS V 2021
    "SWZ": 2021,  # SHIMS3 2021
}
COUNTRIES: Final[tuple[CountryFacts, ...]] = tuple(
    replace(c, cascade_year=CASCADE_YEARS.get(c.iso3, 2023)) for c in _CITED
)

COUNTRY: Final[dict[str, CountryFacts]] = {c.iso3: c for c in COUNTRIES}


@dataclass(frozen=True, slots=True)
class KeyPopulationAnchor:
    """HIV prevalence among a mobile or key population at such sites (facts sheet)."""

    group: str
    place: str
    prevalence: float
    source: str


#: published prevalence among mobile and key populations; the generator's saturating prevalence
#: functions are tuned so that the demonstration world lands near these (see docs/demo.md)
KEY_POPULATION_ANCHORS: Final[tuple[KeyPopulationAnchor, ...]] = (
    KeyPopulationAnchor(
        "truck_driver", "Mombasa-Nairobi highway", 0.27, "Bwayo et al., Arch Intern Med 1994"
    ),
    KeyPopulationAnchor(
        "truck_driver", "South Africa", 0.26, "Delany-Moretlwe et al., Int J STD AIDS 2014"
    ),
    KeyPopulationAnchor("sex_worker", "Kisumu (2008)", 0.565, "Vandenhoudt et al., PLoS ONE 2013"),
    KeyPopulationAnchor(
        "sex_worker", "Zimbabwe transit towns", 0.60, "Cowan et al., PLoS ONE 2013 (50-70%)"
    ),
    KeyPopulationAnchor("sex_worker", "Lusaka", 0.50, "PMC6735314 (2012-16)"),
    KeyPopulationAnchor("sex_worker", "Ndola", 0.33, "PMC6735314 (2012-16)"),
    KeyPopulationAnchor(
        "fisherfolk",
        "Lake Victoria, Uganda (2010)",
        0.22,
        "PLoS ONE doi 10.1371/journal.pone.0070770",
    ),
    KeyPopulationAnchor(
        "fisherfolk", "Lakes Edward/George, Uganda (2016)", 0.175, "BMC Public Health 2020"
    ),
    KeyPopulationAnchor("fisherfolk", "Kasensero (youth)", 0.251, "Rakai cohort, PMC5348807"),
    KeyPopulationAnchor(
        "miner",
        "Mozambican mineworkers, Ressano Garcia (2012)",
        0.223,
        "Baltazar et al., AIDS Behav 2015",
    ),
    KeyPopulationAnchor(
        "miner", "Carletonville gold mines", 0.29, "Gilgen et al., S Afr J Sci 2001"
    ),
    KeyPopulationAnchor(
        "sex_worker", "Carletonville gold mines", 0.69, "Gilgen et al., S Afr J Sci 2001"
    ),
)

#: fishing communities in Uganda: prevalence about 3-4x the national adult average (facts sheet)
FISHING_PREVALENCE_RATIO: Final = (3.0, 4.0)


@dataclass(frozen=True, slots=True)
class MpoxFirstCase:
    """The first reported mpox (clade Ib) case(s) of a country, as in the facts sheet."""

    iso3: str
    site: str  # demonstration site code where it is reported
    report_date: date
    cases: int  # number of cases reported that day
    population_group: str
    origin: str  # travel origin (place code, lower-case) or ""
    poe: str  # point of entry crossed or ""
    source: str


#: countries in the order of their first case; DRC is the origin (Kamituga, Sept 2023)
MPOX_FIRST_CASES: Final[tuple[MpoxFirstCase, ...]] = (
    MpoxFirstCase(
        "COD",
        "cd-kamituga",
        date(2023, 9, 20),
        3,
        "sex_worker",
        "",
        "",
        "Vakaniaki et al., Nat Med 2024 (emerged ~Sept 2023, Kamituga; 29% sex workers)",
    ),
    MpoxFirstCase(
        "BDI",
        "bi-bujumbura",
        date(2024, 7, 25),
        3,
        "host",
        "cod",
        "",
        "Facts sheet: first cases late July 2024; 170 by 20 Aug, two thirds Bujumbura Nord",
    ),
    MpoxFirstCase(
        "RWA",
        "rw-kigali",
        date(2024, 7, 27),
        2,
        "cross_border_trader",
        "cod",
        "",
        "Facts sheet: first 2 cases 27 Jul 2024",
    ),
    MpoxFirstCase(
        "KEN",
        "ke-taveta",
        date(2024, 7, 29),
        1,
        "truck_driver",
        "uga",
        "ke-taveta",
        "Facts sheet: a truck driver seen at Taveta, confirmed 29 Jul 2024",
    ),
    MpoxFirstCase(
        "UGA",
        "ug-mpondwe",
        date(2024, 8, 2),
        2,
        "cross_border_trader",
        "cod",
        "ug-mpondwe",
        "Facts sheet: first 2 imported cases 2 Aug 2024 at Mpondwe/Bwera",
    ),
    MpoxFirstCase(
        "ZMB",
        "zm-nakonde",
        date(2024, 10, 10),
        1,
        "migrant",
        "tz-tunduma",
        "zm-nakonde",
        "Facts sheet: first case 10 Oct 2024, a traveller who crossed Tunduma->Nakonde on 2 Sep",
    ),
    MpoxFirstCase(
        "TZA",
        "tz-dar-es-salaam",
        date(2025, 3, 10),
        2,
        "truck_driver",
        "",
        "",
        "Facts sheet: first 2 cases 10 Mar 2025, one a truck driver arriving in Dar es Salaam",
    ),
)

#: later anchors inside countries (site, report date, group, origin, poe, source)
MPOX_SITE_ANCHORS: Final[tuple[tuple[str, date, str, str, str, str], ...]] = (
    (
        "ke-malaba",
        date(2024, 8, 20),
        "truck_driver",
        "uga",
        "ke-malaba",
        "Facts sheet: second Kenyan case a truck driver at Malaba (Aug 2024)",
    ),
    (
        "ug-elegu",
        date(2024, 8, 28),
        "truck_driver",
        "ssd",
        "ug-elegu",
        "Facts sheet: a case at Elegu by end Aug 2024",
    ),
)

#: reported-case magnitudes used to scale the outbreak at the demonstration sites (which cover
#: part of each country): reported line-list cases expected at the sites by end 2025 [E]
MPOX_REPORTED_AT_SITES: Final[dict[str, int]] = {
    "COD": 1800,  # [assumed] the demo's eastern-DRC sites
    "BDI": 1500,  # facts: ~1,726 nationally by 3 Nov 2024, two thirds in Bujumbura Nord
    "UGA": 1800,  # facts: ~7,257 nationally by 1 Jul 2025; demo sites hold a fraction [E]
    "KEN": 260,  # facts: 314 in 22 counties by 1 Aug 2025 (Mombasa 149, Busia 63)
    "RWA": 90,  # [assumed]
    "ZMB": 60,  # [assumed]
    "TZA": 50,  # [assumed]
}
#: share of true (symptomatic) cases that reach the line list [assumed]
MPOX_REPORTING_FRACTION: Final[dict[str, float]] = {
    "COD": 0.35,
    "BDI": 0.55,
    "UGA": 0.5,
    "KEN": 0.6,
    "RWA": 0.7,
    "ZMB": 0.5,
    "TZA": 0.5,
}
#: Kenya, Jul 2024-Feb 2025: 48 of 447 suspected cases confirmed (CDC MMWR 74(22))
MPOX_KENYA_SUSPECTED_CONFIRMED: Final = (447, 48)
