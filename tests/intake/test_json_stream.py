"""The streaming DHIS2 JSON reader: the same rows as reading the whole document, and a depth
measure that sees through strings, escapes and chunk boundaries."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.intake import dhis2, jsondepth

TRICKY = st.text(alphabet='[]{}"\\ab\x00é', max_size=6)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY, inner, max_size=3),
    max_leaves=20,
)


def _depth(doc: Any) -> int:
    if isinstance(doc, list):
        return 1 + max((_depth(v) for v in doc), default=0)
    if isinstance(doc, dict):
        return 1 + max((_depth(v) for v in doc.values()), default=0)
    return 0


@settings(max_examples=100, deadline=None)
@given(doc=JSON, chunk=st.sampled_from([1, 2, 3, 7, 1 << 24]))
def test_nesting_depth_matches_the_parsed_document(doc: Any, chunk: int) -> None:
    data = json.dumps(doc, ensure_ascii=False).encode()
    assert jsondepth.nesting_depth(data, 1000, chunk=chunk) == _depth(doc)


FIELD = st.one_of(st.none(), st.text(max_size=5), st.integers(-5, 5), st.booleans())
VALUE = st.fixed_dictionaries(
    {},
    optional={f: FIELD for f in dhis2.FIELDS},
)


def _whole(data: bytes) -> pl.DataFrame:
    """What the whole-document reader builds (values and set-level defaults)."""
    sets = dhis2._value_sets(dhis2.load_json(data, "f"), "f")
    frames = []
    offset = 0
    for defaults, values in sets:
        part, _ = dhis2._values_frame(values, offset, "f")
        for name in dhis2.SET_DEFAULTS:
            if isinstance(defaults.get(name), str):
                part = part.with_columns(pl.col(name).fill_null(defaults[name]))
        frames.append(part)
        offset += len(values)
    return pl.concat(frames)


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(VALUE, min_size=1, max_size=8),
    defaults=st.dictionaries(st.sampled_from(dhis2.SET_DEFAULTS), st.text(max_size=4)),
    wrapped=st.booleans(),
    before=st.booleans(),
)
def test_streaming_reads_what_the_whole_document_reader_reads(
    values: list[dict[str, Any]], defaults: dict[str, str], wrapped: bool, before: bool
) -> None:
    if wrapped:
        doc: Any = {**defaults, "dataValues": values} if before else {"dataValues": values}
        if not before:
            doc.update(defaults)  # set-level fields after the values
    else:
        doc = values
    data = json.dumps(doc).encode()
    streamed = dhis2._stream_values(data)
    assert streamed is not None
    assert streamed.equals(_whole(data))


@pytest.mark.parametrize(
    "doc",
    [
        b"[" * 5000 + b"]" * 5000,
        b'{"dataValues": [{"value": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['
        + b"[" * 100
        + b"]" * 158
        + b"}]}",
        b'[{"dataValues": [{"value": "1"}]}]',
        b'{"dataValues": [1, 2]}',
        b'{"dataValues": [{"value": "1"},, ]}',
        b'{"dataValues": {"value": "1"}}',
        b'{"dataValues": [{"value": "1"}\x0c]}',  # blanks to yajl, not to Python's json
        b'[{"value":\x0b"1"}]',
    ],
)
def test_unusual_documents_go_to_the_whole_document_reader(doc: bytes) -> None:
    assert dhis2._stream_values(doc) is None
