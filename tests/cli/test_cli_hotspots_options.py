"""``corridor hotspots`` options a programme analyst gets wrong: each is a clear user error
(exit 2, no traceback) or is honoured, never silently ignored."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from clihelp import run
from hotspots.hotspot_world import PLACES, cli_workspace


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    return cli_workspace(capsys, tmp_path)


def hot(capsys: pytest.CaptureFixture[str], ws: Path, *args: str):  # type: ignore[no-untyped-def]
    return run(capsys, "-w", str(ws), "hotspots", "--draws", "20", *args)


def test_a_negative_seed_is_a_user_error(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It was a numpy traceback ("expected non-negative integer") with exit 1."""
    r = hot(capsys, ws, "--seed", "-5")
    assert r.code == 2, r.err
    assert "Traceback" not in r.err and "--seed" in r.err


def test_a_month_without_hiv_testing_is_refused(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The small world reports services by year: a month holds flows and a case but no HIV
    test. It was ranked at 45-52 per 1,000 for every site (positivity taken as 100%), five
    times the year's highest; now exit 2 with the dates the HIV tests cover."""
    for period in ("2024-06", "2024W10"):
        r = hot(capsys, ws, "--period", period)
        assert r.code == 2, r.out
        assert f"cannot estimate new infections for period {period}" in r.err
        assert "its HIV tests cover 2024-01-01 to 2024-12-31" in r.err
        assert "Traceback" not in r.err
    assert hot(capsys, ws, "--period", "2024", "--format", "csv").code == 0


def test_an_empty_place_code_is_not_ignored(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--explain ""`` printed the whole ranking as if no site had been asked for."""
    r = hot(capsys, ws, "--explain", "")
    assert r.code == 2
    assert "is not a ranked site" in r.err and "spaces of vulnerability" not in r.out
    r = hot(capsys, ws, "--explain", "", "--sensitivity")
    assert r.code == 2 and "choose one of" in r.err


def _truth(ws: Path) -> None:
    """A truth for the small world's sites, 2024 (as ``corridor demo`` writes it)."""
    truth = ws / "truth"
    truth.mkdir()
    sites = [p for p in PLACES if p.get("population")]
    rows = {
        "new_infections.csv": (
            ["site", "year", "new_infections"],
            [[p["place_code"], 2024, 2 + i] for i, p in enumerate(sites)],
        ),
        "population.csv": (
            ["site", "year", "population"],
            [[p["place_code"], 2024, p["population"]] for p in sites],
        ),
        "outbreak_cases.csv": (["site", "year", "cases"], [[sites[0]["place_code"], 2024, 1]]),
    }
    for name, (header, body) in rows.items():
        with (truth / name).open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(body)


def test_validate_honours_period_and_seed(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--validate --period 2024Q3`` validated 2023, 2024 and 2025 without a word, and
    ``--seed`` was ignored (the reports said seed 1)."""
    _truth(ws)
    r = hot(capsys, ws, "--validate", "--period", "2024", "--seed", "3", "--format", "json")
    assert r.code == 0, r.err
    reports = json.loads(r.out)["reports"]
    assert [(rep["year"], rep["seed"]) for rep in reports] == [(2024, 3)]
    one = json.loads(hot(capsys, ws, "--validate", "--period", "2024", "--format", "json").out)
    assert one["reports"][0]["seed"] == 1
    ranged = hot(capsys, ws, "--validate", "--period", "2024:2024", "--format", "json")
    assert ranged.code == 0, ranged.err
    assert [rep["year"] for rep in json.loads(ranged.out)["reports"]] == [2024]
    for period in ("2024Q3", "2024-06", "2025:2024"):
        r = hot(capsys, ws, "--validate", "--period", period)
        assert r.code == 2, (period, r.out)
        assert f"--period '{period}'" in r.err and "Traceback" not in r.err


@pytest.mark.parametrize(
    "mode", [["--explain", "SITE"], ["--sensitivity"], ["--validate", "--period", "2024"]]
)
def test_hxl_is_refused_where_it_has_no_tags(
    ws: Path, capsys: pytest.CaptureFixture[str], mode: list[str]
) -> None:
    """These tables have no HXL tags; --format hxl wrote plain CSV without a word."""
    mode = [PLACES[0]["place_code"] if m == "SITE" else m for m in mode]
    r = hot(capsys, ws, "--format", "hxl", *mode)
    assert r.code == 2, r.err
    assert "--format hxl" in r.err and r.out == ""
