"""``corridor hotspots`` as a user sees it: formats, explanation, sensitivity, exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from clihelp import run
from corridor.hotspots import COMPONENTS
from hotspots.hotspot_world import cli_workspace


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    return cli_workspace(capsys, tmp_path)


def hot(capsys: pytest.CaptureFixture[str], ws: Path, *args: str):  # type: ignore[no-untyped-def]
    return run(capsys, "-w", str(ws), "hotspots", "--draws", "100", *args)


def test_table(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = hot(capsys, ws)
    assert r.code == 0, r.err
    assert "s-mine" in r.out and "new HIV infections per 1,000" in r.out


def test_csv_rows(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = hot(capsys, ws, "--format", "csv")
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert len(rows) == 5
    for col in ("rank", "place_code", "name", "place_type", "country_code",
                "new_infections_per_1000", "new_infections_per_1000_low",
                "new_infections_per_1000_high", "new_infections", "score", "score_low",
                "score_high", "p_top10", *COMPONENTS, "main_driver"):  # fmt: skip
        assert col in rows[0]
    assert rows[0]["rank"] == "1" and rows[0]["place_code"] == "s-mine"
    market = next(r for r in rows if r["place_code"] == "s-market")
    # 8 positives of 800 tests: published by the cell-key method as 0 or at least 10 positives
    assert market["positivity"] == "0.0" or float(market["positivity"]) * 8.04 >= 10
    assert "totals need not equal the sum of their parts" in r.err
    fish = next(r for r in rows if r["place_code"] == "s-fish")
    assert "no_flow_data" in fish["flags"]
    r = hot(capsys, ws, "--format", "csv", "--top", "2")
    assert len(list(csv.DictReader(io.StringIO(r.out)))) == 2


def test_json_hxl_and_out(ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = hot(capsys, ws, "--format", "json", "--period", "2024")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["period"] == "2024" and doc["draws"] == 100
    assert doc["sites"][0]["place_code"] == "s-mine"
    assert 0 <= doc["sites"][0]["p_top10"] <= 1
    # rates are percentages, and JSON says so
    assert doc["units"]["positivity"] == "percent"
    mine = hot(capsys, ws, "--format", "csv", "--period", "2024")
    csv_mine = next(csv.DictReader(io.StringIO(mine.out)))
    explained = json.loads(
        hot(capsys, ws, "--explain", "s-mine", "--format", "json", "--period", "2024").out
    )
    shown = [
        m for c in explained["components"] for m in c["measures"] if m["measure"] == "positivity"
    ]
    assert shown and shown[0]["unit"] == "%" and shown[0]["value"] is not None
    assert float(csv_mine["positivity"]) == pytest.approx(shown[0]["value"], rel=1e-3)
    assert doc["sites"][0]["positivity"] == pytest.approx(shown[0]["value"], rel=1e-3)
    assert float(csv_mine["positivity"]) > 1  # a share of a few percent, not a fraction
    r = hot(capsys, ws, "--format", "hxl")
    lines = r.out.splitlines()
    assert lines[1].startswith("#x_rank,#loc+code,#loc+name")
    out = tmp_path / "o" / "hot.csv"
    r = hot(capsys, ws, "--format", "csv", "--out", str(out))
    assert r.code == 0 and out.read_text().startswith("rank,place_code")


def test_explain(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = hot(capsys, ws, "--explain", "s-mine")
    assert r.code == 0, r.err
    assert "ranks 1 of 5" in r.out and "burden" in r.out
    r = hot(capsys, ws, "--explain", "s-market", "--format", "json")
    info = json.loads(r.out)
    measures = {m["measure"]: m for c in info["components"] for m in c["measures"]}
    published = next(
        row
        for row in csv.DictReader(io.StringIO(hot(capsys, ws, "--format", "csv").out))
        if row["place_code"] == "s-market"
    )
    # the explanation shows the published value of the export, not the true 1%
    assert measures["positivity"]["value"] == pytest.approx(
        float(published["positivity"]), rel=1e-3
    )
    assert measures["positivity"]["value"] != pytest.approx(1.0)
    # with suppression set in the workspace's file, the same positivity is withheld
    toml = ws / "corridor.toml"
    toml.write_text(toml.read_text() + 'disclosure_method = "suppression"\n')
    r = hot(capsys, ws, "--explain", "s-market", "--format", "json")
    measures = {m["measure"]: m for c in json.loads(r.out)["components"] for m in c["measures"]}
    assert measures["positivity"]["value"] is None and measures["positivity"]["suppressed"]
    assert "withheld" in r.err
    r = hot(capsys, ws, "--explain", "nowhere")
    assert r.code == 2 and "not a ranked site" in r.err


def test_sensitivity(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = hot(capsys, ws, "--sensitivity", "--format", "json")
    assert r.code == 0, r.err
    rows = json.loads(r.out)
    assert {row["component"] for row in rows} <= set(COMPONENTS) and rows
    assert hot(capsys, ws, "--sensitivity").code == 0


def test_a_table_with_out_goes_to_the_file(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--out`` without ``--format`` writes the ranking (and the sensitivity table) to the
    file instead of printing them and writing nothing."""
    ranking, changes = tmp_path / "ranking.txt", tmp_path / "changes.txt"
    r = hot(capsys, ws, "--out", str(ranking))
    assert r.code == 0, r.err
    assert "s-mine" in ranking.read_text() and "s-mine" not in r.out
    r = hot(capsys, ws, "--sensitivity", "--out", str(changes))
    assert r.code == 0, r.err
    assert "component" in changes.read_text() and "component" not in r.out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mobility: 1\nburden: -2\n", ">= 0"),
        ("mobility: 1\ntraffic: 2\n", "unknown component(s) traffic"),
        ("mobility: [1, 2]\n", "must be a number"),
        ("- 1\n- 2\n", "expected a mapping"),
        ("measures:\n  betweeness: 1\n", "unknown measure(s) betweeness"),
        ("mobility: 1\n  burden: : 2\n", "not valid YAML"),
    ],
)
def test_bad_weights_file_exits_2(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = tmp_path / "weights.yaml"
    path.write_text(text)
    r = hot(capsys, ws, "--weights", str(path))
    assert r.code == 2
    assert message in r.err and "weights file" in r.err


def test_weights_file_and_other_errors(
    ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"mobility": 0, "burden": 0, "service_gap": 0, "bridging": 1}))
    r = hot(capsys, ws, "--weights", str(path), "--format", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["weights"]["bridging"] == 1.0 and doc["sites"][0]["place_code"] == "s-mine"
    assert doc["model"]["recency_sites"] == 0 and doc["model"]["model_error_sd"] > 0
    assert hot(capsys, ws, "--weights", str(tmp_path / "missing.yaml")).code == 2
    r = hot(capsys, ws, "--period", "2024Q9")
    assert r.code == 2 and "period" in r.err
    r = hot(capsys, ws, "--explain", "s-mine", "--sensitivity")
    assert r.code == 2


def test_validate_against_a_truth(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--validate compares the estimate, each single measure and a random ranking with the
    truth beside the workspace (here a hand-written one for the small world's 2024)."""
    r = hot(capsys, ws, "--validate", "--period", "2024")
    assert r.code == 2 and "truth" in r.err and "Traceback" not in r.err
    truth = ws / "truth"
    truth.mkdir()
    sites = ["s-mine", "s-truck", "s-border", "s-fish", "s-market"]
    infections = [40, 12, 9, 6, 3]
    (truth / "population.csv").write_text(
        "site,year,population\n" + "".join(f"{s},2024,1000\n" for s in sites)
    )
    (truth / "new_infections.csv").write_text(
        "site,year,new_infections\n"
        + "".join(f"{s},2024,{n}\n" for s, n in zip(sites, infections, strict=True))
    )
    (truth / "outbreak_cases.csv").write_text("site,year,cases\ns-mine,2024,1\n")
    r = hot(capsys, ws, "--validate", "--period", "2024")
    assert r.code == 0, r.err
    assert "estimate" in r.out and "positivity" in r.out and "random" in r.out
    assert "rank intervals holding the true rank" in r.out and "Brier skill" in r.out
    r = hot(capsys, ws, "--validate", "--period", "2024", "--format", "json")
    doc = json.loads(r.out)
    rows = doc["summary"]["rows"]
    assert rows["estimate"]["spearman"] == pytest.approx(
        doc["reports"][0]["rows"]["estimate"]["spearman"]
    )
    assert -1 <= rows["random"]["spearman"] <= 1
    assert hot(capsys, ws, "--validate", "--explain", "s-mine").code == 2
    # the validation checks intervals and p_top10, which 0 draws do not have
    r = run(capsys, "-w", str(ws), "hotspots", "--validate", "--period", "2024", "--draws", "0")
    assert r.code == 2 and "draws" in r.err and "Traceback" not in r.err


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "hxl"])
def test_a_period_without_data_exits_2(
    ws: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A period with no data at all is a user error, as in `corridor report`: no made-up
    ranking of sites all tied at rank 1 with imputed estimates."""
    r = hot(capsys, ws, "--period", "2030", "--format", fmt)
    assert r.code == 2, r.out
    assert "nothing to rank for period 2030" in r.err and "2030-01-01 to 2030-12-31" in r.err
    assert "Traceback" not in r.err and "s-mine" not in r.out and "fully_imputed" not in r.out
    for extra in (["--explain", "s-mine"], ["--sensitivity"]):
        r = hot(capsys, ws, "--period", "2030", *extra)
        assert r.code == 2 and "nothing to rank for period 2030" in r.err, extra
    # the period with the data still ranks, sites without some data imputed
    r = hot(capsys, ws, "--period", "2024", "--format", "csv")
    assert r.code == 0 and len(list(csv.DictReader(io.StringIO(r.out)))) == 5


def test_no_draws_shows_no_intervals(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--draws 0 is "no intervals": nothing like 16.2 (16.2-16.2), rank 1 (1-1) or p_top10 1.00."""
    r = run(capsys, "-w", str(ws), "hotspots", "--draws", "0", "--period", "2024")
    assert r.code == 0, r.err
    assert "no intervals: 0 draws" in r.out and "90% intervals" not in r.out
    assert "(1-1)" not in r.out and "p_top10" not in r.out and "1.00" not in r.out
    mine = next(line for line in r.out.splitlines() if "s-mine" in line)
    assert "(" not in mine.split("s-mine")[1].split("│")[2]  # per 1,000: no interval
    r = run(capsys, "-w", str(ws), "hotspots", "--draws", "0", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.out)))
    interval = ("new_infections_per_1000_low", "new_infections_per_1000_high",
                "new_infections_low", "new_infections_high", "score_low", "score_high",
                "rank_low", "rank_high", "p_top10")  # fmt: skip
    assert len(rows) == 5
    for row in rows:
        assert row["new_infections_per_1000"] and row["rank"]
        assert all(row[c] == "" for c in interval), row
    r = run(capsys, "-w", str(ws), "hotspots", "--draws", "0", "--format", "json")
    doc = json.loads(r.out)
    assert doc["draws"] == 0
    for site in doc["sites"]:
        assert site["new_infections_per_1000"] is not None
        assert all(site[c] is None for c in interval), site
    r = run(capsys, "-w", str(ws), "hotspots", "--draws", "0", "--explain", "s-mine")
    assert r.code == 0, r.err
    assert "no intervals: 0 draws" in r.out and "rank interval" not in r.out
    assert "% of the draws" not in r.out
    # with draws the intervals are there
    r = hot(capsys, ws, "--period", "2024", "--format", "csv")
    assert all(row["p_top10"] and row["rank_low"] for row in csv.DictReader(io.StringIO(r.out)))
