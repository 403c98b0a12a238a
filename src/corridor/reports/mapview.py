"""The report's map: country outlines, corridors, main flows and ranked sites as plain SVG data.

Everything here is geometry in SVG user units, ready for the template (``map.html.j2``) to draw;
no numbers of people are placed on the map. Flow volumes appear only as line widths, and a flow
segment carrying fewer travellers than the disclosure threshold is not drawn at all; both from
the segment's published volume (the disclosure function), never the true one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from corridor.reports import basemap
from corridor.storage.recordkeys import KEY_MODULUS

WIDTH = 760.0
MIN_HEIGHT = 420.0
MAX_HEIGHT = 980.0
PADDING = 14.0
#: degrees added around the sites so that they do not touch the frame
MARGIN_DEG = 1.5
MIN_SPAN_DEG = 6.0
MAX_FLOWS = 45
#: the sites named in the key beside the map (all are numbered; the appendix names the rest)
KEY_SITES = 20

#: score classes (lower bound, fill colour): ColorBrewer YlOrRd, colour-blind safe in order
SCORE_CLASSES: tuple[tuple[float, str], ...] = (
    (0.0, "#ffffb2"),
    (20.0, "#fecc5c"),
    (40.0, "#fd8d3c"),
    (60.0, "#f03b20"),
    (80.0, "#bd0026"),
)
#: corridor colours (Okabe-Ito, without yellow and orange, which the sites use)
CORRIDOR_COLOURS = (
    "#0072b2",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#6a3d9a",
    "#8c564b",
    "#2f4f4f",
    "#b15928",
)


@dataclass(slots=True)
class Country:
    iso3: str
    name: str
    d: str
    focus: bool
    label_x: float | None = None
    label_y: float | None = None

    def label_box(self) -> Box | None:
        """The box the (upper-case, letter-spaced, 10px) name occupies, when it is drawn."""
        if self.label_x is None or self.label_y is None:
            return None
        w = 7.2 * len(self.name)
        return (self.label_x - w / 2, self.label_y - 9, self.label_x + w / 2, self.label_y + 3)


@dataclass(slots=True)
class Corridor:
    code: str
    label: str
    colour: str
    segments: list[tuple[float, float, float, float]]


@dataclass(slots=True)
class FlowLine:
    x1: float
    y1: float
    x2: float
    y2: float
    width: float
    title: str


@dataclass(slots=True)
class SiteMark:
    x: float
    y: float
    r: float
    fill: str
    title: str
    rank: int
    label: str | None = None
    label_x: float = 0.0
    label_y: float = 0.0
    name: str = ""
    country: str = ""
    #: a line from the circle to a number placed away from it (x1, y1, x2, y2)
    leader: tuple[float, float, float, float] | None = None


@dataclass(slots=True)
class Lake:
    name: str
    d: str


@dataclass(slots=True)
class MapView:
    width: float
    height: float
    countries: list[Country]
    corridors: list[Corridor]
    flows: list[FlowLine]
    sites: list[SiteMark]
    unplaced: list[str]
    lakes: list[Lake] = field(default_factory=list)
    #: (rank, name, country) of the sites named beside the map
    key: list[tuple[int, str, str]] = field(default_factory=list)
    #: sites whose number found no free place on the map (listed under it)
    unnumbered: list[str] = field(default_factory=list)
    score_legend: list[tuple[str, str]] = field(default_factory=list)
    size_legend: list[tuple[float, str]] = field(default_factory=list)
    flow_threshold: int = 10


def score_colour(score: float) -> str:
    colour = SCORE_CLASSES[0][1]
    for lower, fill in SCORE_CLASSES:
        if score >= lower:
            colour = fill
    return colour


def score_radius(score: float) -> float:
    return 3.0 + 9.0 * max(0.0, min(score, 100.0)) / 100.0


#: words that stay lower-case inside a name ("Dar es Salaam")
_LOWER_WORDS = frozenset({"es", "de", "del", "la", "le", "du", "des", "of", "and", "the", "el"})


_COMPASS = frozenset({"north", "south", "east", "west"})


def corridor_label(code: str) -> str:
    """A corridor code as a name: ``dar_es_salaam`` -> "Dar es Salaam", ``north_south`` and
    ``north-south`` -> "North-South", ``trans_kalahari`` -> "Trans Kalahari"."""
    words = code.replace("_", " ").split()
    if len(words) > 1 and all(w.lower() in _COMPASS for w in words):
        words = ["-".join(words)]
    out = []
    for i, word in enumerate(words):
        if i > 0 and word.lower() in _LOWER_WORDS:
            out.append(word.lower())
        else:
            out.append("-".join(part[:1].upper() + part[1:] for part in word.split("-")))
    return " ".join(out) or code


def _finite(*values: Any) -> bool:
    return all(isinstance(v, int | float) and math.isfinite(v) for v in values)


def view_bounds(points: Iterable[tuple[float, float]]) -> basemap.Bounds:
    """A lon/lat box around the points, padded, at least ``MIN_SPAN_DEG`` wide and tall."""
    pts = list(points)
    if not pts:
        return basemap.geojson_bounds(basemap.load_boundaries(), focus_only=True)
    lons = [p[0] for p in pts]
    lats = [p[1] for p in pts]
    lo_x, hi_x = min(lons) - MARGIN_DEG, max(lons) + MARGIN_DEG
    lo_y, hi_y = min(lats) - MARGIN_DEG, max(lats) + MARGIN_DEG
    if hi_x - lo_x < MIN_SPAN_DEG:
        mid = (hi_x + lo_x) / 2
        lo_x, hi_x = mid - MIN_SPAN_DEG / 2, mid + MIN_SPAN_DEG / 2
    if hi_y - lo_y < MIN_SPAN_DEG:
        mid = (hi_y + lo_y) / 2
        lo_y, hi_y = mid - MIN_SPAN_DEG / 2, mid + MIN_SPAN_DEG / 2
    return lo_x, max(lo_y, -89.0), hi_x, min(hi_y, 89.0)


def map_height(bounds: basemap.Bounds) -> float:
    min_lon, min_lat, max_lon, max_lat = bounds
    kx = math.cos(math.radians((min_lat + max_lat) / 2))
    aspect = (max_lat - min_lat) / ((max_lon - min_lon) * kx)
    inner = WIDTH - 2 * PADDING
    return max(MIN_HEIGHT, min(MAX_HEIGHT, inner * aspect + 2 * PADDING))


# ---- countries -------------------------------------------------------------------------------
def _inside(x: float, y: float, ring: Sequence[tuple[float, float]]) -> bool:
    hit = False
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i]
        x2, y2 = ring[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def label_point(
    geometry: Mapping[str, Any], project: basemap.Projection
) -> tuple[float, float] | None:
    """A point well inside the largest polygon (a coarse pole of inaccessibility)."""
    points = label_points(geometry, project)
    return points[0] if points else None


def label_points(
    geometry: Mapping[str, Any], project: basemap.Projection
) -> list[tuple[float, float]]:
    """Points inside the largest polygon, the farthest from its edge first."""
    polys = geometry.get("coordinates") or []
    if geometry.get("type") == "Polygon":
        polys = [polys]
    best: list[tuple[float, float]] = []
    best_area = 0.0
    for poly in polys:
        if not poly:
            continue
        ring = [project(float(p[0]), float(p[1])) for p in poly[0]]
        area = abs(
            sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:] + ring[:1], strict=True))
        )
        if area > best_area:
            best, best_area = ring, area
    if len(best) < 3:
        return []
    xs = [p[0] for p in best]
    ys = [p[1] for p in best]
    found: list[tuple[float, float, float]] = []
    steps = 12
    for i in range(1, steps):
        for j in range(1, steps):
            x = min(xs) + (max(xs) - min(xs)) * i / steps
            y = min(ys) + (max(ys) - min(ys)) * j / steps
            if not _inside(x, y, best):
                continue
            d = min((x - px) ** 2 + (y - py) ** 2 for px, py in best)
            found.append((-d, x, y))
    return [(x, y) for _d, x, y in sorted(found)]


def _meets(geometry: Mapping[str, Any], bounds: basemap.Bounds) -> bool:
    """Whether the geometry's box overlaps the view (others get no label)."""
    try:
        b = basemap.geojson_bounds({"type": "Feature", "geometry": geometry})
    except ValueError:
        return False
    return not (b[2] < bounds[0] or b[0] > bounds[2] or b[3] < bounds[1] or b[1] > bounds[3])


