"""DHIS2 dataValueSets JSON and ADX XML exports of indicator tables, streamed from Arrow.

Only the finest cells go out (DHIS2 adds up margins itself): each count of a data element once,
then the indicator values (percentages, said so in a comment). Withheld values are left out, with
a comment. Codes go through the mapping of the latest import that used one. A grouping DHIS2
cannot carry (corridor, place type) is refused; values of places with no admin1 area are left
out, said so in the payload and in the notes the writers return (for the command's stderr).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO, Final
from xml.sax.saxutils import quoteattr

import numpy as np
import pyarrow as pa

from corridor.contract.dimensions import TOTAL
from corridor.contract.periods import parse_period
from corridor.errors import QueryError
from corridor.indicators.disclosure import (
    disclosure_note,
    method_of,
    small_counts,
    threshold_of,
)
from corridor.indicators.exchangevalues import (
    Coded,
    Values,
    combined,
    exchange_table,
    exchange_values,
    formatted,
    numbered,
    unplaced_note,
)
from corridor.indicators.exportlines import LineTexts
from corridor.storage.engine import Engine

DISAGGREGATIONS: Final = ("sex", "age_band", "population_group")
INDICATOR_COMMENT: Final = "Corridor indicator value (percent)"
#: values joined into text at a time: memory stays bounded whatever the table's size
BATCH_ROWS: Final = 1 << 16


@dataclass
class Codes:
    """How Corridor's codes are written for DHIS2/ADX: through the intake mapping where known."""

    data_elements: dict[str, str] = field(default_factory=dict)  # corridor code -> uid
    org_units: dict[str, str] = field(default_factory=dict)  # place_code -> uid
    combos: dict[tuple[str, str, str], tuple[str, str | None]] = field(default_factory=dict)
    dim_codes: dict[str, dict[str, str]] = field(default_factory=dict)  # ADX attribute values

    def data_element(self, code: str) -> str:
        return self.data_elements.get(code, code)

    def org_unit(self, place: str) -> str:
        return self.org_units.get(place, place)

    def combo(self, sex: str, age: str, group: str) -> tuple[str, str | None]:
        """(categoryOptionCombo, attributeOptionCombo or None)."""
        key = (sex, age, group)
        if key in self.combos:
            return self.combos[key]
        parts = [f"{n}={v}" for n, v in zip(DISAGGREGATIONS, key, strict=True) if v != TOTAL]
        return (";".join(parts) or TOTAL, None)


def latest_mapping(engine: Engine) -> dict[str, Any] | None:
    """The mapping used by the latest services import that used one (imports.mapping)."""
    text = engine.scalar(
        "SELECT mapping FROM imports WHERE mapping IS NOT NULL AND kind = 'services' "
        "ORDER BY import_id DESC LIMIT 1",
        step="latest mapping",
    )
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def codes_for(engine: Engine) -> Codes:
    mapping = latest_mapping(engine) or {}
    codes = Codes()
    for uid, code in sorted((mapping.get("data_elements") or {}).items()):
        codes.data_elements.setdefault(str(code), str(uid))
    # org units: the mapping used on intake, else the place's dhis2_uid, else its code
    for uid, place in sorted((mapping.get("org_units") or {}).items()):
        codes.org_units.setdefault(str(place), str(uid))
    for place, uid in engine.query_rows(
        "SELECT place_code, dhis2_uid FROM places WHERE dhis2_uid <> ''", step="dhis2 uids"
    ):
        codes.org_units.setdefault(place, uid)
    cocs = mapping.get("category_option_combos") or {}
    aocs = mapping.get("attribute_option_combos") or {}

    def dims(d: Mapping[str, str]) -> dict[str, str]:
        return {k: str(v) for k, v in d.items() if str(v) != TOTAL}

    for uid, d in sorted(cocs.items()):
        full = tuple(dims(d).get(k, TOTAL) for k in DISAGGREGATIONS)
        codes.combos.setdefault(full, (uid, None))  # type: ignore[arg-type]
    for c_uid, cd in sorted(cocs.items()):
        for a_uid, ad in sorted(aocs.items()):
            a, b = dims(cd), dims(ad)
            if set(a) & set(b):
                continue
            full = tuple({**a, **b}.get(k, TOTAL) for k in DISAGGREGATIONS)
            codes.combos.setdefault(full, (c_uid, a_uid))  # type: ignore[arg-type]
    for dim, section in (
        ("sex", "sex"),
        ("age_band", "age"),
        ("population_group", "population_group"),
    ):
        for ext, code in sorted((mapping.get(section) or {}).items()):
            codes.dim_codes.setdefault(dim, {}).setdefault(str(code), str(ext))
    return codes


def dhis2_period(text: str) -> str:
    p = _single_period(text)
    if p.kind == "month":
        return f"{p.start.year}{p.start.month:02d}"
    if p.kind == "week":
        return f"{p.text[:4]}W{int(p.text[5:])}"
    return p.text


def adx_period(text: str) -> str:
    p = _single_period(text)
    duration = {"year": "P1Y", "quarter": "P3M", "month": "P1M", "week": "P7D"}[p.kind]
    return f"{p.start.isoformat()}/{duration}"


