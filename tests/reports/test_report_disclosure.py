"""The report publishes with the workspace's disclosure settings, as the CLI does (issue 12).

A workspace that changes a cell-key parameter in its ``corridor.toml`` must publish the same
changed values in the report and in ``corridor indicators``: the report reads the workspace's
settings, not the defaults.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from clihelp import run
from reports.test_report import write_sources

CASCADE = "first_95,second_95,third_95,positivity,testing_coverage"
SUB = re.compile(
    r'<span class="sub"><span class="shown">([\d,]+)</span> / <span class="shown">([\d,]+)</span>'
)


def _cascade_pairs(html: str) -> set[tuple[float, float]]:
    m = re.search(r'<section id="cascade">(.*?)</section>', html, re.S)
    assert m, "no cascade section"
    return {
        (float(a.replace(",", "")), float(b.replace(",", ""))) for a, b in SUB.findall(m.group(1))
    }


def _published(
    capsys: pytest.CaptureFixture[str], ws: Path
) -> tuple[set[tuple[float, float]], str]:
    r = run(capsys, "-w", str(ws), "indicators", "-i", CASCADE, "--by", "country,population_group",
            "--period", "2024", "--format", "json")  # fmt: skip
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    rows = doc["rows"] if isinstance(doc, dict) else doc
    pairs = {
        (float(row["numerator"]), float(row["denominator"]))
        for row in rows
        if row.get("numerator") is not None and row.get("denominator") is not None
    }
    out = ws / "report.html"
    r = run(capsys, "-w", str(ws), "report", "--period", "2024", "--draws", "0", "--out", str(out))
    assert r.code == 0, r.err
    return pairs, out.read_text(encoding="utf-8")


def test_a_corridor_toml_change_publishes_the_same_in_the_report_and_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    write_sources(src)
    ws = tmp_path / "ws"
    assert run(capsys, "init", str(ws)).code == 0
    for kind in ("places", "services", "flows", "cases"):
        r = run(capsys, "-w", str(ws), "ingest", str(src / f"{kind}.csv"), "--kind", kind)
        assert r.code == 0, r.err
    cli_before, html_before = _published(capsys, ws)
    report_before = _cascade_pairs(html_before)
    assert len(report_before) > 10
    assert report_before <= cli_before  # every count pair of the report is the CLI's

    toml = ws / "corridor.toml"
    toml.write_text(toml.read_text() + "disclosure_max_noise = 6\ndisclosure_variance = 9.0\n")
    cli_after, html_after = _published(capsys, ws)
    report_after = _cascade_pairs(html_after)
    assert cli_after != cli_before  # the parameter changes what is published...
    assert report_after != report_before  # ...in the report too...
    assert report_after <= cli_after  # ...identically
