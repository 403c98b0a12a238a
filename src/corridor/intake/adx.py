"""ADX (IHE QRPH aggregate data exchange) XML -> services rows; also DHIS2 dataValueSet XML.

XML is parsed only with defusedxml: a DTD, entity declarations or external references reject the
file ("billion laughs" and external-entity attacks never expand). ADX periods ``start/duration``
become contract periods; disaggregation attributes on ``group``/``dataValue`` elements are read as
sex, age band or population group (by the attribute's name) and translated with the mapping's
``sex``/``age``/``population_group`` sections. Row numbers count ``dataValue`` elements from 1.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import polars as pl
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from corridor.errors import Problem, file_error
from corridor.intake import codes, dhis2
from corridor.intake.rawtable import ROW, RawTable, ReadContext
from corridor.intake.wrongformat import require_xml

ADX_NS = "urn:ihe:qrph:adx:2015"
DHIS2_NS = "http://dhis2.org/schema/dxf/2.0"
GROUP_FIELDS = frozenset({"orgUnit", "period", "dataSet", "completeDate"})
#: attribute names (lower-case, without _ or -) read as each dimension
DIMENSION_NAMES = {
    "sex": "sex",
    "gender": "sex",
    "age": "age_band",
    "ageband": "age_band",
    "agegroup": "age_band",
    "agerange": "age_band",
    "populationgroup": "population_group",
    "popgroup": "population_group",
    "group": "population_group",
    "keypopulation": "population_group",
    "population": "population_group",
}
DIMS = ("sex", "age_band", "population_group")


def parse_xml(data: bytes, file: str) -> Element:
    """Parse with defusedxml; DTDs, entities and external references are refused, and so is
    a file that does not start as XML (:func:`corridor.intake.wrongformat.require_xml`)."""
    require_xml(data, file)
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise file_error(
            file, f"XML entities/DTD are not allowed ({type(exc).__name__}); remove the DOCTYPE"
        ) from None
    except ParseError as exc:
        line, col = getattr(exc, "position", (0, 0))
        reason = str(exc).split(":", 1)[0]
        raise file_error(
            file, f"not well-formed XML: {reason} at line {line}, column {col + 1}"
        ) from None
    except (ValueError, UnicodeError) as exc:
        raise file_error(file, f"not readable XML: {exc}") from None


def local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def read_adx(path: Path, data: bytes, kind: str, ctx: ReadContext) -> RawTable:
    file = ctx.display_name
    root = parse_xml(data, file)
    name = local(root.tag)
    if name == "dataValueSet":
        return read_dhis2_xml_root(root, kind, ctx)
    dhis2.require_services(kind, file, "ADX")
    if name != "adx":
        raise file_error(
            file, f'XML root element is <{name}>, expected <adx xmlns="{ADX_NS}"> (ADX)'
        )
    columns: dict[str, list[str | None]] = {
        k: [] for k in ("dataElement", "period", "orgUnit", *DIMS, "value")
    }
    problems: list[Problem] = []
    row = 0
    for gi, group in enumerate((g for g in root if local(g.tag) == "group"), start=1):
        attrs = dict(group.attrib)
        for required in ("orgUnit", "period"):
            if not attrs.get(required, "").strip():
                raise file_error(file, f"ADX group {gi} has no {required} attribute")
        shared = {k: v for k, v in attrs.items() if k not in GROUP_FIELDS}
        for dv in group:
            if local(dv.tag) != "dataValue":
                continue
            row += 1
            columns["dataElement"].append(dv.get("dataElement"))
            columns["period"].append(attrs["period"])
            columns["orgUnit"].append(attrs["orgUnit"])
            value = dv.get("value")
            if value is None:
                child = next((c for c in dv if local(c.tag) == "value"), None)
                value = child.text if child is not None else None
            columns["value"].append(value)
            extra = {
                **shared,
                **{k: v for k, v in dv.attrib.items() if k not in ("dataElement", "value")},
            }
            found = _dimensions(extra, row, file, problems)
            for dim in DIMS:
                columns[dim].append(found.get(dim))
    _check_all_read(root, row, "inside a <group> directly under <adx>", file)
    frame = pl.DataFrame(columns, schema={k: pl.Utf8 for k in columns}).with_columns(
        pl.int_range(1, row + 1, dtype=pl.Int64).alias(ROW)
    )
    return _translate(frame, kind, ctx, problems)


def _check_all_read(root: Element, read: int, where: str, file: str) -> None:
    """A file error when the document holds ``<dataValue>`` elements elsewhere than where the
    reader takes them (in a wrapper element, a group inside another): they would be skipped
    without a word."""
    found = sum(1 for e in root.iter() if local(e.tag) == "dataValue")
    if found > read:
        raise file_error(
            file,
            f"{found - read} of the file's {found} <dataValue> element(s) are not {where}, "
            "where they are read: they would be skipped, so the file is refused",
        )


def _dimensions(
    attrs: dict[str, str], row: int, file: str, problems: list[Problem]
) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in attrs.items():
        name = local(key)
        dim = DIMENSION_NAMES.get(name.lower().replace("_", "").replace("-", ""))
        if dim is None:
            problems.append(
                Problem(
                    file,
                    row,
                    name,
                    value,
                    "unknown disaggregation attribute: expected SEX, AGE (AGE_BAND) or "
                    "POPULATION_GROUP",
                )
            )
        elif dim in found:
            problems.append(Problem(file, row, name, value, f"{dim} is given twice"))
        else:
            found[dim] = value
    return found


def _translate(
    frame: pl.DataFrame, kind: str, ctx: ReadContext, problems: list[Problem]
) -> RawTable:
    file, mapping = ctx.display_name, ctx.mapping
    frame = frame.with_columns(pl.col(c).str.strip_chars() for c in frame.columns if c != ROW)
    steps: list[tuple[str, str, Callable[[str], str | None], str, str]] = [
        (
            "dataElement",
            "data_element",
            codes.data_element_resolver(mapping),
            "dataElement",
            "unknown data element: not in the mapping's data_elements, nor a Corridor element",
        ),
        (
            "orgUnit",
            "place_code",
            codes.org_unit_resolver(mapping, ctx.dhis2_places),
            "orgUnit",
            "unknown org unit: not in the mapping's org_units nor any place's dhis2_uid",
        ),
        (
            "period",
            "period",
            codes.adx_period,
            "period",
            "ADX period is not a whole year (P1Y), quarter (P3M), month (P1M) or ISO week (P7D)",
        ),
        ("sex", "sex", codes.sex_resolver(mapping), "sex", codes.DIMENSION_REASONS["sex"]),
        (
            "age_band",
            "age_band",
            codes.age_resolver(mapping),
            "age",
            codes.DIMENSION_REASONS["age_band"],
        ),
        (
            "population_group",
            "population_group",
            codes.group_resolver(mapping),
            "population_group",
            codes.DIMENSION_REASONS["population_group"],
        ),
    ]
    out = list(problems)
    for source, target, resolve, label, reason in steps:
        frame, bad = codes.translate(
            frame,
            source,
            target,
            resolve,
            file=file,
            label=label,
            reason=reason,
            keep=target not in DIMS,
        )
        out += bad
    columns = ("period", "place_code", "data_element", *DIMS, "value")
    return RawTable(
        file,
        "adx",
        kind,
        frame.select(*columns, ROW),
        problems=out,
        mapping=dict(mapping) if mapping else None,
    )


# ---- DHIS2 dataValueSet XML -------------------------------------------------------------------


def read_dhis2_xml(path: Path, data: bytes, kind: str, ctx: ReadContext) -> RawTable:
    root = parse_xml(data, ctx.display_name)
    if local(root.tag) != "dataValueSet":
        raise file_error(
            ctx.display_name,
            f"XML root element is <{local(root.tag)}>, expected <dataValueSet> (DHIS2 XML)",
        )
    return read_dhis2_xml_root(root, kind, ctx)


def read_dhis2_xml_root(root: Element, kind: str, ctx: ReadContext) -> RawTable:
    """``<dataValueSet period=".." orgUnit=".."><dataValue dataElement=".." .../>`` (DHIS2 XML)."""
    dhis2.require_services(kind, ctx.display_name, "DHIS2 XML")
    defaults = {k: root.get(k) for k in dhis2.SET_DEFAULTS}
    columns: dict[str, list[str | None]] = {f: [] for f in dhis2.FIELDS}
    for dv in root:
        if local(dv.tag) != "dataValue":
            continue
        for f in dhis2.FIELDS:
            value = dv.get(f)
            if value is None and f == "value":
                child = next((c for c in dv if local(c.tag) == "value"), None)
                value = child.text if child is not None else None
            columns[f].append(value if value is not None else defaults.get(f))
    n = len(columns["value"])
    _check_all_read(root, n, "children of <dataValueSet>", ctx.display_name)
    frame = pl.DataFrame(columns, schema={f: pl.Utf8 for f in dhis2.FIELDS}).with_columns(
        pl.int_range(1, n + 1, dtype=pl.Int64).alias(ROW)
    )
    return dhis2.translate(frame, kind, ctx, "dhis2-xml", [])
