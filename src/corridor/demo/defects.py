"""A few deliberately invalid rows that validation must catch, recorded in the manifest.

Each defect corrupts exactly one cell of one existing row (a typing slip, a wrong code), so the
rest of the file stays valid. Row numbers are 1-based data rows as a reader counts them: the
index in ``dataValues`` for DHIS2 JSON, the line after the header for CSV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from corridor.demo.formats import Cell
from corridor.demo.ids import dhis2_uid


@dataclass(frozen=True, slots=True)
class InvalidRow:
    file: str
    row: int
    column: str  # the contract column name
    reason: str

    def to_dict(self) -> dict[str, str | int]:
        return {"file": self.file, "row": self.row, "column": self.column, "reason": self.reason}


#: an org unit UID that is neither in places.csv nor in the mapping file
UNKNOWN_ORG_UNIT = dhis2_uid("ou/unknown-health-post")
UNKNOWN_PLACE = "ke-malaba-sub"


def _pick(rng: np.random.Generator, n: int, taken: set[int], ok: list[int] | None = None) -> int:
    candidates = [i for i in (ok if ok is not None else range(n)) if i not in taken]
    i = int(candidates[int(rng.integers(len(candidates)))])
    taken.add(i)
    return i


def inject_services(values: list[dict[str, str]], seed: int) -> list[InvalidRow]:
    rng = np.random.default_rng([51, seed])
    taken: set[int] = set()
    out: list[InvalidRow] = []
    i = _pick(rng, len(values), taken)
    values[i]["value"] = "-" + values[i]["value"]
    out.append(InvalidRow("services.json", i + 1, "value", "negative value"))
    in_2024 = [k for k, v in enumerate(values) if v["period"].startswith("2024Q")]
    i = _pick(rng, len(values), taken, in_2024)
    values[i]["period"] = "2024Q5"
    out.append(InvalidRow("services.json", i + 1, "period", "unknown period 2024Q5"))
    i = _pick(rng, len(values), taken)
    values[i]["orgUnit"] = UNKNOWN_ORG_UNIT
    out.append(InvalidRow("services.json", i + 1, "place_code", "unknown org unit"))
    return out


def inject_flows(rows: list[list[Cell]], seed: int) -> list[InvalidRow]:
    rng = np.random.default_rng([52, seed])
    taken: set[int] = set()
    i = _pick(rng, len(rows), taken)
    rows[i][7] = "U"
    out = [InvalidRow("flows.csv", i + 1, "sex", "bad sex code U")]
    i = _pick(rng, len(rows), taken)
    rows[i][4] = UNKNOWN_PLACE
    out.append(InvalidRow("flows.csv", i + 1, "origin_code", "unknown place code"))
    return out


def inject_cases(rows: list[list[Cell]], seed: int) -> list[InvalidRow]:
    rng = np.random.default_rng([53, seed])
    taken: set[int] = set()
    early_2024 = [k for k, r in enumerate(rows) if str(r[4]) < "2024-06-01"]
    i = _pick(rng, len(rows), taken, early_2024 or None)
    rows[i][4] = "31/02/2024"
    out = [InvalidRow("cases.csv", i + 1, "report_date", "not a valid ISO date (31/02/2024)")]
    i = _pick(rng, len(rows), taken)
    rows[i][6] = "q"
    out.append(InvalidRow("cases.csv", i + 1, "sex", "bad sex code q"))
    return out
