"""The report map: every site numbered without overlaps, lakes drawn, corridors named as names."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.reports import basemap
from corridor.reports.mapview import (
    KEY_SITES,
    build_map,
    circle_box,
    corridor_label,
    label_box,
)

Box = tuple[float, float, float, float]


def _overlap(a: Box, b: Box) -> bool:
    return not (a[2] <= b[0] or a[0] >= b[2] or a[3] <= b[1] or a[1] >= b[3])


def _ranked(points: list[tuple[float, float, float]]) -> list[dict[str, Any]]:
    return [
        {
            "rank": i + 1,
            "place_code": f"s{i}",
            "name": f"Site {i + 1}",
            "place_type": "truck_stop",
            "country_code": "ken",
            "lat": lat,
            "lon": lon,
            "score": score,
            "score_low": score - 5,
            "score_high": score + 5,
            "rank_low": i + 1,
            "rank_high": i + 1,
        }
        for i, (lon, lat, score) in enumerate(points)
    ]


def test_corridor_names_are_capitalised_as_names() -> None:
    assert corridor_label("dar_es_salaam") == "Dar es Salaam"
    assert corridor_label("north_south") == "North-South"
    assert corridor_label("north-south") == "North-South"
    assert corridor_label("trans_kalahari") == "Trans Kalahari"
    assert corridor_label("northern") == "Northern"
    assert corridor_label("lobito") == "Lobito"


def test_lakes_ship_with_the_package() -> None:
    names = {f["properties"]["name"] for f in basemap.load_lakes()["features"]}
    for lake in (
        "Lake Victoria",
        "Lake Tanganyika",
        "Lake Malawi (Nyasa)",
        "Lake Kariba",
        "Lake Edward",
        "Lake Albert",
    ):
        assert lake in names


def test_lake_victoria_is_drawn_around_landing_sites() -> None:
    view = build_map(_ranked([(32.9, 0.1, 80.0), (31.8, -1.0, 60.0)]), [], [], threshold=10)
    assert "Lake Victoria" in {lake.name for lake in view.lakes}
    assert all(lake.d.startswith("M") for lake in view.lakes)


def _check(view: Any) -> None:
    numbers = [b for m in view.sites if (b := label_box(m)) is not None]
    circles = [circle_box(m) for m in view.sites]
    names = [b for c in view.countries if (b := c.label_box()) is not None]
    for i, a in enumerate(numbers):
        assert not any(_overlap(a, b) for b in numbers[i + 1 :]), "two site numbers overlap"
        assert not any(_overlap(a, c) for c in circles), "a site number covers a circle"
        assert not any(_overlap(a, n) for n in names), "a site number covers a country name"
        assert a[0] >= 0 and a[2] <= view.width and a[1] >= 0 and a[3] <= view.height
    for n in names:
        assert not any(_overlap(n, c) for c in circles), "a country name is under a circle"
    numbered = {m.name for m in view.sites if m.label}
    assert numbered | set(view.unnumbered) == {m.name for m in view.sites}
    for m in view.sites:
        assert m.label in (None, str(m.rank))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(28.0, 40.0), st.floats(-12.0, 4.0), st.floats(0.0, 100.0)),
        min_size=1,
        max_size=60,
    )
)
def test_site_numbers_never_overlap(points: list[tuple[float, float, float]]) -> None:
    _check(build_map(_ranked(points), [], [], threshold=10))


def test_a_crowded_cluster_is_numbered_with_leaders_and_keyed() -> None:
    cluster = [(33.0 + 0.02 * (i % 5), 0.0 + 0.02 * (i // 5), 50.0 + i) for i in range(25)]
    view = build_map(_ranked(cluster), [], [], threshold=10)
    _check(view)
    assert sum(1 for m in view.sites if m.label) >= 20
    assert any(m.leader for m in view.sites)
    assert [k[0] for k in view.key] == list(range(1, KEY_SITES + 1))


def test_flow_segments_are_drawn_from_published_volumes() -> None:
    """Whether a segment is drawn, and its width, come from the published volume (each
    segment a count with the sum of its rows' record keys), never the true one: drawn only
    where the true volume is at least the threshold, and widths in the ratio of true volumes,
    told true counts (the map of the dashboard and the report)."""
    from corridor.config import load_settings
    from corridor.indicators.disclosure import publish_counts
    from corridor.reports.mapview import flow_lines

    coords = {"a": (30.0, 0.0), "b": (31.0, 0.0), "c": (32.0, 0.0)}
    flows = [
        {
            "origin_code": "a",
            "observation_code": "b",
            "destination_code": "",
            "count": 5,
            "cell_key": 11,
        },
        {
            "origin_code": "c",
            "observation_code": "b",
            "destination_code": "",
            "count": 400,
            "cell_key": 2**31,
        },
    ]
    seen: list[tuple[list[float], list[int]]] = []

    def disclose(volumes: list[float], keys: list[int]) -> list[object]:
        seen.append((volumes, keys))
        return [v + 100 for v in volumes]  # a stand-in that moves every volume

    lines = flow_lines(flows, coords, {}, lambda lon, lat: (lon, lat), 10, disclose)
    assert sorted(seen[0][0]) == [5.0, 400.0] and sorted(seen[0][1]) == [11, 2**31]
    assert len(lines) == 2  # the segment of 5 travellers drawn: its published volume is 105
    assert sorted(f.width for f in lines) == [round(0.8 + 6 * (105 / 500) ** 0.5, 2), 6.8]
    # the real disclosure function: never a volume of 1-9, the same volume every time
    cellkey = load_settings(None, env={})
    shown = publish_counts([5.0, 400.0], [11, 2**31], cellkey, "travellers")
    assert shown == publish_counts([5.0, 400.0], [11, 2**31], cellkey, "travellers")
    assert all(isinstance(v, float) and not 1 <= v <= 9 for v in shown)
