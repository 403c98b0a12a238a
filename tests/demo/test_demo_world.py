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


def test_programme_sites_report_population_by_age_band(
    world: WorldManifest, world_dir: Path
) -> None:
    """Sites with full reporting give pop_estimated by group x sex x age band, all five bands
    (<15 too), others never by age band; every cell is the truth's population times the
    estimate's error of its site, group and year (one factor for all sexes and ages), so the
    population of the ages offered testing (15+) agrees with truth/population.csv."""
    src = world_dir / "sources"
    mapping = yaml.safe_load((src / "services-mapping.yaml").read_text(encoding="utf-8"))
    cocs, des = mapping["category_option_combos"], mapping["data_elements"]
    sites = {r["site"]: r for r in read_csv(world_dir / "truth" / "sites.csv")}
    site_of = {r["dhis2_uid"]: code for code, r in sites.items() if r["dhis2_uid"]}
    invalid = {r.row for r in world.invalid_in("services.json")}
    reported: dict[tuple[str, int, str, str, str], set[int]] = {}
    for i, v in enumerate(read_json(src / "services.json")["dataValues"], start=1):
        if des[v["dataElement"]] != "pop_estimated" or i in invalid:
            continue
        dims, code = cocs[v["categoryOptionCombo"]], site_of[v["orgUnit"]]
        if sites[code]["reporting"] != "full":
            assert "age_band" not in dims, (code, dims)
            continue
        assert set(dims) == {"sex", "age_band", "population_group"}, (code, dims)
        key = (code, int(v["period"][:4]), dims["population_group"], dims["sex"], dims["age_band"])
        reported.setdefault(key, set()).add(int(v["value"]))
    assert {k[4] for k in reported} == set(d.AGE_BANDS) - {d.TOTAL}
    assert all(len(values) == 1 for values in reported.values())  # annual, repeated each quarter
    truth = {
        (r["site"], int(r["year"]), r["population_group"], r["sex"], r["age_band"]): int(
            r["population"]
        )
        for r in read_csv(world_dir / "truth" / "population.csv")
    }
    ratios: dict[tuple[str, int, str], list[float]] = {}
    for key, (value,) in reported.items():
        if value >= 2000 and truth.get(key):  # rounded to hundreds: within 2.5%
            ratios.setdefault(key[:3], []).append(value / truth[key])
    assert len(ratios) >= 100
    for (code, year, group), r in ratios.items():
        assert max(r) / min(r) <= 1.06, (code, year, group, r)  # one error, rounding apart
        low, high = (0.8, 1.25) if group == "host" else (0.3, 3.0)  # 5% / 25% log error
        assert low <= r[0] <= high, (code, year, group, r)
    adults = {"15-24", "25-34", "35-49", "50+"}
    for year in (2019, 2024, 2025):
        est = sum(v for k, (v,) in reported.items() if k[1] == year and k[4] in adults)
        true = sum(n for k, n in truth.items() if k[1] == year and k[4] in adults
                   and sites[k[0]]["reporting"] == "full")  # fmt: skip
        assert 0.95 <= est / true <= 1.05, (year, est, true)


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
