"""``corridor demo`` end to end: the world goes through the normal intake and every analysis."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path

import pytest

from clihelp import Result, run
from corridor.cli.main import main
from corridor.indicators import compute_indicators
from corridor.workspace import open_workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    out = tmp_path_factory.mktemp("demo") / "out"
    # capsys is function-scoped: capture by hand for this module-wide run
    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
        pytest.raises(SystemExit) as info,
    ):
        main(["demo", "--out", str(out)])
    code = info.value.code if isinstance(info.value.code, int) else 1
    return out, Result(code, stdout.getvalue(), stderr.getvalue())


def test_demo_runs_the_whole_job(demo: tuple[Path, Result]) -> None:
    out, result = demo
    assert result.code == 0, result.err
    for path in (
        "sources/manifest.json",
        "truth",
        "corridor.toml",
        "warehouse.duckdb",
        "report.html",
    ):
        assert (out / path).exists(), path
    for step in (
        "1. world",
        "2. ingest",
        "3. indicators",
        "4. spaces of vulnerability",
        "5. report",
    ):
        assert step in result.out
    # the rate interval is named with its measured coverage, as in every other output
    assert "90% model interval (measured coverage of the true rate 81-91%)" in " ".join(
        result.out.split()
    )


def test_exactly_the_planted_rows_are_quarantined(demo: tuple[Path, Result]) -> None:
    out, _ = demo
    manifest = json.loads((out / "sources" / "manifest.json").read_text())
    planted = {(r["file"], r["row"]) for r in manifest["invalid_rows"]}
    with open_workspace(out) as ws:
        rows = ws.engine.query_rows(
            "SELECT DISTINCT i.file_name, q.row_number FROM quarantine q "
            "JOIN imports i ON i.import_id = q.import_id"
        )
        counts = ws.status()["counts"]
    assert set(rows) == planted
    assert all(counts[k] > 0 for k in ("places", "flows", "services", "cases"))
    assert "as planted" in demo[1].out


def test_rerun_rebuilds_the_same_world(
    demo: tuple[Path, Result], capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = demo
    before = (out / "sources" / "services.json").read_bytes()
    r = run(capsys, "demo", "--out", str(out))
    assert r.code == 0, r.err
    assert (out / "sources" / "services.json").read_bytes() == before


def test_demo_never_clobbers_a_folder_it_did_not_make(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "precious.txt").write_text("field data")
    r = run(capsys, "demo", "--out", str(tmp_path))
    assert r.code == 2 and "not made by `corridor demo`" in r.err
    assert (tmp_path / "precious.txt").read_text() == "field data"


def test_demo_report_reads_well_and_prints_on_twelve_pages(demo: tuple[Path, Result]) -> None:
    """The demonstration world's report in headless Chromium: laptop and phone, then A4."""
    from browser import assert_reads_well, open_report

    out, result = demo
    assert result.code == 0, result.err
    checks, pages = open_report(out / "report.html", "demo-report")
    assert_reads_well(checks)
    assert pages <= 12, f"the demo report prints on {pages} A4 pages"
    # the closing hint names the report by a URL any browser opens, not macOS's `open`
    assert (out / "report.html").resolve().as_uri() in result.out


def test_demo_accounts_have_owner_only_one_time_credentials(demo: tuple[Path, Result]) -> None:
    import csv
    import stat

    from corridor.access import account_for_token, authenticate

    out, result = demo
    assert result.code == 0, result.err
    path = out / "demo-users.csv"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["username", "password", "token", "role", "countries"]
    assert {r["role"] for r in rows} == {"admin", "analyst", "data_manager", "partner"}
    with open_workspace(out) as w:
        for r in rows:
            assert account_for_token(w.engine, r["token"]).role == r["role"]
            assert authenticate(w.engine, r["username"], r["password"]).username == r["username"]
        analyst = next(r for r in rows if r["role"] == "analyst")
        assert analyst["countries"] == "KEN,UGA"


