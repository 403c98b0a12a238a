"""``GET /status`` publishes its count of case rows (one row a person) through the disclosure
function: two accounts' scopes differenced gave a country's exact number of cases (2,087 -
1,827 = 260 on the demo world), and a country with 1-9 cases showed it as it was."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from corridor.access.reads import published_case_count
from corridor.config import load_settings

CELLKEY = load_settings(None, env={})
SUPPRESSION = load_settings(None, env={}, overrides={"disclosure_method": "suppression"})


@settings(max_examples=200, deadline=None)
@given(count=st.integers(0, 5000), key=st.integers(0, 2**32 - 1))
@example(count=1, key=4020742606)  # 1 published as 11: within 10-14, not within 9 of 1
def test_the_case_count_is_published_by_the_cell_key_method(count: int, key: int) -> None:
    shown = published_case_count(count, key, CELLKEY)
    assert isinstance(shown, int)
    assert not 1 <= shown <= 9  # never a small count
    assert shown == published_case_count(count, key, CELLKEY)  # the same every time
    noise, threshold = CELLKEY.disclosure_max_noise, CELLKEY.suppression_threshold
    if count == 0:
        assert shown == 0
    elif count < threshold:  # a count of 1-9 goes to 0 or to 10-14 (docs/disclosure.md)
        assert shown == 0 or threshold <= shown <= threshold + noise
    else:
        assert abs(shown - count) <= noise


def test_a_small_case_count_is_withheld_by_suppression() -> None:
    assert published_case_count(5, 123, SUPPRESSION) == "<10"
    assert published_case_count(0, 0, SUPPRESSION) == 0
    assert published_case_count(250, 123, SUPPRESSION) == 250
