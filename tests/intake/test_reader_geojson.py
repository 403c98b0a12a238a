"""GeoJSON places."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from corridor.errors import InputError
from corridor.intake.geojson import read_geojson
from corridor.intake.rawtable import RawTable, ReadContext


def feature(geometry: Any, **props: Any) -> dict[str, Any]:
    base = {"place_code": "x", "name": "X", "place_type": "market", "parent_code": "ken",
            "country_code": "KEN"}  # fmt: skip
    base.update(props)
    return {"type": "Feature", "geometry": geometry, "properties": base}


def read(doc: Any) -> RawTable:
    return read_geojson(
        Path("p.geojson"), json.dumps(doc).encode(), "places", ReadContext("p.geojson")
    )


def collection(*features: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def test_points_and_properties() -> None:
    t = read(
        collection(
            feature({"type": "Point", "coordinates": [34.09, 0.46]}, corridor=["northern", "lake"],
                    population=1200, dhis2_uid="Ab3Cd5Ef7Gh", colour="red"),
            feature(None, place_code="y", lat=-1.5, lon=36),
        )
    )  # fmt: skip
    assert t.format == "geojson" and t.problems == []
    first, second = t.frame.to_dicts()
    assert (first["lat"], first["lon"], first["corridor"], first["population"]) == (
        "0.46",
        "34.09",
        "northern;lake",
        "1200",
    )
    assert first["dhis2_uid"] == "Ab3Cd5Ef7Gh" and first["_row"] == 1
    assert (second["lat"], second["lon"]) == ("-1.5", "36")
    assert t.warnings == ["ignored propert(ies) not in the places contract: colour"]


def test_polygon_centroid_and_hxl_property_names() -> None:
    square = [[[30.0, 0.0], [32.0, 0.0], [32.0, 2.0], [30.0, 2.0], [30.0, 0.0]]]
    t = read(collection({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": square},
                         "properties": {"#loc+code": "sq", "#loc+name": "Square",
                                        "#loc+type": "admin1", "#loc+code+parent": "ken",
                                        "#country+code": "ken"}}))  # fmt: skip
    (r,) = t.frame.to_dicts()
    assert (r["place_code"], r["parent_code"], r["lon"], r["lat"]) == ("sq", "ken", "31.0", "1.0")
    multi = {
        "type": "MultiPolygon",
        "coordinates": [square, [[[40, 0], [41, 0], [41, 1], [40, 0]]]],
    }
    (r,) = read(collection(feature(multi))).frame.to_dicts()
    # area-weighted: the square (area 4, x 31) and the triangle (area 0.5, x 40.67)
    assert float(r["lon"]) == pytest.approx((4 * 31 + 0.5 * 122 / 3) / 4.5)


def test_bad_geometries_are_row_problems() -> None:
    t = read(
        collection(
            feature({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}),
            feature({"type": "Point", "coordinates": ["a", 1]}),
            feature({"type": "Polygon", "coordinates": [[[0, 0]]]}),
            {"type": "Nope"},
        )
    )
    got = [(p.row, p.column) for p in t.problems]
    assert got == [(1, "geometry"), (2, "geometry"), (3, "geometry"), (4, None)]
    assert "not supported" in t.problems[0].reason


def test_a_property_given_twice_with_other_values_is_a_problem() -> None:
    """``place_code`` beside ``Place_Code`` (or ``#loc+code``): the first one was taken and the
    other dropped without a word. The same value twice is fine."""
    point = {"type": "Point", "coordinates": [1, 2]}
    t = read(collection(feature(point, Place_Code="y"), feature(point, **{"#loc+code": "x"})))
    assert [(p.row, p.column, p.value) for p in t.problems] == [(1, "Place_Code", "y")]
    assert t.problems[0].reason == (
        "duplicate property for 'place_code' with another value ('x'): keep one"
    )


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ([1, 2], "expected a JSON object"),
        ({"type": "Point", "coordinates": [0, 0]}, "not a GeoJSON FeatureCollection"),
        ({"type": "FeatureCollection"}, '"features" list'),
        (
            {"type": "FeatureCollection", "features": [],
             "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32636"}}},
            "WGS 84",
        ),
    ],
)  # fmt: skip
def test_file_errors(doc: Any, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        read(doc)


def test_single_feature_and_kind() -> None:
    assert read(feature({"type": "Point", "coordinates": [1, 2]})).frame.height == 1
    with pytest.raises(InputError, match="--kind places"):
        read_geojson(Path("p"), b"{}", "flows", ReadContext("p"))