def test_viral_load_coverage_is_plausible_on_the_demo(demo: tuple[Path, Result]) -> None:
    """vl_coverage (12-month lookback / TX_CURR two quarters earlier) of the latest year and each
    of its quarters, all places and groups: a programme near its targets, not 19% of 95%."""
    out, _ = demo
    with open_workspace(out) as ws:
        last = ws.engine.scalar("SELECT MAX(period) FROM services WHERE data_element = 'vl_tested'")
        year = str(last)[:4]
        quarters = compute_indicators(
            ws.engine, ["vl_coverage"], by=["period"], period=f"{year}Q1:{year}Q4"
        )
        whole = compute_indicators(ws.engine, ["vl_coverage"], period=year)
    values = {r["period"]: r["value"] for r in [*quarters.to_pylist(), *whole.to_pylist()]}
    assert len(values) == 5, values
    assert all(50 <= v <= 100 for v in values.values()), values


def test_testing_coverage_is_plausible_on_the_demo(demo: tuple[Path, Result]) -> None:
    """testing_coverage (HIV tests per population of the ages offered testing, 15+) has values
    on the demo: at every site with full reporting (the only ones that give their population
    by age band) and nowhere else, close to the truth's tests per person 15+ (test rate x
    population x (1 - prevalence x know status), truth/population.csv); lower where a quarter
    of tests is missing, off by the population estimate's error."""
    out, _ = demo
    with open_workspace(out) as ws:
        by_place = compute_indicators(ws.engine, ["testing_coverage"], by=["place"], period="2024")
        whole = compute_indicators(ws.engine, ["testing_coverage"], period="2024")
    with (out / "truth" / "sites.csv").open(encoding="utf-8") as f:
        full = {r["site"] for r in csv.DictReader(f) if r["reporting"] == "full"}
    tests: dict[str, float] = {}
    people: dict[str, float] = {}
    with (out / "truth" / "population.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["year"] != "2024" or r["age_band"] == "<15":
                continue
            n = float(r["population"])
            known = float(r["hiv_prevalence"]) * float(r["know_status"])
            tests[r["site"]] = tests.get(r["site"], 0.0) + float(r["test_rate"]) * n * (1 - known)
            people[r["site"]] = people.get(r["site"], 0.0) + n
    values = {r["place_code"]: r["value"] for r in by_place.to_pylist() if r["value"] is not None}
    assert set(values) == full and len(full) >= 20
    ratios = sorted(values[s] / (100 * tests[s] / people[s]) for s in full)
    assert ratios[0] >= 0.5 and ratios[-1] <= 1.3, ratios
    assert 0.9 <= ratios[len(ratios) // 2] <= 1.1, ratios
    (total,) = whole.to_pylist()
    truth = 100 * sum(tests[s] for s in full) / sum(people[s] for s in full)
    assert total["places_reporting"] == len(full)
    assert 0.9 * truth <= total["value"] <= 1.1 * truth, (total["value"], truth)


@pytest.mark.parametrize(
    ("draws", "said"),
    [
        (200, "measured coverage of the true rate 81-91%"),
        (100, "coverage of the true rate not measured"),
    ],
)
def test_the_rate_interval_coverage_is_stated_only_for_the_draws_measured(
    demo: tuple[Path, Result], capsys: pytest.CaptureFixture[str], draws: int, said: str
) -> None:
    """Validation measured the rate interval's coverage with 200 draws (the HTTP API's and the
    dashboard's) and 500 (the CLI's and the report's); with fewer the percentiles are placed
    less surely and the coverage is said to be not measured."""
    out, _ = demo
    r = run(capsys, "-w", str(out), "hotspots", "--draws", str(draws), "--top", "3")
    assert r.code == 0, r.err
    text = " ".join(r.out.split())
    assert f"90% model interval ({said})" in text, text
    assert f"{draws} draws" in text


def test_the_indicator_docs_python_runs_on_the_demo_workspace(
    demo: tuple[Path, Result], tmp_path: Path
) -> None:
    """docs/indicators.md's Python (generated by corridor.indicators.docs) used an ``engine`` and
    a ``ws`` it never defined; it opens ``demo-output``, the folder `corridor demo` writes."""
    import subprocess
    import sys
    import textwrap

    from corridor.indicators.docs import render_markdown

    out, result = demo
    assert result.code == 0, result.err
    after = render_markdown().split("Python (other modules use the same functions)", 1)[1]
    lines = after.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    "))
    block: list[str] = []
    for line in lines[start:]:
        if line and not line.startswith("    "):
            break
        block.append(line)
    code = textwrap.dedent("\n".join(block)).strip() + "\n"
    assert 'open_workspace("demo-output")' in code
    (tmp_path / "demo-output").symlink_to(out, target_is_directory=True)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "place_code" in done.stdout and "numerator" in done.stdout