def countries(
    project: basemap.Projection,
    width: float,
    height: float,
    bounds: basemap.Bounds,
    avoid: Sequence[Box] = (),
) -> list[Country]:
    """Country outlines; a country's name goes where it overlaps none of the ``avoid`` boxes
    (the site circles) nor another name, or is left out (the outline stays)."""
    gj = basemap.load_boundaries()
    names = {
        f["properties"]["iso_a3"]: (f["properties"].get("name") or "", f.get("geometry"))
        for f in gj["features"]
    }
    out: list[Country] = []
    taken: list[Box] = list(avoid)
    for iso3, d, focus in basemap.to_svg_paths(gj, project):
        name, geometry = names.get(iso3, ("", None))
        c = Country(iso3, name, d, focus)
        if geometry is not None and _meets(geometry, bounds):
            for x, y in label_points(geometry, project):
                c.label_x, c.label_y = round(x, 1), round(y, 1)
                box = c.label_box()
                if (
                    box is not None
                    and box[0] > 2
                    and box[2] < width - 2
                    and box[1] > 2
                    and box[3] < height - 2
                    and not _overlaps(box, taken)
                ):
                    taken.append(box)
                    break
            else:
                c.label_x = c.label_y = None
        out.append(c)
    return out


# ---- corridors -------------------------------------------------------------------------------
def spanning_tree(points: Sequence[tuple[float, float]]) -> list[tuple[int, int]]:
    """Edges of the minimum spanning tree of the points (Prim; the corridor's shortest network).

    A corridor with branches (Mombasa-Kampala with a branch to Kigali) is drawn as it runs,
    which a single nearest-neighbour chain would not do.
    """
    n = len(points)
    if n < 2:
        return []
    inf = float("inf")
    dist = [inf] * n
    parent = [-1] * n
    done = [False] * n
    dist[0] = 0.0
    edges: list[tuple[int, int]] = []
    for _ in range(n):
        u = min((i for i in range(n) if not done[i]), key=lambda i: dist[i])
        done[u] = True
        if parent[u] >= 0:
            edges.append((parent[u], u))
        ux, uy = points[u]
        for v in range(n):
            if not done[v]:
                d = math.hypot(points[v][0] - ux, points[v][1] - uy)
                if d < dist[v]:
                    dist[v], parent[v] = d, u
    return edges


