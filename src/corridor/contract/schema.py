"""Table schemas of the tidy contract: column names, HXL tags, types and rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from corridor.contract import dimensions as d

ColumnType = Literal["code", "text", "float", "int", "date", "period", "lat", "lon", "codes"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    hxl: str  # the HXL hashtag with attributes, e.g. "#loc+code+parent"
    type: ColumnType = "text"
    required: bool = True
    codes: tuple[str, ...] | None = None  # allowed values (lower-case) for "code" columns
    default: str | None = None  # value used when the cell is empty (e.g. "total")
    place_ref: bool = False  # must name a known place code


@dataclass(frozen=True, slots=True)
class TableSchema:
    kind: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # natural key: a re-import replaces rows with the same key
    values: tuple[str, ...] = field(default=())  # the measured columns

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _dims() -> tuple[Column, ...]:
    return (
        Column("sex", "#gender+code", "code", False, d.SEXES, d.TOTAL),
        Column("age_band", "#age+range", "code", False, d.AGE_BANDS, d.TOTAL),
        Column(
            "population_group",
            "#population_group+code",
            "code",
            False,
            d.POPULATION_GROUPS,
            d.TOTAL,
        ),
    )


PLACES: Final = TableSchema(
    "places",
    (
        Column("place_code", "#loc+code", "code"),
        Column("name", "#loc+name", "text"),
        Column("place_type", "#loc+type", "code", True, d.PLACE_TYPES),
        Column("parent_code", "#loc+code+parent", "code", False, default=""),
        Column("country_code", "#country+code", "code"),
        Column("lat", "#geo+lat", "lat", False),
        Column("lon", "#geo+lon", "lon", False),
        Column("corridor", "#x_corridor+name", "codes", False, default=""),
        Column("population", "#population", "int", False),
        Column("dhis2_uid", "#x_dhis2+uid", "text", False, default=""),
        Column("fmp_code", "#x_fmp+code", "code", False, default=""),
    ),
    key=("place_code",),
    values=(
        "name",
        "place_type",
        "parent_code",
        "country_code",
        "lat",
        "lon",
        "corridor",
        "population",
        "dhis2_uid",
        "fmp_code",
    ),
)

FLOWS: Final = TableSchema(
    "flows",
    (
        Column("period_start", "#date+start", "date"),
        Column("period_end", "#date+end", "date"),
        Column("observation_code", "#loc+code", "code", place_ref=True),
        Column("direction", "#x_direction", "code", True, d.DIRECTIONS),
        Column("origin_code", "#loc+code+origin", "code", False, default="", place_ref=True),
        Column("destination_code", "#loc+code+dest", "code", False, default="", place_ref=True),
        *_dims(),
        Column("mode", "#x_mode", "code", False, (*d.MODES, ""), ""),
        Column("count", "#x_travellers+num", "int"),
    ),
    key=(
        "period_start",
        "period_end",
        "observation_code",
        "direction",
        "origin_code",
        "destination_code",
        "sex",
        "age_band",
        "population_group",
        "mode",
    ),
    values=("count",),
)

SERVICES: Final = TableSchema(
    "services",
    (
        Column("period", "#date+period", "period"),
        Column("place_code", "#loc+code", "code", place_ref=True),
        Column("data_element", "#indicator+code", "code", True, tuple(d.DATA_ELEMENTS)),
        *_dims(),
        Column("value", "#x_value+num", "float"),
    ),
    key=("period", "place_code", "data_element", "sex", "age_band", "population_group"),
    values=("value",),
)

CASES: Final = TableSchema(
    "cases",
    (
        Column("case_id", "#x_case+id", "text"),
        Column("disease", "#x_disease+code", "code"),
        Column("classification", "#x_case+classification", "code", True, d.CLASSIFICATIONS),
        Column("onset_date", "#date+onset", "date", False),
        Column("report_date", "#date+reported", "date"),
        Column("place_code", "#loc+code", "code", place_ref=True),
        Column("sex", "#gender+code", "code", False, d.SEXES, d.TOTAL),
        Column("age_years", "#age+years", "float", False),
        Column(
            "population_group",
            "#population_group+code",
            "code",
            False,
            d.POPULATION_GROUPS,
            d.TOTAL,
        ),
        Column("origin_code", "#loc+code+origin", "code", False, default="", place_ref=True),
        Column("poe_code", "#loc+code+poe", "code", False, default="", place_ref=True),
        Column("outcome", "#x_outcome", "code", False, default=""),
    ),
    key=("case_id",),
    values=(
        "disease",
        "classification",
        "onset_date",
        "report_date",
        "place_code",
        "sex",
        "age_years",
        "population_group",
        "origin_code",
        "poe_code",
        "outcome",
    ),
)

SCHEMAS: Final[dict[str, TableSchema]] = {s.kind: s for s in (PLACES, FLOWS, SERVICES, CASES)}
KINDS: Final = tuple(SCHEMAS)


def schema_for(kind: str) -> TableSchema:
    return SCHEMAS[kind]


#: Well-known other names of contract columns, as a header (or an HXL hashtag) spells them in
#: the field, compared normalised (:func:`normalised_name`). A tidy file (CSV, HXL, XLSX) with
#: such a column and without the contract column it names is refused: read as it is, the column
#: would be ignored and its values lost (a ``gender`` column: every row a total, rows colliding).
#: Kept small and explicit; docs/data-contract.md lists it. A contract column's own name written
#: otherwise (``Age Band``, ``place-code``) counts as another name too.
OTHER_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "sex": ("gender",),
    "age_band": ("age", "age_group", "age_range"),
    "age_years": ("age",),
    "population_group": ("group", "population", "key_population"),
    "data_element": ("indicator",),
    "place_code": ("place", "site", "orgunit"),
    "origin_code": ("origin",),
    "destination_code": ("destination",),
    "value": ("count",),
    "count": ("value",),
}


def normalised_name(label: str) -> str:
    """A header as :data:`OTHER_NAMES` compares it: lower case, without blanks, ``_``, ``-``
    and ``.`` (``Age Group``, ``age-group`` and ``AGE_GROUP`` are all ``agegroup``)."""
    return "".join(c for c in label.lower() if not (c.isspace() or c in "_-."))


def probable_column(label: str, schema: TableSchema) -> str | None:
    """The contract column of ``schema`` that a header (or a hashtag: ``#sex``) ``label``
    probably means, or None. A name that is a contract column of the kind (``count`` in flows,
    ``population`` in places) means that column, never another one."""
    if label.strip().lower() in schema.names:
        return label.strip().lower()
    key = normalised_name(label)
    if not key:
        return None
    for col in schema.columns:
        if key == normalised_name(col.name):
            return col.name
    for col in schema.columns:
        if key in (normalised_name(n) for n in OTHER_NAMES.get(col.name, ())):
            return col.name
    return None
