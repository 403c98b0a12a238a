"""DHIS2 JSON staged inside a DuckDB warehouse (:mod:`corridor.intake.jsonstage`).

The staged import must end exactly as the exact reader's import does: the same rows stored
(record keys aside, which are random), the same counts and status, the same refusal with the
same messages when a file has problems (those files are handed to the exact reader).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.intake.helpers import PLACES_CSV, write

from corridor.errors import InputError
from corridor.intake import importer, jsonstage
from corridor.storage.engine import Engine, connect
from corridor.storage.migrations import migrate

MAPPING = {
    "data_elements": {"DE1": "hiv_tests", "DE2": "hiv_positive"},
    "org_units": {"ORG-MOMBASA": "ke-mombasa"},
    "category_option_combos": {
        "COC_F": {"sex": "f"},
        "COC_M": {"sex": "m", "age_band": "15-24"},
        "COC_F2": {"sex": "F"},
    },
    "attribute_option_combos": {"AOC_MIG": {"population_group": "migrant"}},
}
COLUMNS = (
    "period, period_type, period_start, period_end, place_code, data_element, sex, age_band, "
    "population_group, value, import_id"
)


def _engine(tmp: Path) -> Engine:
    eng = connect(":memory:")
    migrate(eng)
    importer.ingest(eng, [write(tmp, "places.csv", PLACES_CSV)], "places")
    return eng


@contextmanager
def _exact_only() -> Iterator[None]:
    """Imports without the staged path: the exact reader reads every file."""
    with mock.patch.object(importer, "stage_values", lambda *a, **k: None):
        yield


@contextmanager
def _spied() -> Iterator[list[bool]]:
    """Whether each import's file was staged (True) or handed to the exact reader (False)."""
    taken: list[bool] = []
    real = importer.stage_values

    def spy(*args: Any, **kwargs: Any) -> Any:
        staged = real(*args, **kwargs)
        taken.append(staged is not None)
        return staged

    with mock.patch.object(importer, "stage_values", spy):
        yield taken


def _import(eng: Engine, path: Path, mapping: Path) -> Any:
    try:
        [result] = importer.ingest(eng, [path], "services", mapping_path=mapping)
    except InputError as exc:
        return ("refused", str(exc), [p.format() for p in exc.problems])
    out = result.as_dict()
    rows = eng.query_rows(f"SELECT {COLUMNS} FROM services ORDER BY ALL")
    keys = eng.scalar("SELECT count(*) FROM services WHERE record_key IS NOT NULL")
    return ("imported", out, rows, keys)


def _import_by(staged: bool, eng: Engine, path: Path, mapping: Path, taken: list[bool]) -> Any:
    """One import, staged where the file allows (noting in ``taken`` whether it was) or by the
    exact reader only."""
    if not staged:
        with _exact_only():
            return _import(eng, path, mapping)
    with _spied() as seen:
        outcome = _import(eng, path, mapping)
    taken += seen
    return outcome


def _both(tmp: Path, docs: list[bytes]) -> tuple[list[Any], list[Any], list[bool]]:
    """Each document imported in turn into a fresh warehouse: staged where the file allows,
    and by the exact reader only."""
    mapping = write(tmp, "mapping.json", json.dumps(MAPPING))
    outcomes: dict[bool, list[Any]] = {True: [], False: []}
    taken: list[bool] = []
    for staged in (True, False):
        eng = _engine(tmp)
        try:
            for i, doc in enumerate(docs):
                path = tmp / f"values{i}.json"
                path.write_bytes(doc)
                outcomes[staged].append(_import_by(staged, eng, path, mapping, taken))
        finally:
            eng.close()
    return outcomes[True], outcomes[False], taken


def _value(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "dataElement": "DE1" if i % 2 else "DE2",
        "period": f"{2000 + i // 12}Q{1 + i % 4}",  # with the org unit: a key of its own
        "orgUnit": "OrgMalabaK1" if i % 3 else "ORG-MOMBASA",
        "categoryOptionCombo": ["COC_F", "COC_M", "HllvX50cXC0"][i % 3],
        "attributeOptionCombo": "HllvX50cXC0" if i % 5 else "AOC_MIG",
        "value": str(i * 7),
        **extra,
    }


def _doc(values: list[Any], **top: Any) -> bytes:
    return json.dumps({"dataSet": "x", **top, "dataValues": values}, indent=1).encode()


@pytest.fixture(autouse=True)
def _halves() -> Iterator[None]:
    """Every array read as two halves, as large files are."""
    with mock.patch.object(jsonstage, "SPLIT_BYTES", 16):
        yield


def test_usual_export_is_staged_and_stores_what_the_exact_reader_stores(tmp_path: Path) -> None:
    values = [
        _value(i, storedBy="admin", created="2024-01-01T00:00:00.000", followup=False)
        for i in range(60)
    ]
    values[3]["comment"] = "checked: twice, by phone"
    staged, exact, taken = _both(tmp_path, [_doc(values)])
    assert taken == [True]
    assert staged == exact
    assert staged[0][0] == "imported" and staged[0][1]["rows_new"] == 60
    assert staged[0][3] == 60  # every stored row has a record key


