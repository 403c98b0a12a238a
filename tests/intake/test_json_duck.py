"""The DuckDB fast path of the DHIS2 JSON reader: the very cells of the whole-document reader,
or None.

DuckDB's JSON reader takes some documents Python's ``json`` refuses (a trailing comma in an
object, ``nan`` and ``inf`` in any case, form feed as a blank) and keys it is not asked for; the
fast path must send each of those, and every value it cannot read exactly, back to the next
reader, so that broken files are still explained as before.
"""

from __future__ import annotations

import json
import re
from typing import Any

import polars as pl
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from tests.intake.test_json_stream import _whole

from corridor.intake import dhis2, duckvalues

TEXT = st.text(
    alphabet=st.sampled_from([*list('ab },{[]":\\\n\té€𝄞'), "\u2028", "\x7f"]), max_size=6
)
SCALAR = st.one_of(
    st.none(), TEXT, TEXT, TEXT, st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False)
)
NESTED = st.one_of(st.lists(SCALAR, max_size=2), st.dictionaries(TEXT, SCALAR, max_size=2))
NAMES = [*dhis2.FIELDS, *duckvalues.EXTRA_FIELDS, "x", "Value"]
VALUE = st.dictionaries(
    st.sampled_from(NAMES), st.one_of(TEXT, TEXT, TEXT, SCALAR, NESTED), max_size=len(NAMES)
)
#: values the fast path reads: fields it knows, strings without escapes, true and false
PLAIN = st.dictionaries(
    st.sampled_from([*dhis2.FIELDS, *duckvalues.EXTRA_FIELDS]),
    st.one_of(
        st.text(alphabet=st.sampled_from(list("ab },{[]:é€𝄞\x7f")), max_size=6), st.booleans()
    ),
    min_size=1,
)
STYLES = [
    {"separators": (",", ":")},
    {},
    {"indent": 2},
    {"ensure_ascii": False, "separators": (",", ":")},
    {"ensure_ascii": False, "indent": 1},
]
#: byte edits that make a document DuckDB reads but Python's json does not (or changes it)
EDITS = [
    (rb'(:\s*)"([^"\\]*)"', rb"\1nan"),
    (rb'(:\s*)"([^"\\]*)"', rb"\1-Inf"),
    (rb'(:\s*)"([^"\\]*)"', rb"\1NaN"),
    (rb'(:\s*)"([^"\\]*)"', rb"\1Infinity"),
    (rb'("\s*)\}', rb"\1,}"),
    (rb"(\])", rb"\1"),
    (rb",", b",\x0c"),
    (rb",", b"\x0b,"),
    (rb"\{", b"{,"),
    (rb"\}\s*,\s*\{", b"}{"),
    (rb'(:\s*"[^"\\]*")', rb'\1, "value": "2"'),
]


def _text_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(pl.Categorical).cast(pl.Utf8))


def _python(data: bytes) -> pl.DataFrame | None:
    """The whole-document reader's cells, or None where Python's json refuses the document."""
    try:
        json.loads(data)
    except ValueError:
        return None
    return _whole(data)