def corridors(places: Sequence[Mapping[str, Any]], project: basemap.Projection) -> list[Corridor]:
    """One line network per corridor named in ``places.corridor`` (``;``-separated)."""
    members: dict[str, dict[tuple[float, float], None]] = {}
    for p in places:
        if not _finite(p.get("lat"), p.get("lon")):
            continue
        xy = project(float(p["lon"]), float(p["lat"]))
        for name in str(p.get("corridor") or "").split(";"):
            code = name.strip()
            if code:
                members.setdefault(code, {})[(round(xy[0], 1), round(xy[1], 1))] = None
    out: list[Corridor] = []
    for i, code in enumerate(sorted(members)):
        pts = list(members[code])
        segs = [(*pts[a], *pts[b]) for a, b in spanning_tree(pts)]
        colour = CORRIDOR_COLOURS[i % len(CORRIDOR_COLOURS)]
        out.append(Corridor(code, corridor_label(code), colour, segs))
    return out


# ---- flows -----------------------------------------------------------------------------------
def flow_lines(
    flows: Sequence[Mapping[str, Any]],
    coords: Mapping[str, tuple[float, float]],
    names: Mapping[str, str],
    project: basemap.Projection,
    threshold: int,
    disclose: Disclose | None = None,
) -> list[FlowLine]:
    """The main flow segments (origin -> observation point -> destination), widths by volume.

    ``flows``: rows with origin_code, observation_code, destination_code, count (and
    ``cell_key``, the sum of the rows' record keys). Each record adds its count (and key) to the
    segments origin-observation and observation-destination (undirected). ``disclose`` publishes
    the segments' volumes (the one disclosure function, each volume a count with its key): the
    threshold and the widths use the published volumes, so neither tells a true count. Only
    segments carrying at least ``threshold`` travellers are drawn; no volume is written out.
    """
    volume: dict[tuple[str, str], float] = {}
    keys: dict[tuple[str, str], int] = {}
    for f in flows:
        obs = str(f.get("observation_code") or "")
        count = float(f.get("count") or 0.0)
        for end in (f.get("origin_code"), f.get("destination_code")):
            other = str(end or "")
            if not other or other == obs or obs not in coords or other not in coords:
                continue
            key = (obs, other) if obs < other else (other, obs)
            volume[key] = volume.get(key, 0.0) + count
            keys[key] = (keys.get(key, 0) + int(f.get("cell_key") or 0)) % KEY_MODULUS
    if disclose is not None and volume:
        segments = list(volume)
        shown = disclose([volume[k] for k in segments], [keys[k] for k in segments])
        volume = {k: float(v) for k, v in zip(segments, shown, strict=True) if _count(v)}
    kept = sorted(
        ((k, v) for k, v in volume.items() if v >= threshold), key=lambda kv: (-kv[1], kv[0])
    )[:MAX_FLOWS]
    if not kept:
        return []
    vmax = kept[0][1]
    out: list[FlowLine] = []
    for (a, b), v in reversed(kept):  # the widest on top
        x1, y1 = project(*coords[a])
        x2, y2 = project(*coords[b])
        width = 0.8 + 6.0 * math.sqrt(v / vmax)
        title = f"{names.get(a, a)} – {names.get(b, b)}: travellers recorded (width: volume)"
        out.append(
            FlowLine(round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1), round(width, 2), title)
        )
    return out