def test_set_defaults_and_a_list_of_values(tmp_path: Path) -> None:
    values = [_value(i) for i in range(6)]  # keys of their own without their periods
    for v in values:
        del v["period"], v["attributeOptionCombo"]
    listed = json.dumps([_value(i) for i in range(12, 20)]).encode()
    staged, exact, taken = _both(
        tmp_path, [_doc(values, period="2023Q4", attributeOptionCombo="AOC_MIG"), listed]
    )
    assert taken == [True, True]
    assert staged == exact
    assert staged[1][1]["rows_new"] == 8


def test_reimport_unchanged_and_corrected(tmp_path: Path) -> None:
    values = [_value(i) for i in range(20)]
    corrected = [dict(v) for v in values]
    corrected[4]["value"] = "9999"
    more = [*corrected, _value(20)]
    docs = [_doc(values), _doc(values), _doc(corrected), _doc(more)]
    staged, exact, taken = _both(tmp_path, docs)
    assert taken == [True, True, True, True]
    assert staged == exact
    statuses = [(o[1]["status"], o[1]["rows_new"], o[1]["rows_replaced"]) for o in staged]
    assert statuses == [
        ("imported", 20, 0),
        ("unchanged", 0, 0),
        ("imported", 0, 1),
        ("imported", 1, 0),
    ]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"deleted": True}, "deleted"),
        ({"dataElement": "nope"}, "unknown code"),
        ({"value": "-1"}, "invalid value"),
        ({"value": 5}, "a number"),
        ({"other": "x"}, "another key"),
        ({"period": "2024Q1", "dataElement": "DE1", "orgUnit": "OrgMalabaK1"}, "doubled key"),
    ],
)
def test_unusual_files_go_to_the_exact_reader(
    tmp_path: Path, change: dict[str, Any], why: str
) -> None:
    values = [_value(i) for i in range(10)]
    if why == "doubled key":
        values[7] = {**_value(1), "categoryOptionCombo": "COC_M"}
        values[1] = {**_value(1), "categoryOptionCombo": "COC_M"}
    else:
        values[7].update(change)
    staged, exact, taken = _both(tmp_path, [_doc(values)])
    assert taken == [False]
    assert staged == exact


TEXTS = {
    "dataElement": ["DE1", "DE2", "de1", "hiv_tests", "HIV_TESTS", "nope", " DE2 ", ""],
    "period": ["2024Q1", "2024Q2", "202401", "2024W5", "2024q3", "1800", "bad", " 2024 "],
    "orgUnit": ["OrgMalabaK1", "ORG-MOMBASA", "org-mombasa", "OrgMalabaU1", "nope"],
    "categoryOptionCombo": ["COC_F", "COC_M", "COC_F2", "HllvX50cXC0", "default", "bad"],
    "attributeOptionCombo": ["HllvX50cXC0", "AOC_MIG", "bad"],
    "value": ["5", "0", "1.5", " 7 ", "-1", "abc", "12,5", "1e3", "", "10000000000000000"],
    "deleted": ["false", "true", " TRUE "],
    "comment": ["a, b: c", "x"],
    "created": ["2024-01-01T00:00:00.000"],
}
EDIT = st.tuples(
    st.integers(0, 7),
    st.sampled_from(sorted(TEXTS)),
    st.sampled_from(["absent", "text", "text", "true", "false", "number", "null"]),
)


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """Small dataValueSets of known codes, each value with a key of its own (so that many are
    staged), with a few edits that the staged path must hand on or read alike: other texts
    (unknown, invalid, other spellings of a code), numbers, booleans, nulls, absent fields
    (and the set's own defaults), values marked deleted, keys shared."""
    n = draw(st.integers(1, 8))
    values = [_value(i) for i in range(n)]
    for i, name, kind in draw(st.lists(EDIT, max_size=3)):
        value = values[i % n]
        if kind == "absent":
            value.pop(name, None)
        elif kind == "text":
            value[name] = draw(st.sampled_from(TEXTS[name]))
        else:
            value[name] = {"true": True, "false": False, "number": 3, "null": None}[kind]
    top: dict[str, Any] = {}
    for name in ("period", "orgUnit", "attributeOptionCombo"):
        if draw(st.booleans()):
            top[name] = draw(st.sampled_from(TEXTS[name][:2]))
    indent = draw(st.sampled_from([None, 1]))
    if draw(st.integers(0, 4)) == 0:
        return json.dumps(values, indent=indent).encode()
    return json.dumps({**top, "dataValues": values}, indent=indent).encode()


_WAREHOUSES: dict[bool, Engine] = {}


def _warehouse(staged: bool, tmp: Path) -> Engine:
    """One warehouse per path for all examples, emptied of services before each."""
    if staged not in _WAREHOUSES:
        _WAREHOUSES[staged] = _engine(tmp)
    eng = _WAREHOUSES[staged]
    for table in ("services", "replacements", "quarantine"):
        eng.execute(f"DELETE FROM {table}")
    eng.execute("DELETE FROM imports WHERE kind = 'services'")
    return eng


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents())
def test_staged_import_ends_as_the_exact_reader_does(doc: bytes) -> None:
    import tempfile

    mapping_text = json.dumps(MAPPING)
    outcomes: dict[bool, list[Any]] = {True: [], False: []}
    taken: list[bool] = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        mapping = write(tmp, "mapping.json", mapping_text)
        path = write(tmp, "values.json", doc.decode())
        for staged in (True, False):
            eng = _warehouse(staged, tmp)
            outcomes[staged].append(_import_by(staged, eng, path, mapping, taken))
    event(f"staged: {taken[0]}")
    assert outcomes[True] == outcomes[False]