@settings(max_examples=200, deadline=None)
@given(
    values=st.one_of(
        st.lists(VALUE, min_size=1, max_size=8), st.lists(PLAIN, min_size=1, max_size=8)
    ),
    defaults=st.dictionaries(st.sampled_from(dhis2.SET_DEFAULTS), st.text(max_size=4)),
    wrapped=st.booleans(),
    style=st.sampled_from(STYLES),
    edit=st.one_of(st.none(), st.sampled_from(EDITS)),
    at=st.integers(0, 20),
)
def test_the_duckdb_path_reads_what_the_whole_document_reader_reads(
    values: list[dict[str, Any]],
    defaults: dict[str, str],
    wrapped: bool,
    style: dict[str, Any],
    edit: tuple[bytes, bytes] | None,
    at: int,
) -> None:
    doc: Any = {**defaults, "dataValues": values, "dataSet": "x"} if wrapped else values
    data = json.dumps(doc, **style).encode()
    if edit is not None:  # change one match (the at-th, counted round) of the pattern
        found = list(re.finditer(edit[0], data))
        if found:
            m = found[at % len(found)]
            data = data[: m.start()] + m.expand(edit[1]) + data[m.end() :]
    fast = duckvalues.duck_values(data, dhis2.FIELDS)
    event(f"read by DuckDB: {fast is not None}")
    if fast is None:
        return
    python = _python(data)
    assert python is not None, data  # DuckDB read a document Python's json refuses
    # the values as read, before the set's defaults
    plain = json.loads(data)
    values_read = plain["dataValues"] if isinstance(plain, dict) else plain
    assert _text_frame(fast).equals(_whole(json.dumps(values_read).encode()))
    # with the set's defaults; None where a default must be looked up and ijson refuses the
    # document (``Infinity`` at the top level): the whole-document reader then reads it
    streamed = dhis2._stream_values(data)
    assert streamed is None or _text_frame(streamed).equals(python)


EXPORT = [
    {
        "dataElement": "fbfJHSPpUQD",
        "period": "202401",
        "orgUnit": "Kb7TGDaJzQs",
        "categoryOptionCombo": "Prlt0C1RF0s",
        "attributeOptionCombo": "HllvX50cXC0",
        "value": "31",
        "storedBy": "admin",
        "created": "2024-02-01T10:22:33.000+0000",
        "lastUpdated": "2024-02-03T08:00:00.000+0000",
        "comment": "checked, ok: see register {p. 3}",
        "followup": False,
    },
    {
        "dataElement": "cYeuwXTCPkU",
        "period": "202401",
        "orgUnit": "Lm3RtPq8WzA",
        "categoryOptionCombo": "V6L425pT3A0",
        "attributeOptionCombo": "HllvX50cXC0",
        "value": "Lodwar, Turkana",
        "followup": True,
        "deleted": True,
    },
]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("wrapped", [True, False])
def test_a_dhis2_export_takes_the_duckdb_path(style: dict[str, Any], wrapped: bool) -> None:
    doc: Any = {"dataSet": "x", "period": "2024", "dataValues": EXPORT} if wrapped else EXPORT
    data = json.dumps(doc, **style).encode()
    fast = duckvalues.duck_values(data, dhis2.FIELDS)
    assert fast is not None
    assert fast["value"].cast(pl.Utf8).to_list() == ["31", "Lodwar, Turkana"]
    assert fast["deleted"].cast(pl.Utf8).to_list() == [None, "true"]
    assert _text_frame(fast).equals(_whole(json.dumps(EXPORT).encode()))
    assert _text_frame(dhis2._stream_values(data)).equals(_whole(data))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "doc",
    [
        b'{"dataValues": [{"value": "1", "x": nan}]}',  # Python's json: not valid JSON
        b'{"dataValues": [{"value": "1", "x": -inf}]}',
        b'{"dataValues": [{"value": "1", "x": [INFINITY]}]}',
        b'{"dataValues": [{"value": "1",}]}',
        b'{"dataValues": [{"value": "1", "x": {"a": 1,}}]}',
        b'{"dataValues": [{"value": "1"}\x0c]}',
        b'{"dataValues": [{"value":\x0b"1"}]}',
        b'{"dataValues": [{"value": "1"} {"value": "2"}]}',
        b'{"dataValues": [{"value": "1", "x": NaN}]}',  # Python's json takes these: the next
        b'{"dataValues": [{"value": "1", "x": "2"}]}',  # reader does
        b'{"dataValues": [{"value": "1", "comment": null}]}',
        b'{"dataValues": [{"value": "1", "followup": 0}]}',
        b'{"dataValues": [{"value": 5}]}',
        b'{"dataValues": [{"value": "a\\"b"}]}',
        b'{"dataValues": [{"value": "\\u00e9"}]}',
        b'{"dataValues": [{"value": "1", "value": "2"}]}',
        # DuckDB's message about the doubled key cuts the 4-byte character: Python cannot
        # decode the message itself (found by Hypothesis)
        b'[{"x":null,"categoryOptionCombo":null,"value":":\xf0\x9d\x84\x9e", "value": "2"}]',
        b'{"dataValues": [{"value": "1", "storedBy": "a", "storedBy": "b"}]}',
        b'{"dataValues": [{"value": ["1"]}]}',
        b'{"dataValues": [{}]}',
        b'{"dataValues": [{"value": "1"}, 2]}',
        b'{"dataValues": [{"value": "1"}]',
        b'{"dataValues": [{"value": "\xff"}]}',
        b'{"dataValues": []}',
        # a second "dataValues" (the array is found without searching for one): the members
        # of the values do not add up
        b'[{"dataValues": [{"value": "1"}]}]',
        b'[{"value": "1"}, {"dataValues": [{"value": "2"}]}]',
        b'{"dataValues": [{"value": "1", "dataValues": [{"value": "2"}]}]}',
        b'{"dataValues": [{"value": "1"}], "dataValues": [{"value": "2"}]}',
        b'{"dataValues": [{"value": "1"}], "x": {"dataValues": [{"value": "2"}]}}',
        b'{"x": {"dataValues": [{"value": "2"}]}, "dataValues": [{"value": "1"}]}',
    ],
)
def test_documents_the_duckdb_path_cannot_read_exactly_go_back(doc: bytes) -> None:
    assert duckvalues.duck_values(doc, dhis2.FIELDS) is None


