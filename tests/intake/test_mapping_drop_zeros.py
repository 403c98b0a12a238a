"""The mapping file's ``drop_zeros`` setting: read, checked, recorded with the import and used
by the indicators (a missing numerator beside a reported denominator counts as zero)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clihelp import run
from corridor import open_workspace
from corridor.errors import CorridorError
from corridor.indicators import compute_indicators
from corridor.intake.mapping import load_mapping

PLACES = """place_code,name,place_type,parent_code,country_code,lat,lon,corridor
ken,Kenya,country,,ken,0.1,37.9,
ke-malaba,Malaba,border_crossing,ken,ken,0.636,34.275,northern
ke-busia,Busia,truck_stop,ken,ken,0.46,34.1,northern
"""
SERVICES = """period,place_code,data_element,sex,age_band,population_group,value
2024Q1,ke-malaba,hiv_tests,,,,150
2024Q1,ke-malaba,hiv_positive,,,,30
2024Q1,ke-busia,hiv_tests,,,,50
"""


def test_load_mapping_reads_drop_zeros(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("drop_zeros: true\norg_units:\n  AbC: ke-malaba\n")
    assert load_mapping(path) == {"drop_zeros": True, "org_units": {"AbC": "ke-malaba"}}
    path.write_text("drop_zeros: sometimes\n")
    with pytest.raises(CorridorError, match="drop_zeros must be true or false"):
        load_mapping(path)


@pytest.mark.parametrize(("flag", "numerator", "reporting"), [(True, 30, 2), (False, 30, 1)])
def test_a_tidy_source_declared_to_drop_zeros(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: bool, numerator: int, reporting: int
) -> None:
    folder = tmp_path / "ws"
    assert run(capsys, "init", str(folder)).code == 0
    (tmp_path / "places.csv").write_text(PLACES)
    (tmp_path / "services.csv").write_text(SERVICES)
    (tmp_path / "source.yaml").write_text(f"drop_zeros: {str(flag).lower()}\n")
    r = run(capsys, "-w", str(folder), "ingest", str(tmp_path / "places.csv"), "--kind", "places")
    assert r.code == 0, r.err
    r = run(
        capsys,
        "-w",
        str(folder),
        "ingest",
        str(tmp_path / "services.csv"),
        "--kind",
        "services",
        "--mapping",
        str(tmp_path / "source.yaml"),
    )
    assert r.code == 0, r.err
    with open_workspace(folder) as ws:
        recorded = ws.engine.scalar("SELECT mapping FROM imports WHERE kind = 'services'")
        assert json.loads(str(recorded)) == {"drop_zeros": flag}
        row = compute_indicators(ws.engine, ["positivity"]).to_pylist()[0]
    assert (row["numerator"], row["places_reporting"], row["places_expected"]) == (
        numerator,
        reporting,
        2,
    )
    assert row["denominator"] == (200 if flag else 150)