#: publishes lone counts with their keys (corridor.indicators.disclosure.publish_counts)
Disclose = Callable[[list[float], list[int]], list[Any]]


def _count(v: Any) -> bool:
    """A published volume that is a number (not withheld, not a flag such as ``<10``)."""
    return isinstance(v, int | float) and math.isfinite(v)


# ---- sites ---------------------------------------------------------------------------------
#: a site number's box: digit width and height, in SVG units (font-size 9.5px, bold)
_DIGIT_W = 6.0
_NUM_H = 10.0
#: how far from its circle a number may go (beyond its own radius), nearest first
_RINGS = (2.0, 6.0, 11.0, 17.0, 24.0, 32.0, 42.0)
_ANGLES = tuple(math.radians(a) for a in (0, 180, -90, 90, -45, 45, -135, 135, -22, 22, 158, -158))

Box = tuple[float, float, float, float]


def _overlaps(box: Box, boxes: Sequence[Box]) -> bool:
    x0, y0, x1, y1 = box
    return any(not (x1 <= a0 or x0 >= a1 or y1 <= b0 or y0 >= b1) for a0, b0, a1, b1 in boxes)


def label_box(m: SiteMark) -> Box | None:
    """The box a site's number occupies (None when it has none)."""
    if not m.label:
        return None
    w = _DIGIT_W * len(m.label) + 2
    return (m.label_x - w / 2, m.label_y - _NUM_H + 2, m.label_x + w / 2, m.label_y + 2)


def circle_box(m: SiteMark) -> Box:
    return (m.x - m.r, m.y - m.r, m.x + m.r, m.y + m.r)


def place_labels(
    marks: list[SiteMark], width: float, height: float, blocked: Sequence[Box]
) -> None:
    """Give every site its rank number beside its circle, where the number overlaps no other
    number, no circle and nothing in ``blocked`` (the country names). Numbers that must move
    away from a crowded circle get a leader line; a number that finds no free place at all is
    removed (the caller lists those sites). Best ranks are placed first."""
    circles = [circle_box(m) for m in marks]
    placed: list[Box] = []
    for m in sorted(marks, key=lambda m: m.rank):
        if not m.label:
            continue
        w = _DIGIT_W * len(m.label) + 2
        found = False
        for ring in _RINGS:
            for angle in _ANGLES:
                cx = m.x + math.cos(angle) * (m.r + ring + w / 2)
                cy = m.y + math.sin(angle) * (m.r + ring + _NUM_H / 2)
                # half a unit of air around the number, which also covers rounding below
                box = (
                    cx - w / 2 - 0.5,
                    cy - _NUM_H / 2 - 0.5,
                    cx + w / 2 + 0.5,
                    cy + _NUM_H / 2 + 0.5,
                )
                if box[0] < 1 or box[2] > width - 1 or box[1] < 1 or box[3] > height - 1:
                    continue
                if _overlaps(box, placed) or _overlaps(box, circles) or _overlaps(box, blocked):
                    continue
                m.label_x, m.label_y = round(cx, 1), round(cy + _NUM_H / 2 - 2, 1)
                placed.append(box)
                if ring > _RINGS[1]:
                    ex = m.x + math.cos(angle) * m.r
                    ey = m.y + math.sin(angle) * m.r
                    lx = cx - math.cos(angle) * w / 2
                    ly = cy - math.sin(angle) * _NUM_H / 2
                    m.leader = (round(ex, 1), round(ey, 1), round(lx, 1), round(ly, 1))
                found = True
                break
            if found:
                break
        if not found:
            m.label = None


