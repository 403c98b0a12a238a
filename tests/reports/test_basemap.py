"""The packaged base map: simplified Natural Earth outlines and their SVG rendering."""

from __future__ import annotations

import itertools
import math
import re
from importlib import resources
from typing import Any

import pytest

from corridor.reports import basemap

FOCUS = {
    "KEN", "UGA", "TZA", "RWA", "BDI", "COD", "SSD", "ZMB",
    "ZWE", "MWI", "MOZ", "ZAF", "BWA", "SWZ", "LSO", "NAM",
}  # fmt: skip
MAX_BYTES = 300 * 1024
# Generous lon/lat box around the region (Africa east of 5 deg E, south of 25 deg N).
REGION = (5.0, -36.0, 52.0, 24.0)


@pytest.fixture(scope="module")
def boundaries() -> dict[str, Any]:
    return basemap.load_boundaries()


def _by_iso(boundaries: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["properties"]["iso_a3"]: f for f in boundaries["features"]}


def _signed_area(ring: list[list[float]]) -> float:
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring))


def _polygons(geometry: dict[str, Any]) -> list[list[list[list[float]]]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    assert geometry["type"] == "MultiPolygon"
    polygons: list[list[list[list[float]]]] = geometry["coordinates"]
    return polygons


# --------------------------------------------------------------------------- #
# The data file
# --------------------------------------------------------------------------- #


def test_packaged_file_exists_and_is_small() -> None:
    resource = resources.files("corridor.reports").joinpath("data").joinpath("boundaries.geojson")
    assert resource.is_file()
    assert 10_000 < len(resource.read_bytes()) < MAX_BYTES


def test_loads_as_feature_collection(boundaries: dict[str, Any]) -> None:
    assert boundaries["type"] == "FeatureCollection"
    assert boundaries["metadata"]["version"] == "5.1.1"
    assert "Public domain" in boundaries["metadata"]["license"]
    for feature in boundaries["features"]:
        assert feature["type"] == "Feature"
        props = feature["properties"]
        assert set(props) == {"iso_a3", "name", "focus"}
        assert re.fullmatch(r"[A-Z]{3}", props["iso_a3"]), props
        assert isinstance(props["name"], str) and props["name"]
        assert isinstance(props["focus"], bool)
    codes = [f["properties"]["iso_a3"] for f in boundaries["features"]]
    assert len(codes) == len(set(codes)), "one feature per country"


def test_load_returns_independent_copies() -> None:
    first = basemap.load_boundaries()
    first["features"].clear()
    assert basemap.load_boundaries()["features"]


def test_focus_countries_exactly(boundaries: dict[str, Any]) -> None:
    focus = {f["properties"]["iso_a3"] for f in boundaries["features"] if f["properties"]["focus"]}
    assert focus == FOCUS == set(basemap.FOCUS_COUNTRIES)
    context = {f["properties"]["iso_a3"] for f in boundaries["features"]} - focus
    assert {"ETH", "SOM", "AGO", "COG", "CAF", "SDN"} <= context


def test_south_sudan_uses_iso_code(boundaries: dict[str, Any]) -> None:
    by_iso = _by_iso(boundaries)
    assert by_iso["SSD"]["properties"]["name"] == "South Sudan"
    assert "SDS" not in by_iso  # Natural Earth's ADM0_A3 for South Sudan
    assert "-99" not in by_iso


@pytest.mark.parametrize("iso3", sorted(FOCUS))
def test_focus_polygons_are_well_formed(boundaries: dict[str, Any], iso3: str) -> None:
    feature = _by_iso(boundaries)[iso3]
    assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    total_area = 0.0
    for polygon in _polygons(feature["geometry"]):
        assert polygon, "polygon has at least an exterior ring"
        for i, ring in enumerate(polygon):
            assert len(ring) >= 4 and ring[0] == ring[-1], "closed linear ring"
            for lon, lat in ring:
                assert REGION[0] <= lon <= REGION[2] and REGION[1] <= lat <= REGION[3]
                assert round(lon, 3) == lon and round(lat, 3) == lat
            area = _signed_area(ring)
            # RFC 7946: exterior rings counter-clockwise, holes clockwise.
            assert (area > 0) if i == 0 else (area < 0)
            total_area += area
    assert total_area > 0.1  # square degrees; Eswatini, the smallest, is ~1.4


def test_south_africa_has_lesotho_hole(boundaries: dict[str, Any]) -> None:
    zaf = _polygons(_by_iso(boundaries)["ZAF"]["geometry"])
    assert any(len(polygon) > 1 for polygon in zaf)
    # Remote sub-Antarctic islands are dropped from the map extent.
    assert min(lat for p in zaf for ring in p for _, lat in ring) > -35.5


def test_geojson_bounds(boundaries: dict[str, Any]) -> None:
    min_lon, min_lat, max_lon, max_lat = basemap.geojson_bounds(boundaries, focus_only=True)
    assert 11 < min_lon < 12.5 and 40 < max_lon < 42.5  # Namibia coast .. Kenya/Somalia
    assert -35.5 < min_lat < -34 and 12 < max_lat < 12.5  # Cape Agulhas .. South Sudan
    everything = basemap.geojson_bounds(boundaries)
    assert everything[0] <= min_lon and everything[3] >= max_lat
    with pytest.raises(ValueError):
        basemap.geojson_bounds({"type": "FeatureCollection", "features": []})


# --------------------------------------------------------------------------- #
# Projection
# --------------------------------------------------------------------------- #


def test_equirectangular_maps_bounds_into_box() -> None:
    bounds = (10.0, -35.0, 42.0, 13.0)
    width, height = 800.0, 600.0
    project = basemap.equirectangular(bounds, width, height)
    xs, ys = zip(*(project(lon, lat) for lon in (10.0, 42.0) for lat in (-35.0, 13.0)), strict=True)
    eps = 1e-9
    assert min(xs) >= -eps and max(xs) <= width + eps
    assert min(ys) >= -eps and max(ys) <= height + eps
    # Tall region: fills the height exactly and is centred horizontally.
    assert min(ys) == pytest.approx(0) and max(ys) == pytest.approx(height)
    assert min(xs) + max(xs) == pytest.approx(width)
    # North-west corner is top-left; south-east is bottom-right.
    assert project(10.0, 13.0) == pytest.approx((min(xs), 0.0))
    assert project(42.0, -35.0) == pytest.approx((max(xs), height))
    # Centre maps to centre.
    assert project(26.0, -11.0) == pytest.approx((width / 2, height / 2))


def test_equirectangular_uses_cos_mid_latitude() -> None:
    bounds = (0.0, 50.0, 10.0, 70.0)  # mid-latitude 60 deg: cos = 0.5
    project = basemap.equirectangular(bounds, 1000, 1000)
    x0, y0 = project(0.0, 60.0)
    x1, _ = project(1.0, 60.0)
    _, y1 = project(0.0, 59.0)
    assert (x1 - x0) == pytest.approx(0.5 * (y1 - y0))
    assert (x1 - x0) / (y1 - y0) == pytest.approx(math.cos(math.radians(60)))


def test_equirectangular_wide_box_and_padding() -> None:
    bounds = (0.0, -1.0, 40.0, 1.0)  # wide: fills the width
    project = basemap.equirectangular(bounds, 400, 400, padding=20)
    assert project(0.0, 1.0)[0] == pytest.approx(20)
    assert project(40.0, -1.0)[0] == pytest.approx(380)
    top, bottom = project(0.0, 1.0)[1], project(0.0, -1.0)[1]
    assert top + bottom == pytest.approx(400) and 20 < top < bottom < 380


@pytest.mark.parametrize(
    ("bounds", "width", "height", "padding"),
    [
        ((10.0, 0.0, 10.0, 5.0), 100, 100, 0),  # zero width
        ((10.0, 5.0, 20.0, 0.0), 100, 100, 0),  # inverted
        ((0.0, -95.0, 10.0, 0.0), 100, 100, 0),  # latitude out of range
        ((0.0, 0.0, 10.0, math.nan), 100, 100, 0),
        ((0.0, 0.0, 10.0, 10.0), 0, 100, 0),
        ((0.0, 0.0, 10.0, 10.0), 100, 100, 50),  # padding eats the viewport
    ],
)
def test_equirectangular_rejects_bad_input(
    bounds: basemap.Bounds, width: float, height: float, padding: float
) -> None:
    with pytest.raises(ValueError):
        basemap.equirectangular(bounds, width, height, padding=padding)


# --------------------------------------------------------------------------- #
# SVG paths
# --------------------------------------------------------------------------- #

_PATH_RE = re.compile(r"(M-?\d+(\.\d+)?,-?\d+(\.\d+)?L(-?\d+(\.\d+)?,-?\d+(\.\d+)? ?)+Z)+")


def test_svg_paths_for_packaged_map(boundaries: dict[str, Any]) -> None:
    width, height = 800, 900
    bounds = basemap.geojson_bounds(boundaries, focus_only=True)
    project = basemap.equirectangular(bounds, width, height, padding=10)
    paths = basemap.to_svg_paths(boundaries, project)

    expected_order = [f["properties"]["iso_a3"] for f in boundaries["features"]]
    assert [iso for iso, _, _ in paths] == expected_order
    assert {iso for iso, _, focus in paths if focus} == FOCUS
    for iso, d, _ in paths:
        assert d and _PATH_RE.fullmatch(d), iso
    # Focus countries lie inside the viewport (context ones may spill over).
    for iso, d, focus in paths:
        if focus:
            numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", d)]
            xs, ys = numbers[0::2], numbers[1::2]
            assert min(xs) >= 9.9 and max(xs) <= width - 9.9, iso
            assert min(ys) >= 9.9 and max(ys) <= height - 9.9, iso
    zaf = dict((iso, d) for iso, d, _ in paths)["ZAF"]
    assert zaf.count("M") >= 2  # exterior + Lesotho hole


def test_svg_paths_small_feature() -> None:
    square = {
        "type": "Feature",
        "properties": {"iso_a3": "XXX", "focus": True},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
        },
    }
    paths = basemap.to_svg_paths(square, lambda lon, lat: (lon * 10, -lat * 10), precision=0)
    assert paths == [("XXX", "M0,0L10,0 10,-10 0,-10Z", True)]


def test_svg_paths_drop_collapsed_and_empty() -> None:
    tiny = [[[0.0, 0.0], [0.001, 0.0], [0.001, 0.001], [0.0, 0.0]]]
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"iso_a3": "AAA"}, "geometry": None},
            {
                "type": "Feature",
                "properties": {"iso_a3": "BBB", "focus": False},
                "geometry": {"type": "MultiPolygon", "coordinates": [tiny]},
            },
        ],
    }
    assert basemap.to_svg_paths(collection, lambda lon, lat: (lon, lat)) == []


def test_svg_paths_reject_non_polygons() -> None:
    line = {
        "type": "Feature",
        "properties": {"iso_a3": "AAA"},
        "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
    }
    with pytest.raises(ValueError, match="LineString"):
        basemap.to_svg_paths(line, lambda lon, lat: (lon, lat))
