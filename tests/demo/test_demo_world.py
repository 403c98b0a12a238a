"""The demonstration world's sources: manifest, formats, determinism, planted invalid rows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from demo_helpers import UID, Checker, digest, read_csv, read_json

from corridor.contract import dimensions as d
from corridor.demo import WorldManifest, generate_world
from corridor.demo.geography import CORRIDORS

SOURCES = ("places.csv", "services.json", "services-mapping.yaml", "flows.csv", "cases.csv")


def test_manifest_lists_files_in_import_order(world: WorldManifest, world_dir: Path) -> None:
    data = read_json(world_dir / "sources" / "manifest.json")
    assert data == world.to_dict()
    assert WorldManifest.read(world_dir) == world
    assert data["seed"] == 2024
    assert [f["kind"] for f in data["files"]] == ["places", "services", "flows", "cases"]
    assert [f["format"] for f in data["files"]] == ["hxl", "dhis2-json", "dtm-fmr", "csv"]
    assert data["files"][1]["mapping"] == "services-mapping.yaml"
    for name in SOURCES:
        assert (world_dir / "sources" / name).is_file()
    assert [p.name for p in world.source_paths()] == [f["path"] for f in data["files"]]


def test_volumes_stay_in_budget(world: WorldManifest) -> None:
    c = world.counts
    total = c["services_values"] + c["flows_rows"] + c["cases_rows"]
    assert 100_000 <= total <= 300_000
    assert c["cases_rows"] > 1000
    assert c["services_site_quarters_missing"] > 0 and c["services_site_quarters_late"] > 0


def test_places(world_dir: Path) -> None:
    path = world_dir / "sources" / "places.csv"
    header, tags = path.read_text(encoding="utf-8").splitlines()[:2]
    assert header.split(",")[0] == "place_code" and tags.split(",")[0] == "#loc+code"
    places = read_csv(path, skip=1)
    codes = [p["place_code"] for p in places]
    assert len(codes) == len(set(codes))
    countries = [p for p in places if p["place_type"] == "country"]
    assert len(countries) == 16
    assert all(p["parent_code"] == "" and p["country_code"] == p["place_code"] for p in countries)
    sites = [p for p in places if p["place_type"] in d.SITE_TYPES]
    assert len(sites) >= 40
    known = set(codes)
    for p in places:
        assert p["place_type"] in d.PLACE_TYPES
        assert p["place_type"] == "country" or p["parent_code"] in known
        assert -36 < float(p["lat"]) < 10 and 11 < float(p["lon"]) < 42
        for c in filter(None, p["corridor"].split(";")):
            assert c in CORRIDORS
    for pair in [("ke-malaba", "ug-malaba"), ("tz-tunduma", "zm-nakonde"),
                 ("za-beitbridge", "zw-beitbridge"), ("zm-kasumbalesa", "cd-kasumbalesa")]:  # fmt: skip
        assert set(pair) <= known
    ports = {
        "ke-mombasa",
        "tz-dar-es-salaam",
        "mz-beira",
        "mz-maputo",
        "na-walvis-bay",
        "za-durban",
    }
    assert ports <= {p["place_code"] for p in sites if p["place_type"] == "seaport"}
    assert {"cd-kamituga", "zm-kitwe", "zm-chingola", "ug-kasensero"} <= known
    types = {p["place_type"] for p in sites}
    assert {"mine", "fishing_site", "farm_compound", "construction_site", "market", "truck_stop",
            "urban_hotspot", "border_crossing", "seaport"} <= types  # fmt: skip
    assert {c for p in sites for c in p["corridor"].split(";") if c} == set(CORRIDORS)
    uids = [p["dhis2_uid"] for p in places if p["dhis2_uid"]]
    assert len(uids) == len(set(uids)) and all(UID.match(u) for u in uids)
    poes = [p for p in sites if p["place_type"] in ("border_crossing", "seaport")]
    assert all(p["fmp_code"].startswith(f"fmp-{p['place_code'][:2]}-") for p in poes)


def test_mapping_covers_every_identifier(world_dir: Path) -> None:
    src = world_dir / "sources"
    mapping = yaml.safe_load((src / "services-mapping.yaml").read_text(encoding="utf-8"))
    assert set(mapping) == {"data_elements", "category_option_combos", "attribute_option_combos",
                            "org_units"}  # fmt: skip
    assert mapping["category_option_combos"]["HllvX50cXC0"] == {}
    assert set(mapping["data_elements"].values()) <= set(d.DATA_ELEMENTS)
    for dims in mapping["category_option_combos"].values():
        assert set(dims) <= {"sex", "age_band", "population_group"}
        assert dims.get("sex", "f") in d.SEXES and dims.get("age_band", "total") in d.AGE_BANDS
        assert dims.get("population_group", "total") in d.POPULATION_GROUPS
    places = {p["place_code"]: p for p in read_csv(src / "places.csv", skip=1)}
    for uid, code in mapping["org_units"].items():
        assert places[code]["dhis2_uid"] == uid
    values = read_json(src / "services.json")["dataValues"]
    assert {v["categoryOptionCombo"] for v in values} <= set(mapping["category_option_combos"])
    assert all(isinstance(v["value"], str) for v in values[:1000])


def test_exactly_the_planted_rows_are_invalid(world: WorldManifest, world_dir: Path) -> None:
    src = world_dir / "sources"
    assert 3 <= len(world.invalid_rows) <= 8
    mapping = yaml.safe_load((src / "services-mapping.yaml").read_text(encoding="utf-8"))
    checker = Checker(read_csv(src / "places.csv", skip=1), mapping)
    found: dict[tuple[str, int], list[str]] = {}
    for i, v in enumerate(read_json(src / "services.json")["dataValues"], start=1):
        if bad := checker.service(v):
            found[("services.json", i)] = bad
    for i, r in enumerate(read_csv(src / "flows.csv"), start=1):
        if bad := checker.flow(r):
            found[("flows.csv", i)] = bad
    for i, r in enumerate(read_csv(src / "cases.csv"), start=1):
        if bad := checker.case(r):
            found[("cases.csv", i)] = bad
    planted = {(r.file, r.row): [r.column] for r in world.invalid_rows}
    assert found == planted
    assert {r.file for r in world.invalid_rows} == {"services.json", "flows.csv", "cases.csv"}


def test_services_disaggregation_follows_programmes(world_dir: Path) -> None:
    src = world_dir / "sources"
    mapping = yaml.safe_load((src / "services-mapping.yaml").read_text(encoding="utf-8"))
    cocs, des = mapping["category_option_combos"], mapping["data_elements"]
    values = read_json(src / "services.json")["dataValues"]
    by_unit: dict[str, set[int]] = {}
    for v in values:
        by_unit.setdefault(v["orgUnit"], set()).add(len(cocs[v["categoryOptionCombo"]]))
    levels = {frozenset(s) for s in by_unit.values()}
    assert frozenset({0, 1}) in levels or frozenset({0}) in levels  # totals / sex only
    assert any(3 in s for s in by_unit.values())  # group x sex x age
    elements = {des[v["dataElement"]] for v in values}
    assert {
        "hiv_tests",
        "art_current",
        "plhiv_estimated",
        "poe_crossings",
        "mpox_confirmed",
    } <= elements
    periods = {v["period"] for v in values}
    assert "2019Q1" in periods and "2025Q4" in periods


def test_same_seed_is_byte_identical_across_processes(world_dir: Path, tmp_path: Path) -> None:
    code = "import sys; from pathlib import Path; from corridor.demo import generate_world; " \
           "generate_world(Path(sys.argv[1]), seed=2024)"  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, env=env)
    assert digest(tmp_path) == digest(world_dir)


def test_other_seed_differs(world_dir: Path, tmp_path: Path) -> None:
    other = generate_world(tmp_path, seed=7)
    assert other.seed == 7
    a, b = digest(world_dir / "sources"), digest(tmp_path / "sources")
    assert a.keys() == b.keys()
    for name in ("services.json", "flows.csv", "cases.csv", "manifest.json"):
        assert a[name] != b[name]
    assert a["places.csv"] == b["places.csv"]  # the geography is fixed; only the data vary


@pytest.mark.parametrize("name", ["flows.csv", "cases.csv", "places.csv"])
def test_csv_files_use_plain_newlines(world_dir: Path, name: str) -> None:
    assert b"\r\n" not in (world_dir / "sources" / name).read_bytes()


PARTS = {
    "hiv_positive": "hiv_tests",
    "art_current": "plhiv_diagnosed",
    "vl_suppressed": "vl_tested",
    "hiv_recent": "hiv_recency_tested",
}


def test_parts_never_exceed_their_whole(world_dir: Path) -> None:
    """Positives within tests and suppressed within tested, cell by cell (no rate above 100%)."""
    src = world_dir / "sources"
    mapping = yaml.safe_load((src / "services-mapping.yaml").read_text(encoding="utf-8"))
    elements = mapping["data_elements"]
    cells: dict[tuple[str, str, str, str], dict[str, float]] = {}
    for v in read_json(src / "services.json")["dataValues"]:
        element = elements.get(v["dataElement"])
        key = (v["orgUnit"], v["period"], v["categoryOptionCombo"], v["attributeOptionCombo"])
        if element in PARTS or element in PARTS.values():
            cells.setdefault(key, {})[element] = float(v["value"])
    checked = orphans = 0
    for values in cells.values():
        for part, whole in PARTS.items():
            if part in values and whole in values:
                assert values[part] <= values[whole], values
                checked += 1
            elif part in values:
                orphans += 1  # its whole is one of the planted invalid rows
    assert checked > 1000
    assert orphans <= 3
