"""Mapping files: DHIS2 / ADX / DTM identifiers to Corridor's codes (docs/data-contract.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from corridor.errors import file_error

SECTIONS = (
    "data_elements",
    "category_option_combos",
    "attribute_option_combos",
    "org_units",
    "fmp",
    "locations",
    "sex",
    "age",
    "population_group",
    "movement",
    "mode",
)
DIMENSION_KEYS = ("sex", "age_band", "population_group")
#: settings of the source (not identifier sections): ``drop_zeros: true|false`` says whether the
#: source leaves zero values out (DHIS2 does by default); see docs/indicators.md
SETTINGS = ("drop_zeros",)


def load_mapping(path: Path) -> dict[str, Any]:
    """Read a mapping file (YAML or JSON) and check its shape."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise file_error(name, "mapping file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise file_error(name, f"cannot read mapping file: {exc}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise file_error(name, f"mapping file is not valid YAML/JSON: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise file_error(name, "mapping file must be a mapping of sections (data_elements: ...)")
    unknown = sorted(set(data) - set(SECTIONS) - set(SETTINGS))
    if unknown:
        raise file_error(
            name,
            f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS + SETTINGS)}",
        )
    out: dict[str, Any] = {}
    if "drop_zeros" in data:
        flag = data.pop("drop_zeros")
        if not isinstance(flag, bool):
            raise file_error(name, f"drop_zeros must be true or false, not {flag!r}")
        out["drop_zeros"] = flag
    for section, body in data.items():
        body = body or {}
        if not isinstance(body, dict):
            raise file_error(name, f"section {section!r} must map identifiers to codes")
        if section in ("category_option_combos", "attribute_option_combos"):
            for uid, dims in body.items():
                dims = dims or {}
                if not isinstance(dims, dict) or set(dims) - set(DIMENSION_KEYS):
                    raise file_error(
                        name,
                        f"{section}.{uid}: expected a mapping with keys among "
                        f"{', '.join(DIMENSION_KEYS)}",
                    )
                body[uid] = {k: str(v).lower() for k, v in dims.items()}
            out[section] = {str(k): v for k, v in body.items()}
        else:
            out[section] = {str(k): str(v).lower() for k, v in body.items()}
    return out
