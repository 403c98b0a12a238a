"""The Arrow fast path of the DHIS2 JSON reader: the very cells of the general path, or None.

Every document the fast path reads must give what the whole-document reader gives; every
document it cannot read exactly as Python's json would (numbers, booleans, nested or doubled
fields, lone surrogates, broken JSON) must go back to the general path.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.intake.test_json_stream import _whole

from corridor.intake import dhis2, jsonvalues

TEXT = st.text(alphabet=st.sampled_from([*list('ab },{[]":\\\n\té€𝄞'), "\u2028"]), max_size=6)
VALUE = st.fixed_dictionaries(
    {}, optional={f: st.one_of(st.none(), TEXT) for f in (*dhis2.FIELDS, "storedBy")}
)
STYLES = [
    {"separators": (",", ":")},
    {},
    {"indent": 2},
    {"ensure_ascii": False, "separators": (",", ":")},
]


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(VALUE, min_size=1, max_size=12),
    defaults=st.dictionaries(st.sampled_from(dhis2.SET_DEFAULTS), st.text(max_size=4)),
    wrapped=st.booleans(),
    style=st.sampled_from(STYLES),
    slice_bytes=st.sampled_from([1, 40, 1 << 24]),
)
def test_the_fast_path_reads_what_the_whole_document_reader_reads(
    values: list[dict[str, Any]],
    defaults: dict[str, str],
    wrapped: bool,
    style: dict[str, Any],
    slice_bytes: int,
) -> None:
    doc: Any = {**defaults, "dataValues": values, "dataSet": "x"} if wrapped else values
    data = json.dumps(doc, **style).encode()
    whole = _whole(data)
    fast = jsonvalues.arrow_values(data, dhis2.FIELDS, slice_bytes=slice_bytes)
    if fast is not None:  # the values as read, before the set's defaults
        assert fast.equals(_whole(json.dumps(values, **style).encode()))
    streamed = dhis2._stream_values(data)
    assert streamed is not None
    assert streamed.equals(whole)


PLAIN = [
    {"dataElement": "de1", "period": "202401", "orgUnit": "ou1", "value": "5"},
    {"dataElement": "de2", "period": "202402", "orgUnit": "ou2", "value": "", "comment": "a},b{"},
    {"dataElement": "dé3", "categoryOptionCombo": "c", "followup": False, "x": {"y": [1, 2]}},
]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("wrapped", [True, False])
@pytest.mark.parametrize("slice_bytes", [1, 1 << 24])
def test_flat_text_values_take_the_fast_path(
    style: dict[str, Any], wrapped: bool, slice_bytes: int
) -> None:
    doc: Any = {"dataSet": "x", "dataValues": PLAIN, "period": "2024"} if wrapped else PLAIN
    data = json.dumps(doc, **style).encode()
    fast = jsonvalues.arrow_values(data, dhis2.FIELDS, slice_bytes=slice_bytes)
    assert fast is not None
    assert fast.height == 3
    assert fast["dataElement"].to_list() == ["de1", "de2", "dé3"]
    assert dhis2._stream_values(data).equals(_whole(data))  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "doc",
    [
        b'{"dataValues": [{"value": 5}]}',  # a number: Python writes it as Python would
        b'{"dataValues": [{"value": 1.5e3}]}',
        b'{"dataValues": [{"deleted": true}]}',
        b'{"dataValues": [{"value": "1", "value": "2"}]}',  # doubled key: json keeps the last
        b'{"dataValues": [{"value": "\\ud800"}]}',  # a lone surrogate
        b'{"dataValues": [{"value": {"a": "1"}}]}',
        b'{"dataValues": [{"value": "1"}, 2]}',
        b'{"dataValues": [{"value": "1"},, {"value": "2"}]}',
        b'{"dataValues": [{"value": "1"}]',  # truncated
        b'{"dataValues": [{"value": "1"}]} x',
        b'{"dataValues": [{"value": "1"}], "dataValues": []}',
        b'{"data\\u0056alues": [{"value": "1"}]}',
        b'{"dataValues": [{"value": "1", "set": {"dataValues": []}}]}',
        b'[{"value": "1"}, {"dataValues": [{"value": "2"}]}]',
        b'[{"value": "1"}] ]',
        b'{"dataValues": []}',
        b"[]",
        b'{"dataValues": [{"value": "a\x01"}]}',
        b'{"dataValues": [{"value": "\xff"}]}',
        b'"dataValues"',
    ],
)
def test_documents_the_fast_path_cannot_read_exactly_go_back(doc: bytes) -> None:
    assert jsonvalues.arrow_values(doc, dhis2.FIELDS) is None
