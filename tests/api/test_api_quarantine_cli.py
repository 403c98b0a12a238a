"""Rows quarantined by ``corridor ingest`` (or ``Workspace.ingest``) record the country of the
place they name, as an import through the API does, so the data managers of that country see
them in ``GET /quarantine``; a data manager of another country does not."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from corridor.api.app import create_app
from corridor.cli.main import main
from hubdata import auth

HEADER = "period,place_code,data_element,sex,age_band,population_group,value\n"


def test_rows_quarantined_on_the_command_line_reach_their_country(
    tmp_path: Path, hub_template: tuple[Path, dict[str, str]]
) -> None:
    template, tokens = hub_template
    shutil.copytree(template, tmp_path / "ws")
    src = tmp_path / "clinic.csv"
    src.write_text(
        HEADER
        + "2031-01,ug-busia,hiv_tests,f,15-24,migrant,12\n"
        + "2031-02,ug-busia,hiv_tests,q,15-24,migrant,13\n"  # sex 'q': quarantined
        + "2031-03,ke-busia,hiv_tests,z,15-24,migrant,14\n",  # a Kenyan row, quarantined
        encoding="utf-8",
    )
    args = ["-w", str(tmp_path / "ws"), "ingest", "--kind", "services", "--quarantine", str(src)]
    try:
        main(args)
    except SystemExit as exc:  # the import must succeed
        assert exc.code in (0, None)
    app = create_app(tmp_path / "ws", pool_size=2)
    with TestClient(app, raise_server_exceptions=False) as client:
        got = client.get("/api/v1/quarantine", headers=auth(tokens["dm-uga"]))
        assert got.status_code == 200
        rows = got.json()["quarantine"]
        assert [r["country_code"] for r in rows] == ["uga"], rows
        assert "ug-busia" in str(rows[0]) and "ke-busia" not in str(rows)
        everyone = client.get("/api/v1/quarantine", headers=auth(tokens["admin1"])).json()
        assert sorted(r["country_code"] for r in everyone["quarantine"]) == ["ken", "uga"]
