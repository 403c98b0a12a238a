"""Writers for the field formats of the observed layer and the CSV/JSON of the truth.

All output is deterministic: fixed column order, fixed float formatting, sorted JSON keys,
``\\n`` line endings, no timestamps.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

PLACES_HEADER: Final = (
    "place_code", "name", "place_type", "parent_code", "country_code", "lat", "lon", "corridor",
    "population", "dhis2_uid", "fmp_code",
)  # fmt: skip
PLACES_HXL: Final = (
    "#loc+code", "#loc+name", "#loc+type", "#loc+code+parent", "#country+code", "#geo+lat",
    "#geo+lon", "#x_corridor+name", "#population", "#x_dhis2+uid", "#x_fmp+code",
)  # fmt: skip
FLOWS_HEADER: Final = (
    "t", "fmp", "fmp_country", "movement", "origin", "next", "final", "sex", "age", "group",
    "mode", "n",
)  # fmt: skip
CASES_HEADER: Final = (
    "case_id", "disease", "classification", "onset_date", "report_date", "place_code", "sex",
    "age_years", "population_group", "origin_code", "poe_code", "outcome",
)  # fmt: skip

Cell = str | int | float


def fmt(value: Cell) -> str:
    """A CSV cell: integers as is, floats with 6 significant decimals, no exponent."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return "0" if text in ("", "-0") else text
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Cell]], hxl: Sequence[str] = ()) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    if hxl:
        writer.writerow(hxl)
    for row in rows:
        writer.writerow([fmt(v) for v in row])
    return buf.getvalue()


def write_csv(
    path: Path, header: Sequence[str], rows: Iterable[Sequence[Cell]], hxl: Sequence[str] = ()
) -> None:
    path.write_text(csv_text(header, rows, hxl), encoding="utf-8", newline="")


def write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_data_value_sets(path: Path, values: Sequence[dict[str, str]]) -> None:
    """DHIS2 dataValueSets JSON, one data value per line."""
    lines = [json.dumps(v, sort_keys=True) for v in values]
    body = ",\n".join(lines)
    path.write_text('{"dataValues": [\n' + body + "\n]}\n", encoding="utf-8")


def _yaml_map(dims: dict[str, str]) -> str:
    if not dims:
        return "{}"
    items = [f"{k}: {json.dumps(dims[k])}" for k in ("sex", "age_band", "population_group")
             if k in dims]  # fmt: skip
    return "{" + ", ".join(items) + "}"


def mapping_yaml(
    data_elements: dict[str, str],
    cocs: dict[str, dict[str, str]],
    aocs: dict[str, dict[str, str]],
    org_units: dict[str, str],
) -> str:
    """The Corridor DHIS2 mapping file (documented in docs/demo.md)."""
    out = [
        "# Corridor mapping for sources/services.json (DHIS2 dataValueSets)",
        "# Demonstration world: identifiers are synthetic.",
        "data_elements:            # DHIS2 data element UID -> Corridor data element",
    ]
    out += [f"  {uid}: {name}" for uid, name in data_elements.items()]
    out.append("category_option_combos:   # DHIS2 COC UID -> dimensions; a missing key means total")
    out += [f"  {uid}: {_yaml_map(d)}" for uid, d in cocs.items()]
    out.append("attribute_option_combos:  # optional, same shape; merged with the COC's dimensions")
    out += [f"  {uid}: {_yaml_map(d)}" for uid, d in aocs.items()]
    out.append("org_units:                # optional: org unit UID -> place_code "
               "(otherwise places.dhis2_uid is used)")  # fmt: skip
    out += [f"  {uid}: {code}" for uid, code in org_units.items()]
    return "\n".join(out) + "\n"
