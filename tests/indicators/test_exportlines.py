"""Lines gathered from fixed texts write each number as Python's ``str(number(v, digits))``.

Every path is drawn: whole numbers in and past the table of whole numbers, negative ones, positive
and negative fractions, halfway roundings, values that round to a whole number or to zero, huge,
infinite and NaN values, values left blank, a batch with none of its own texts.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.indicators.exportcells import number
from corridor.indicators.exportlines import SMALL, LineTexts

value = st.one_of(
    st.integers(-5, SMALL + 5).map(float),
    st.integers(-(10**12), 10**12).map(float),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e6, 1e6),
    st.integers(-(10**7), 10**7).map(lambda k: k / 1000),  # halfway cases like 2.675
    st.integers(-(10**8), 10**8).map(lambda k: k / 20000),  # halfway at four digits
    st.sampled_from([0.0, -0.0, 2.675, 1.005, -0.004, 0.00004, -0.00004, 0.99999, 1e9, 1e300]),
)


def expected(v: float, digits: int, null_text: str) -> str:
    return null_text if math.isnan(v) else str(number(v, digits))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(value, st.booleans()), max_size=40),
    st.sampled_from([2, 4]),
    st.sampled_from(["", '"/>\n']),
)
def test_lines_write_numbers_as_python_does(
    rows: list[tuple[float, bool]], digits: int, suffix: str
) -> None:
    keyed = pa.array(["<a>", "<b é>", ""])
    texts = LineTexts([keyed, pa.array(["|"])], digits, "None", suffix)
    x = np.array([v for v, _ in rows], dtype=np.float64)
    blank = np.array([b for _, b in rows], dtype=bool)
    first = np.arange(len(rows)) % 3
    buf = io.BytesIO()
    texts.write([first, np.zeros(len(rows), dtype=np.int64)], 1, x, buf, blank=blank)
    want = "".join(
        keyed[int(k)].as_py() + ("" if b else expected(v, digits, "None") + suffix) + "|"
        for k, (v, b) in zip(first, rows, strict=True)
    )
    assert buf.getvalue().decode("utf-8") == want


def test_a_number_first_and_the_tail_dropped() -> None:
    texts = LineTexts([pa.array([",\n"])], 4, "null")
    buf = io.BytesIO()
    x = np.array([3.0, 27.5, float("nan"), 70000.0, -1.25, 2.00005])
    texts.write([np.zeros(len(x), dtype=np.int64)], 0, x, buf, drop_tail=2)
    assert buf.getvalue() == b"3,\n27.5,\nnull,\n70000,\n-1.25,\n2.0"