@pytest.mark.parametrize("wrapped", [True, False])
def test_the_text_datavalues_in_a_value_is_read_as_any_text(wrapped: bool) -> None:
    values = [{"dataElement": "dataValues", "value": "1"}, {"comment": "dataValues", "value": "2"}]
    doc: Any = {"dataSet": "x", "dataValues": values} if wrapped else values
    data = json.dumps(doc).encode()
    fast = duckvalues.duck_values(data, dhis2.FIELDS)
    assert fast is not None
    assert _text_frame(fast).equals(_whole(json.dumps(values).encode()))
    assert _text_frame(dhis2._stream_values(data)).equals(_whole(data))  # type: ignore[arg-type]


def test_a_value_cut_by_a_slice_is_still_read(monkeypatch: pytest.MonkeyPatch) -> None:
    values = [{"dataElement": "dé", "value": f"{i}€"} for i in range(50)]
    data = json.dumps({"dataValues": values}, ensure_ascii=False).encode()
    for size in (1, 7, 64):
        monkeypatch.setattr(duckvalues, "SLICE", size)
        fast = duckvalues.duck_values(data, dhis2.FIELDS)
        assert fast is not None
        assert _text_frame(fast).equals(_whole(data))


def test_no_room_for_the_copy_goes_to_the_next_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    data = json.dumps({"dataValues": EXPORT}).encode()

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(duckvalues.tempfile, "TemporaryDirectory", full)
    assert duckvalues.duck_values(data, dhis2.FIELDS) is None
    assert _text_frame(dhis2._stream_values(data)).equals(_whole(data))  # type: ignore[arg-type]


@pytest.mark.parametrize("escaped", [False, True])
def test_set_level_fields_after_the_values_are_read_as_python_reads_them(escaped: bool) -> None:
    """From the document without its values (no second pass); a doubled key keeps its last
    value, as in ``json.loads``; an escape in the values sends the file to the Arrow path."""
    values = [{"dataElement": "d", "orgUnit": "o", "value": "a\\u00e9" if escaped else "1"}]
    body = json.dumps({"dataSet": "x", "dataValues": values})[:-1]
    data = body + ', "period": "202401", "attributeOptionCombo": "c", "period": "202402"}'
    raw = data.encode()
    streamed = dhis2._stream_values(raw)
    assert streamed is not None
    assert _text_frame(streamed).equals(_whole(raw))
    assert streamed["period"].cast(pl.Utf8).to_list() == ["202402"]