def site_marks(
    ranked: Sequence[Mapping[str, Any]],
    project: basemap.Projection,
    width: float,
    height: float,
    level: float,
    blocked: Sequence[Box] = (),
    *,
    numbered: bool = True,
) -> tuple[list[SiteMark], list[str]]:
    """Circles for the ranked sites (largest score on top), each numbered with its rank."""
    marks: list[SiteMark] = []
    unplaced: list[str] = []
    pct = round(100 * level)
    for row in ranked:
        if not _finite(row.get("lat"), row.get("lon")):
            unplaced.append(str(row["name"]))
            continue
        x, y = project(float(row["lon"]), float(row["lat"]))
        score = float(row["score"])
        title = (
            f"#{row['rank']} {row['name']} ({str(row['place_type']).replace('_', ' ')}, "
            f"{str(row['country_code']).upper()}): score {score:.1f}"
        )
        if row.get("score_low") is not None and row.get("rank_low") is not None:  # draws
            title += (
                f" ({pct}% interval {float(row['score_low']):.1f}–"
                f"{float(row['score_high']):.1f}), rank {row['rank_low']}–{row['rank_high']}"
            )
        rank = int(row["rank"])
        marks.append(
            SiteMark(
                round(x, 1),
                round(y, 1),
                round(score_radius(score), 2),
                score_colour(score),
                title,
                rank,
                label=str(rank),
                name=str(row["name"]),
                country=str(row.get("country_code") or "").upper(),
            )
        )
    if numbered:
        place_labels(marks, width, height, blocked)
    marks.sort(key=lambda m: -m.rank)  # the best ranked drawn last, on top
    return marks, unplaced


def lakes(project: basemap.Projection, bounds: basemap.Bounds) -> list[Lake]:
    """The Natural Earth lakes that meet the view, as SVG paths."""
    out: list[Lake] = []
    for feature in basemap.load_lakes()["features"]:
        if not _meets(feature.get("geometry") or {}, bounds):
            continue
        for _iso, d, _focus in basemap.to_svg_paths(feature, project):
            out.append(Lake(str((feature.get("properties") or {}).get("name") or ""), d))
    return out


def build_map(
    ranked: Sequence[Mapping[str, Any]],
    places: Sequence[Mapping[str, Any]],
    flows: Sequence[Mapping[str, Any]],
    *,
    threshold: int,
    level: float = 0.95,
    disclose: Disclose | None = None,
) -> MapView:
    """The whole map: ``ranked`` sites (rank, name, lat, lon, score...), every place with its
    corridor(s), and flow records aggregated by origin, observation point and destination."""
    site_points = [
        (float(r["lon"]), float(r["lat"])) for r in ranked if _finite(r.get("lat"), r.get("lon"))
    ]
    corridor_points = [
        (float(p["lon"]), float(p["lat"]))
        for p in places
        if str(p.get("corridor") or "").strip() and _finite(p.get("lat"), p.get("lon"))
    ]
    bounds = view_bounds(site_points + corridor_points)
    height = map_height(bounds)
    project = basemap.equirectangular(bounds, WIDTH, height, padding=PADDING)
    # flows are drawn between places below country level: a line to a country's centre
    # would suggest a route that nobody recorded
    coords = {
        str(p["place_code"]): (float(p["lon"]), float(p["lat"]))
        for p in places
        if _finite(p.get("lat"), p.get("lon")) and p.get("place_type") != "country"
    }
    names = {str(p["place_code"]): str(p["name"]) for p in places}
    # circles first (their places are fixed), then the country names around them, then the
    # site numbers around both
    circles = [
        circle_box(m) for m in site_marks(ranked, project, WIDTH, height, level, numbered=False)[0]
    ]
    country_list = countries(project, WIDTH, height, bounds, circles)
    blocked = [b for c in country_list if (b := c.label_box()) is not None]
    marks, unplaced = site_marks(ranked, project, WIDTH, height, level, blocked)
    bins = [*(lo for lo, _ in SCORE_CLASSES[1:]), 100.0]
    score_legend = [
        (f"{lo:.0f}–{hi:.0f}", fill) for (lo, fill), hi in zip(SCORE_CLASSES, bins, strict=True)
    ]
    return MapView(
        width=WIDTH,
        height=round(height, 1),
        countries=country_list,
        lakes=lakes(project, bounds),
        unnumbered=[m.name for m in sorted(marks, key=lambda m: m.rank) if not m.label],
        key=[(m.rank, m.name, m.country) for m in sorted(marks, key=lambda m: m.rank)][:KEY_SITES],
        corridors=corridors(places, project),
        flows=flow_lines(flows, coords, names, project, threshold, disclose),
        sites=marks,
        unplaced=unplaced,
        score_legend=score_legend,
        size_legend=[(score_radius(s), f"{s:.0f}") for s in (10.0, 50.0, 90.0)],
        flow_threshold=threshold,
    )
