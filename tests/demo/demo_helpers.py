"""Helpers for the demonstration-world tests: reading the files and a small contract checker."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from corridor.contract import dimensions as d
from corridor.contract.periods import parse_iso_date, parse_period

UID = re.compile(r"^[A-Za-z][A-Za-z0-9]{10}$")
DTM_AGES = ("0-14", "15-24", "25-34", "35-49", "50+")


def read_csv(path: Path, skip: int = 0) -> list[dict[str, str]]:
    """Rows of a CSV as dicts (``skip`` rows after the header, e.g. an HXL tag row)."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return rows[skip:]


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative path -> hex)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


class Checker:
    """The contract rules the demonstration files must meet (one problem -> one column)."""

    def __init__(self, places: list[dict[str, str]], mapping: dict[str, Any]) -> None:
        self.codes = {p["place_code"].lower() for p in places}
        self.uids = {p["dhis2_uid"] for p in places if p["dhis2_uid"]}
        self.uids |= set(mapping.get("org_units") or {})
        self.fmps = {p["fmp_code"] for p in places if p["fmp_code"]}
        self.countries = {p["place_code"] for p in places if p["place_type"] == "country"}
        self.mapping = mapping

    def service(self, v: dict[str, str]) -> list[str]:
        bad = []
        try:
            parse_period(v["period"])
        except ValueError:
            bad.append("period")
        if v["orgUnit"] not in self.uids:
            bad.append("place_code")
        if v["dataElement"] not in self.mapping["data_elements"]:
            bad.append("data_element")
        if v["categoryOptionCombo"] not in self.mapping["category_option_combos"]:
            bad.append("category_option_combo")
        if float(v["value"]) < 0:
            bad.append("value")
        return bad

    def _place(self, code: str, allow_empty: bool) -> bool:
        return (allow_empty and code == "") or code.lower() in self.codes

    def flow(self, r: dict[str, str]) -> list[str]:
        bad = []
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", r["t"]):
            bad.append("period_start")
        if r["fmp"] not in self.fmps:
            bad.append("observation_code")
        if (
            r["fmp_country"].lower() not in self.countries
            or r["fmp_country"] != r["fmp_country"].upper()
        ):
            bad.append("fmp_country")
        if r["movement"] not in d.DIRECTIONS:
            bad.append("direction")
        if not self._place(r["origin"], False):
            bad.append("origin_code")
        if not self._place(r["next"], False) or not self._place(r["final"], True):
            bad.append("destination_code")
        if r["sex"] not in ("F", "M"):
            bad.append("sex")
        if r["age"] not in DTM_AGES:
            bad.append("age_band")
        if r["group"] not in d.POPULATION_GROUPS:
            bad.append("population_group")
        if r["mode"] not in d.MODES:
            bad.append("mode")
        if not r["n"].isdigit():
            bad.append("count")
        return bad

    def case(self, r: dict[str, str]) -> list[str]:
        bad = []
        dates = {}
        for col in ("onset_date", "report_date"):
            try:
                dates[col] = parse_iso_date(r[col])
            except ValueError:
                bad.append(col)
        if len(dates) == 2 and dates["onset_date"] > dates["report_date"]:
            bad.append("onset_date")
        if r["disease"] != "mpox":
            bad.append("disease")
        if r["classification"] not in d.CLASSIFICATIONS:
            bad.append("classification")
        if not self._place(r["place_code"], False):
            bad.append("place_code")
        if r["sex"] not in d.SEXES:
            bad.append("sex")
        if not 0 <= float(r["age_years"]) <= 110:
            bad.append("age_years")
        if r["population_group"] not in d.POPULATION_GROUPS:
            bad.append("population_group")
        for col in ("origin_code", "poe_code"):
            if not self._place(r[col], True):
                bad.append(col)
        return bad
