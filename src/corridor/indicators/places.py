"""Place groupings: each place's country, admin1 area, corridors and type, from the registry.

Country and admin1 follow the parent_code chain (a place of type ``country`` / ``admin1`` above
the place, or the place itself); a place with no country above it falls back to the place of type
``country`` with the same country_code, then to the country_code itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import pyarrow as pa

from corridor.storage.engine import Engine

ALL: Final = "all"
NONE: Final = "none"  # no admin1 above the place / no corridor
#: place groupings that add up (each place counts once); corridors overlap and do not
ADDITIVE_PLACE_DIMS: Final = ("place", "admin1", "country", "place_type")
#: output columns of each place grouping besides place_code / place_name
PLACE_COLUMNS: Final[dict[str, str]] = {
    "country": "country",
    "admin1": "admin1",
    "corridor": "corridor",
    "place_type": "place_type",
}


def place_code_dim(dims: Sequence[str]) -> str | None:
    """Which grouping names place_code: the finest of place > admin1 > country."""
    for d in ("place", "admin1", "country"):
        if d in dims:
            return d
    return None


def _ancestor(code: str, kind: str, parent: dict[str, str], ptype: dict[str, str]) -> str | None:
    seen: set[str] = set()
    cur: str | None = code
    while cur and cur not in seen:
        if ptype.get(cur) == kind:
            return cur
        seen.add(cur)
        cur = parent.get(cur)
    return None


def place_map(engine: Engine, dims: Sequence[str]) -> pa.Table:
    """One row per place (per place and corridor when grouped by corridor): the group keys.

    Columns: ``place_code`` (the reporting place), ``g_code`` (the place_code of its group) and
    one column per grouped dimension of :data:`PLACE_COLUMNS`.
    """
    rows = engine.query_rows(
        "SELECT place_code, name, place_type, parent_code, country_code, corridor FROM places",
        step="read places for grouping",
    )
    ptype = {r[0]: r[2] for r in rows}
    parent = {r[0]: r[3] for r in rows if r[3]}
    country_place: dict[str, str] = {}
    for code, _n, t, _p, cc, _c in sorted(rows):
        if t == "country":
            country_place.setdefault(cc, code)
    code_dim = place_code_dim(dims)
    out: dict[str, list[str | None]] = {"place_code": [], "g_code": []}
    for d in PLACE_COLUMNS:
        if d in dims:
            out[PLACE_COLUMNS[d]] = []
    for code, _nm, t, _p, cc, corridors in rows:
        country = _ancestor(code, "country", parent, ptype) or country_place.get(cc) or cc
        admin1 = _ancestor(code, "admin1", parent, ptype)
        if code_dim == "place":
            g_code = code
        elif code_dim == "admin1":
            g_code = admin1 or NONE
        elif code_dim == "country":
            g_code = country
        else:
            g_code = ALL
        base: dict[str, str | None] = {"place_code": code, "g_code": g_code}
        if "country" in dims:
            base["country"] = cc
        if "admin1" in dims:
            base["admin1"] = admin1 or NONE
        if "place_type" in dims:
            base["place_type"] = t
        names = list(dict.fromkeys(c.strip() for c in (corridors or "").split(";") if c.strip()))
        names = names or [NONE]
        for c in names if "corridor" in dims else [None]:
            row = dict(base)
            if c is not None:
                row["corridor"] = c
            for k in out:
                out[k].append(row[k])
    return pa.table({k: pa.array(v, pa.string()) for k, v in out.items()})


def place_names(engine: Engine) -> dict[str, str]:
    rows = engine.query_rows("SELECT place_code, name FROM places", step="read place names")
    return {r[0]: r[1] for r in rows}