def _single_period(text: str) -> Any:
    try:
        return parse_period(text)
    except ValueError:
        raise QueryError(
            f"DHIS2 and ADX exports need single reporting periods, not {text!r}: "
            "use --period with one period, or add period to --by"
        ) from None


@dataclass(frozen=True, slots=True)
class Value:
    """One value for DHIS2/ADX: a count of a data element or an indicator value (percent)."""

    data_element: str
    period: str
    place: str
    sex: str
    age_band: str
    population_group: str
    value: float | None
    flag: str | None
    kind: str  # count | indicator
    note: str = ""  # incomplete reporting, for indicator values


def values_for_exchange(table: pa.Table, *, unsuppressed: bool = False) -> list[Value]:
    """The finest cells of the output (no margins), counts once each, then indicator values."""
    return [
        Value(
            r["data_element"],
            r["period"],
            r["place"],
            r["sex"],
            r["age_band"],
            r["population_group"],
            r["value"],
            r["flag"],
            r["kind"],
            r["note"],
        )
        for r in exchange_table(table, unsuppressed=unsuppressed).to_pylist()
    ]


def _q(text: str) -> str:
    return json.dumps(text)


def _held(values: Values) -> np.ndarray:
    """Which values are withheld (they carry a flag)."""
    return np.array([f is not None for f in values.flag.texts], dtype=bool)[values.flag.codes]


def _batches(rows: np.ndarray) -> list[tuple[np.ndarray, bool]]:
    """The rows a batch at a time (each batch stays in the processor's cache and its memory is
    reused, whatever the table's size), and whether it is the last."""
    n = len(rows)
    return [(rows[s : s + BATCH_ROWS], s + BATCH_ROWS >= n) for s in range(0, n, BATCH_ROWS)]


def _left_out(values: Values) -> list[str]:
    """Notes on the values left out for want of an org unit (empty when none were)."""
    return [unplaced_note(values.unplaced)] if values.unplaced else []


def write_dhis2_json(
    table: pa.Table, codes: Codes, stream: BinaryIO, *, unsuppressed: bool = False
) -> list[str]:
    """A DHIS2 dataValueSet: ``json.dumps(indent=2)`` bytes, built column by column.

    Returns notes on values left out for want of an org unit (also in the top-level comment).
    """
    values = exchange_values(table, unsuppressed=unsuppressed)
    held = _held(values)
    withheld = int(held.sum())
    rows = np.flatnonzero(~held)
    tail: dict[str, Any] = {}
    comments = []
    if withheld:
        small = small_counts(threshold_of(table))
        comments.append(
            f"{withheld} value(s) withheld by disclosure control ("
            + (f"counts {small}, " if small else "")
            + "complementary cells and their rates) are left out of dataValues"
        )
    elif not unsuppressed and method_of(table) == "cellkey":
        comments.append(disclosure_note(table))
    notes = _left_out(values)
    parts = [*comments, *notes]
    if len(parts) == 1:
        tail["comment"] = parts[0]
    elif parts:  # (sentences)
        tail["comment"] = " ".join(c if c.endswith(".") else f"{c}." for c in parts)
    if len(rows) == 0:
        stream.write((json.dumps({"dataValues": [], **tail}, indent=2) + "\n").encode())
        return notes
    stream.write(b'{\n  "dataValues": [\n')

    def combo_text(sex: str, age: str, group: str) -> str:
        coc, aoc = codes.combo(sex, age, group)
        text = f'      "categoryOptionCombo": {_q(coc)},\n'
        if aoc is not None:
            text += f'      "attributeOptionCombo": {_q(aoc)},\n'
        return text + '      "value": "'

    def tail_text(indicator: bool, note: str) -> str:
        """The end of a data value: an indicator's comment (with a completeness note)."""
        if not indicator:
            return '"\n    },\n'
        text = INDICATOR_COMMENT + (f"; {note}" if note else "")
        return f'",\n      "comment": {_q(text)}\n    }},\n'

    # each distinct text formatted once (of the values written), constant texts folded in
    keyed = [
        values.element.formatted(
            lambda v: (
                f'    {{\n      "dataElement": {_q(codes.data_element(v))},\n      "period": '
            ),
            rows,
        ),
        values.period.formatted(lambda v: f'{_q(dhis2_period(v))},\n      "orgUnit": ', rows),
        values.place.formatted(lambda v: f"{_q(codes.org_unit(v))},\n", rows),
        formatted(values.dims(), combo_text, rows),
        formatted([_flags(values.indicator), values.note], tail_text, rows),
    ]
    texts = LineTexts([k.texts for k in keyed], 4, "None")
    x = values.value.to_numpy(zero_copy_only=False)  # nulls as NaN, written alike
    for batch, last in _batches(rows):
        keys = [k.key[batch] for k in keyed]
        texts.write(keys, 4, x[batch], stream, drop_tail=2 if last else 0)
    rest = "".join(f",\n  {_q(k)}: {_q(v)}" for k, v in tail.items())
    stream.write(f"\n  ]{rest}\n}}\n".encode())
    return notes


