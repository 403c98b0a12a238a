"""What a sharing agreement grants a partner's query: place filters no finer than the agreement's
disaggregation and within its countries, and period ranges whose both ends are of the granted
period type (on DuckDB and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridor.access import PermissionDenied, add_agreement, add_user, granted_scope
from corridor.access.errors import NotFound
from corridor.contract.periods import parse_period_range
from corridor.storage.engine import Engine
from hubdata import load

PW = "a long enough password"


def _partner(engine: Engine, name: str, *, by: str, period_type: str, countries: str) -> None:
    add_user(engine, name, "partner", PW)
    add_agreement(
        engine,
        name,
        indicators="positivity",
        by=by,
        period_type=period_type,
        countries=countries,
        valid_from=date(2020, 1, 1),
        valid_to=date(2099, 12, 31),
        created_by="t",
    )


@pytest.fixture
def agreed(engine: Engine) -> Engine:
    """The hub's places (ken > ke-west > ke-malaba, ug-malaba, ...) and partners whose
    agreements grant positivity, yearly, at one level each."""
    load(engine)
    _partner(engine, "by-country", by="country", period_type="year", countries="KEN,UGA")
    _partner(engine, "by-admin1", by="admin1,sex", period_type="year", countries="KEN")
    _partner(engine, "by-place", by="place", period_type="year", countries="KEN")
    _partner(engine, "by-sex", by="sex", period_type="year", countries="KEN,UGA")
    return engine


def _granted(
    engine: Engine,
    partner: str,
    *,
    countries: frozenset[str] | None = None,
    place: str | None = None,
) -> frozenset[str] | None:
    scope = granted_scope(
        engine, partner, ["positivity"], [], "2024", countries=countries, place=place
    )
    return scope.countries


@pytest.mark.parametrize(
    ("partner", "place", "granted"),
    [
        ("by-country", "ken", True),  # a country of the agreement, granted by country
        ("by-country", "ke-west", False),  # an admin1 area: finer than by country
        ("by-country", "ke-malaba", False),  # a site
        ("by-country", "ug-malaba", False),
        ("by-country", "tza", False),  # a country outside the agreement
        ("by-admin1", "ken", True),
        ("by-admin1", "ke-west", True),
        ("by-admin1", "ke-malaba", False),
        ("by-place", "ke-malaba", True),  # sites are what it grants
        ("by-place", "ug-malaba", False),  # but in its countries only
        ("by-sex", "ken", False),  # no place disaggregation at all: no place filter
    ],
)
def test_a_place_filter_is_granted_only_at_the_agreements_level(
    agreed: Engine, partner: str, place: str, granted: bool
) -> None:
    if granted:
        assert _granted(agreed, partner, place=place)
    else:
        with pytest.raises(PermissionDenied, match=place):
            _granted(agreed, partner, place=place)


def test_a_country_filter_narrower_than_the_agreement_needs_disaggregation_by_country(
    agreed: Engine,
) -> None:
    assert _granted(agreed, "by-country", countries=frozenset({"ken"})) == {"ken", "uga"}
    assert _granted(agreed, "by-sex", countries=frozenset({"ken", "uga"})) == {"ken", "uga"}
    with pytest.raises(PermissionDenied, match="country filter \\(KEN\\)"):
        _granted(agreed, "by-sex", countries=frozenset({"ken"}))
    with pytest.raises(PermissionDenied, match="country TZA"):
        _granted(agreed, "by-country", countries=frozenset({"tza"}))


def test_an_unknown_place_is_not_found(agreed: Engine) -> None:
    with pytest.raises(NotFound, match="nowhere"):
        _granted(agreed, "by-place", place="nowhere")


@pytest.mark.parametrize("period", ["2024Q4:2024", "2024-12:2024", "2024W05:2024", "2024:2024Q1"])
def test_a_range_with_an_end_of_another_type_is_refused(agreed: Engine, period: str) -> None:
    with pytest.raises(PermissionDenied, match="both ends of a period range"):
        granted_scope(agreed, "by-country", ["positivity"], ["country"], period)


def test_a_range_of_granted_periods_is_granted(agreed: Engine) -> None:
    scope = granted_scope(agreed, "by-country", ["positivity"], ["country"], "2023:2024")
    assert scope.countries == {"ken", "uga"}


KINDS = ("year", "quarter", "month")
PERIODS = st.one_of(
    st.integers(2022, 2024).map(str),
    st.tuples(st.integers(2022, 2024), st.integers(1, 4)).map(lambda t: f"{t[0]}Q{t[1]}"),
    st.tuples(st.integers(2022, 2024), st.integers(1, 12)).map(lambda t: f"{t[0]}-{t[1]:02d}"),
    st.tuples(st.integers(2022, 2024), st.integers(1, 52)).map(lambda t: f"{t[0]}W{t[1]:02d}"),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(a=PERIODS, b=PERIODS)
def test_a_granted_range_covers_whole_periods_of_the_granted_type(
    engine: Engine, a: str, b: str
) -> None:
    """Whatever range a partner names, what it is granted starts and ends on the boundaries of
    its agreement's period type: no range reads a part of a granted period."""
    if not engine.scalar("SELECT COUNT(*) FROM accounts WHERE username = 'p-year'"):
        for kind in KINDS:
            _partner(engine, f"p-{kind}", by="country", period_type=kind, countries="KEN")
    first, last = sorted((a, b), key=lambda p: parse_period_range(p).start)
    text = f"{first}:{last}"
    try:
        rng = parse_period_range(text)
    except ValueError:
        return  # a range that ends before it starts is a bad query, not a grant
    ends = {rng.first.kind, rng.last.kind}
    for kind in KINDS:
        try:
            granted_scope(engine, f"p-{kind}", ["positivity"], ["country"], text)
        except PermissionDenied:
            assert ends != {kind}
            continue
        assert ends == {kind}
        assert _whole(rng.start, rng.end, kind), (text, kind)


def _whole(start: date, end: date, kind: str) -> bool:
    """Whether ``start``..``end`` begins and ends on the boundaries of periods of ``kind``."""
    months = {"year": 12, "quarter": 3, "month": 1}[kind]
    after = end + timedelta(days=1)
    return all(d.day == 1 and (d.month - 1) % months == 0 for d in (start, after))
