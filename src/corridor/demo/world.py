"""``generate_world``: build the truth, observe it, write sources/ and truth/ and the manifest."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from corridor.demo import defects, sources
from corridor.demo import strata as st
from corridor.demo import truth_tables as tt
from corridor.demo.formats import (
    CASES_HEADER,
    FLOWS_HEADER,
    PLACES_HEADER,
    PLACES_HXL,
    mapping_yaml,
    write_csv,
    write_data_value_sets,
    write_json,
)
from corridor.demo.geography import ADMIN1, SITES
from corridor.demo.ids import DEFAULT_COC, fmp_codes
from corridor.demo.mobility import CREW_PER_TRUCK, build_flow_truth, site_traffic
from corridor.demo.observe import observe_services
from corridor.demo.observe_flows import observe_flows
from corridor.demo.outbreak import build_outbreak
from corridor.demo.recency import observe_recency, recency_sites
from corridor.demo.truth import build_hiv_truth

DEFAULT_SEED: Final = 2024
MANIFEST: Final = "manifest.json"


@dataclass(frozen=True, slots=True)
class ManifestFile:
    path: str  # relative to sources/
    kind: str  # places | services | flows | cases
    format: str  # hxl | dhis2-json | dtm-fmr | csv
    mapping: str | None  # mapping file relative to sources/, if any

    def to_dict(self) -> dict[str, str | None]:
        return {
            "path": self.path,
            "kind": self.kind,
            "format": self.format,
            "mapping": self.mapping,
        }


@dataclass(frozen=True, slots=True)
class WorldManifest:
    """What was generated: source files in import order, the deliberately invalid rows, counts."""

    seed: int
    files: tuple[ManifestFile, ...]
    invalid_rows: tuple[defects.InvalidRow, ...]
    counts: dict[str, int]
    out_dir: Path | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "files": [f.to_dict() for f in self.files],
            "invalid_rows": [r.to_dict() for r in self.invalid_rows],
            "counts": dict(self.counts),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], out_dir: Path | None = None) -> WorldManifest:
        return cls(
            seed=int(data["seed"]),
            files=tuple(ManifestFile(**f) for f in data["files"]),
            invalid_rows=tuple(defects.InvalidRow(**r) for r in data["invalid_rows"]),
            counts={k: int(v) for k, v in data["counts"].items()},
            out_dir=out_dir,
        )

    @classmethod
    def read(cls, out_dir: Path) -> WorldManifest:
        """Read ``out_dir/sources/manifest.json``."""
        text = (Path(out_dir) / "sources" / MANIFEST).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text), Path(out_dir))

    def source_paths(self) -> list[Path]:
        """Absolute paths of the source files, in import order (needs ``out_dir``)."""
        if self.out_dir is None:
            raise ValueError("manifest has no out_dir")
        return [self.out_dir / "sources" / f.path for f in self.files]

    def invalid_in(self, path: str) -> list[defects.InvalidRow]:
        return [r for r in self.invalid_rows if r.file == path]


FILES: Final = (
    ManifestFile("places.csv", "places", "hxl", None),
    ManifestFile("services.json", "services", "dhis2-json", "services-mapping.yaml"),
    ManifestFile("flows.csv", "flows", "dtm-fmr", None),
    ManifestFile("cases.csv", "cases", "csv", None),
)


def generate_world(out_dir: Path, seed: int = DEFAULT_SEED) -> WorldManifest:
    """Generate the demonstration world under ``out_dir`` (``sources/`` and ``truth/``).

    Deterministic: the same seed writes byte-identical files.
    """
    out_dir = Path(out_dir)
    src, truth_dir = out_dir / "sources", out_dir / "truth"
    src.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)

    # ---- truth ---------------------------------------------------------------------------
    trucks, travellers = site_traffic()
    flows = build_flow_truth()
    hiv = build_hiv_truth(trucks, travellers, seed)
    passers_2024 = (travellers + trucks * CREW_PER_TRUCK)[:, st.YEARS.index(2024)]
    outbreak = build_outbreak(hiv, passers_2024, seed)

    # ---- observed layer ------------------------------------------------------------------
    services = observe_services(hiv, flows, outbreak, seed)
    services.values += observe_recency(hiv, services.values, seed)
    flow_obs = observe_flows(flows, fmp_codes(), seed)
    line_list = outbreak.line_list()

    places = sources.places_rows()
    enc = sources.encode_services(services.values)
    flow_rows = sources.flows_rows(flow_obs.rows)
    case_rows = sources.cases_rows(line_list)
    invalid = [
        *defects.inject_services(enc.data_values, seed),
        *defects.inject_flows(flow_rows, seed),
        *defects.inject_cases(case_rows, seed),
    ]

    write_csv(src / "places.csv", PLACES_HEADER, places, PLACES_HXL)
    write_data_value_sets(src / "services.json", enc.data_values)
    (src / "services-mapping.yaml").write_text(
        mapping_yaml(enc.data_elements, enc.cocs, {DEFAULT_COC: {}}, enc.org_units),
        encoding="utf-8",
    )
    write_csv(src / "flows.csv", FLOWS_HEADER, flow_rows)
    write_csv(src / "cases.csv", CASES_HEADER, case_rows)

    # ---- truth tables --------------------------------------------------------------------
    tables = {
        "sites.csv": tt.sites_table(hiv, outbreak),
        "population.csv": tt.population_table(hiv),
        "new_infections.csv": tt.new_infections_table(hiv),
        "site_drivers.csv": tt.drivers_table(hiv),
        "outbreak_cases.csv": tt.outbreak_table(outbreak),
        "outbreak_spread.csv": tt.spread_table(outbreak),
        "flows.csv": tt.flows_table(flows),
        "poe_traffic.csv": tt.poe_traffic_table(flows),
    }
    for name, (header, rows) in tables.items():
        write_csv(truth_dir / name, header, rows)

    counts = {
        "places": len(places),
        "countries": sum(1 for r in places if r[2] == "country"),
        "admin1": len(ADMIN1),
        "sites": len(SITES),
        "points_of_entry": sum(1 for s in SITES if s.is_poe),
        "sites_reporting_services": sum(1 for s in SITES if s.reporting != "none"),
        "flow_monitoring_points_active": len(flow_obs.coverage),
        "services_values": len(enc.data_values),
        "services_site_quarters_missing": len(services.missing),
        "services_site_quarters_late": len(services.late),
        "services_rounding_sites": len(services.rounding_sites),
        "sites_recency_testing": len(recency_sites(seed)),
        "flows_rows": len(flow_rows),
        "flows_months_missing": len(flow_obs.missing),
        "flows_months_late": len(flow_obs.late),
        "cases_rows": len(case_rows),
        "invalid_rows": len(invalid),
        "truth_new_infections": int(hiv.new_infections.sum()),
        "truth_outbreak_cases": len(outbreak.cases),
    }
    manifest = WorldManifest(seed, FILES, tuple(invalid), counts, out_dir)
    write_json(src / MANIFEST, manifest.to_dict())
    return manifest