def _flags(mask: np.ndarray) -> Coded:
    return Coded(mask.view(np.int8), [False, True])


def write_adx(
    table: pa.Table,
    codes: Codes,
    stream: BinaryIO,
    *,
    unsuppressed: bool = False,
    stamp: str | None = None,
) -> list[str]:
    """ADX XML: one group per org unit and period, in order of first appearance.

    Returns notes on values left out for want of an org unit (also an XML comment).
    """
    values = exchange_values(table, unsuppressed=unsuppressed)
    stamp = stamp or datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    stream.write(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<adx xmlns="urn:ihe:qrph:adx:2015" '
        f'exported="{stamp}">\n'.encode()
    )
    if not unsuppressed and method_of(table) == "cellkey":
        stream.write(f"  <!-- {disclosure_note(table)} -->\n".encode())
    notes = _left_out(values)
    for note in notes:
        stream.write(f"  <!-- {note.replace('--', '- -')} -->\n".encode())
    n = values.num_rows
    if n:
        _write_adx_groups(values, codes, stream)
    stream.write(b"</adx>\n")
    return notes


def _write_adx_groups(values: Values, codes: Codes, stream: BinaryIO) -> None:
    """The groups (org unit, period), numbered in order of first appearance; a stable sort keeps
    each group's values in their order. A line is two parts: the line up to its value (a note,
    the element and dimensions; a withheld value's comment), after a group's closing and the
    next one's opening where a group starts, and its number with the end of the line."""
    key = combined([(c.codes, len(c.texts)) for c in (values.place, values.period)])
    group, heads = numbered(key)
    order = np.argsort(group, kind="stable")
    start = np.cumsum(np.bincount(group))[:-1]  # where groups after the first start (written)
    held = _held(values)
    places = values.place.codes[heads].tolist()
    periods = values.period.codes[heads].tolist()
    org = {p: quoteattr(codes.org_unit(str(values.place.texts[p]))) for p in set(places)}
    when = {q: quoteattr(adx_period(str(values.period.texts[q]))) for q in set(periods)}
    headers = [
        f'  <group orgUnit={org[p]} period={when[q]} dataSet="CORRIDOR_INDICATORS">\n'
        for p, q in zip(places, periods, strict=True)
    ]
    # a shown value's completeness note comes before it (code 0: none)
    note = Coded(
        np.where(held, 0, values.note.codes.astype(np.int64) + 1), ["", *values.note.texts]
    )

    def line(note: str, flag: str | None, element: str, sex: str, age: str, group: str) -> str:
        text = f"    <!-- {note} -->\n" if note else ""
        dims = zip(DISAGGREGATIONS, (sex, age, group), strict=True)
        attrs = f"dataElement={quoteattr(codes.data_element(element))}" + "".join(
            _dim_attr(codes, d, c) for d, c in dims
        )
        if flag is None:
            return f'{text}    <dataValue {attrs} value="'
        return f"{text}    <!-- withheld by disclosure control ({flag}): " + (
            attrs.replace("--", "- -") + " -->\n"
        )

    lines = formatted([note, values.flag, values.element, *values.dims()], line)
    # the first line of each group after the first: the group turn, then the line
    firsts = order[start]
    turns = [
        f"  </group>\n{h}{t}"
        for h, t in zip(headers[1:], lines.at(firsts).to_pylist(), strict=True)
    ]
    key = lines.key.copy()
    key[firsts] = len(lines.texts) + np.arange(len(turns))
    keyed = pa.concat_arrays([lines.texts, pa.array(turns, pa.string())])
    texts = LineTexts([keyed], 4, "None", '"/>\n')  # (the number ends the line)
    x = values.value.to_numpy(zero_copy_only=False)  # nulls as NaN, written alike
    stream.write(headers[0].encode())
    for batch, _last in _batches(order):  # a withheld value: its comment, no number
        texts.write([key[batch]], 1, x[batch], stream, blank=held[batch])
    stream.write(b"  </group>\n")


def _dim_attr(codes: Codes, dim: str, code: str | None) -> str:
    if code is None or code == TOTAL:
        return ""
    shown = codes.dim_codes.get(dim, {}).get(code, code)
    return f" {dim}={quoteattr(shown)}"


def to_dhis2_json(table: pa.Table, codes: Codes, *, unsuppressed: bool = False) -> str:
    buf = io.BytesIO()
    write_dhis2_json(table, codes, buf, unsuppressed=unsuppressed)
    return buf.getvalue().decode("utf-8")


def to_adx(
    table: pa.Table, codes: Codes, *, unsuppressed: bool = False, stamp: str | None = None
) -> str:
    buf = io.BytesIO()
    write_adx(table, codes, buf, unsuppressed=unsuppressed, stamp=stamp)
    return buf.getvalue().decode("utf-8")


__all__ = (
    "Codes",
    "Value",
    "adx_period",
    "codes_for",
    "dhis2_period",
    "exchange_table",
    "to_adx",
    "to_dhis2_json",
    "values_for_exchange",
    "write_adx",
    "write_dhis2_json",
)
