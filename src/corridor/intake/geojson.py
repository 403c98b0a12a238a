"""GeoJSON places: a FeatureCollection whose feature properties use the contract's column names.

``lat``/``lon`` come from the geometry: a Point's coordinates, or the centroid of a Polygon's
exterior ring (area-weighted over the parts of a MultiPolygon). Other geometry types are a problem
for that feature. A feature without geometry may give ``lat``/``lon`` as properties. Properties may
also be named by HXL tags (``#loc+code``). Coordinates are WGS 84 longitude, latitude (RFC 7946);
a ``crs`` member naming another system rejects the file. Row numbers count features from 1.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from corridor.contract.schema import schema_for
from corridor.errors import Problem, file_error
from corridor.intake.dhis2 import load_json
from corridor.intake.rawtable import RawTable, ReadContext, text_frame
from corridor.intake.tidy import match_tag

_WGS84 = ("crs84", "4326", "crs:84")


def read_geojson(path: Path, data: bytes, kind: str, ctx: ReadContext) -> RawTable:
    file = ctx.display_name
    if kind != "places":
        raise file_error(file, "GeoJSON holds places: import it with --kind places")
    doc = load_json(data, file)
    features = _features(doc, file)
    schema = schema_for(kind)
    names = schema.names
    columns: dict[str, list[str | None]] = {n: [] for n in names}
    problems: list[Problem] = []
    ignored: set[str] = set()
    for row, feature in enumerate(features, start=1):
        props: dict[str, str | None] = {}
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(
                Problem(file, row, None, None, 'not a GeoJSON Feature ("type": "Feature")')
            )
            feature = {}
        raw_props = feature.get("properties") or {}
        if not isinstance(raw_props, dict):
            problems.append(Problem(file, row, "properties", None, "properties must be an object"))
            raw_props = {}
        for key, value in raw_props.items():
            name = _column(str(key), names, schema)
            if name is None:
                ignored.add(str(key))
            elif name not in props:
                props[name] = _text(value)
            elif _text(value) != props[name]:  # "place_code" and "Place_Code": which one?
                problems.append(
                    Problem(
                        file,
                        row,
                        str(key),
                        _text(value),
                        f"duplicate property for {name!r} with another value "
                        f"({props[name]!r}): keep one",
                    )
                )
        geometry = feature.get("geometry")
        if geometry is not None:
            point, why = _point(geometry)
            if point is None:
                problems.append(Problem(file, row, "geometry", _describe(geometry), why))
            else:
                props["lon"], props["lat"] = (_number(point[0]), _number(point[1]))
        for n in names:
            columns[n].append(props.get(n))
    table = RawTable(
        file, "geojson", kind, text_frame(columns, list(range(1, len(features) + 1))), problems
    )
    if ignored:
        table.warnings.append(
            f"ignored propert(ies) not in the places contract: {', '.join(sorted(ignored))}"
        )
    return table


def _features(doc: Any, file: str) -> list[Any]:
    if not isinstance(doc, dict):
        raise file_error(file, 'not GeoJSON: expected a JSON object with "type"')
    crs = doc.get("crs")
    if isinstance(crs, dict):
        name = str((crs.get("properties") or {}).get("name", "")).lower()
        if name and not any(name.endswith(w) for w in _WGS84):
            raise file_error(
                file, f"coordinates in {name!r}: GeoJSON places must be WGS 84 longitude/latitude"
            )
    kind = doc.get("type")
    if kind == "Feature":
        return [doc]
    if kind != "FeatureCollection":
        raise file_error(file, f"not a GeoJSON FeatureCollection (type is {kind!r})")
    features = doc.get("features")
    if not isinstance(features, list):
        raise file_error(file, 'a FeatureCollection needs a "features" list')
    return features


def _column(key: str, names: tuple[str, ...], schema: Any) -> str | None:
    if key.startswith("#"):
        return match_tag(key, schema)
    low = key.strip().lower()
    return low if low in names else None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ";".join(value)  # e.g. "corridor": ["northern", "central"]
    return json.dumps(value)


def _number(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _describe(geometry: Any) -> str:
    if isinstance(geometry, dict):
        return str(geometry.get("type"))
    return type(geometry).__name__


def _point(geometry: Any) -> tuple[tuple[Any, Any] | None, str]:
    """(lon, lat) of a geometry, or (None, reason)."""
    if not isinstance(geometry, dict):
        return None, "geometry must be an object"
    kind = geometry.get("type")
    coords: Any = geometry.get("coordinates")
    try:
        if kind == "Point":
            if not _is_position(coords):
                return None, "a Point needs coordinates [longitude, latitude]"
            return (coords[0], coords[1]), ""
        if kind == "Polygon":
            return _centroid([coords[0]]), ""
        if kind == "MultiPolygon":
            return _centroid([poly[0] for poly in coords]), ""
    except (TypeError, IndexError, KeyError, ValueError, ZeroDivisionError):
        return None, f"{kind} with invalid coordinates"
    return None, f"geometry type {kind!r} is not supported (Point, Polygon or MultiPolygon)"


def _is_position(c: Any) -> bool:
    return (
        isinstance(c, list)
        and len(c) >= 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in c[:2])
        and all(math.isfinite(v) for v in c[:2])
    )


def _centroid(rings: list[Any]) -> tuple[float, float]:
    """Centroid of exterior rings (shoelace formula, in degrees), weighted by each ring's area."""
    total = sx = sy = 0.0
    points: list[Any] = []
    for ring in rings:
        if len(ring) < 3 or not all(_is_position(p) for p in ring):
            raise ValueError("ring")
        points += ring
        area = cx = cy = 0.0
        for (x0, y0), (x1, y1) in zip(
            (p[:2] for p in ring), (p[:2] for p in [*ring[1:], ring[0]]), strict=True
        ):
            cross = x0 * y1 - x1 * y0
            area += cross
            cx += (x0 + x1) * cross
            cy += (y0 + y1) * cross
        if area != 0:
            weight = abs(area)
            total += weight
            sx += weight * cx / (3 * area)
            sy += weight * cy / (3 * area)
    if total == 0:  # degenerate rings: the mean of the vertices
        return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)
    return sx / total, sy / total
