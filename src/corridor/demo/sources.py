"""Encoding the observed layer into the rows of the field formats (before writing)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from corridor.demo.facts import COUNTRIES
from corridor.demo.formats import Cell
from corridor.demo.geography import ADMIN1, SITES, site_corridors
from corridor.demo.ids import (
    DEFAULT_COC,
    category_option_combo_uid,
    data_element_uid,
    fmp_codes,
    org_unit_uids,
)
from corridor.demo.observe import HIV_ELEMENTS, ServiceValue
from corridor.demo.observe_flows import FlowRow
from corridor.demo.outbreak import Case
from corridor.demo.recency import RECENCY_ELEMENTS

MPOX_ELEMENTS = ("mpox_suspected", "mpox_tested", "mpox_confirmed")
POE_ELEMENTS = ("poe_crossings", "poe_screened")
#: org units mapped explicitly in the mapping file, to show the feature (same as places.dhis2_uid)
MAPPED_ORG_UNITS = ("ke-malaba", "ug-mpondwe")


def places_rows() -> list[list[Cell]]:
    """Countries, then admin1 areas, then sites (parents before children)."""
    rows: list[list[Cell]] = []
    uids = org_unit_uids()
    fmps = fmp_codes()
    for c in COUNTRIES:
        code = c.iso3.lower()
        rows.append([code, c.name, "country", "", code, c.lat, c.lon, "", c.population, "", ""])
    for code, name, lat, lon, population in ADMIN1:
        rows.append([code, name, "admin1", "ken", "ken", lat, lon, "", population, "", ""])
    corridors = site_corridors()
    for s in SITES:
        rows.append([
            s.code, s.name, s.place_type, s.admin1 or s.country.lower(), s.country.lower(),
            s.lat, s.lon, ";".join(corridors[s.code]), s.population, uids.get(s.code, ""),
            fmps.get(s.code, ""),
        ])  # fmt: skip
    return rows


@dataclass(frozen=True, slots=True)
class ServicesEncoding:
    data_values: list[dict[str, str]]
    data_elements: dict[str, str]  # UID -> element
    cocs: dict[str, dict[str, str]]  # UID -> dimensions
    org_units: dict[str, str]  # explicitly mapped UID -> place code


def encode_services(values: Sequence[ServiceValue]) -> ServicesEncoding:
    uids = org_unit_uids()
    elements = [*HIV_ELEMENTS, *RECENCY_ELEMENTS, *POE_ELEMENTS, *MPOX_ELEMENTS]
    data_elements = {data_element_uid(e): e for e in elements}
    cocs: dict[str, dict[str, str]] = {DEFAULT_COC: {}}
    combos = sorted(
        {(v.sex, v.age_band, v.group) for v in values if v.sex or v.age_band or v.group}
    )
    for sex, age, group in combos:
        dims = {"sex": sex, "age_band": age, "population_group": group}
        cocs[category_option_combo_uid(sex, age, group)] = {k: x for k, x in dims.items() if x}
    data_values = [
        {
            "dataElement": data_element_uid(v.element),
            "period": v.period,
            "orgUnit": uids[v.place],
            "categoryOptionCombo": category_option_combo_uid(v.sex, v.age_band, v.group),
            "attributeOptionCombo": DEFAULT_COC,
            "value": str(v.value),
        }
        for v in values
    ]
    org_units = {uids[c]: c for c in MAPPED_ORG_UNITS}
    return ServicesEncoding(data_values, data_elements, cocs, org_units)


def flows_rows(rows: Sequence[FlowRow]) -> list[list[Cell]]:
    return [
        [r.t, r.fmp, r.fmp_country, r.movement, r.origin, r.next, r.final, r.sex, r.age, r.group,
         r.mode, r.n]
        for r in rows
    ]  # fmt: skip


def cases_rows(cases: Sequence[Case]) -> list[list[Cell]]:
    """The reported line list with country-sequential case ids."""
    rows: list[list[Cell]] = []
    counters: dict[str, int] = {}
    by_code = {s.code: s for s in SITES}
    for c in cases:
        iso3 = by_code[c.site].country
        counters[iso3] = counters.get(iso3, 0) + 1
        rows.append([
            f"MPX-{iso3}-{counters[iso3]:05d}", "mpox", c.classification, c.onset.isoformat(),
            c.report_date.isoformat() if c.report_date else "", c.site, c.sex, c.age_years,
            c.population_group, c.origin, c.poe, c.outcome,
        ])  # fmt: skip
    return rows
