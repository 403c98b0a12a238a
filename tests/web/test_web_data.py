"""The Data page in a real browser: imports and quarantine, upload with a dry run, row-by-row
problems (the CLI's), nothing changed by a rejected file, and role gating."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from webcheck import axe, screenshots

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
BAD = (
    "period,place_code,data_element,sex,age_band,population_group,value\n"
    "2024Q1,ug-busia-osbp,hiv_tests,f,15-24,host,12\n"
    "2024Q5,ug-busia-osbp,hiv_tests,f,15-24,host,12\n"
    "2024Q1,ug-busia-osbp,hiv_tests,q,15-24,host,-3\n"
)


def get(page: Any, path: str) -> Any:
    """GET ``path`` on the server with the page's session cookie (the API accepts it)."""
    return page.request.get(urljoin(page.url, path))


def counts(page: Any) -> dict[str, int]:
    return get(page, "/api/v1/status").json()["counts"]


def imports(page: Any) -> list[dict[str, Any]]:
    return get(page, "/api/v1/imports").json()["imports"]


def upload(page: Any, name: str, data: bytes, kind: str, button: str) -> None:
    page.set_input_files("#file", files=[{"name": name, "mimeType": "text/csv", "buffer": data}])
    page.get_by_label("Kind").select_option(kind)
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_selector("#upload-result")


def cli_problems(tmp_path: Path) -> str:
    """What ``corridor ingest`` prints about the same file (its problems, one a line)."""
    ws = tmp_path / "ws"
    cli = [sys.executable, "-c", "from corridor.cli.main import main; main()"]
    subprocess.run([*cli, "init", str(ws)], check=True, capture_output=True)
    places = [*cli, "-w", str(ws), "ingest", str(QUICKSTART / "places.csv"), "--kind", "places"]
    subprocess.run(places, check=True, capture_output=True)
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    out = subprocess.run(
        [*cli, "-w", str(ws), "ingest", str(bad), "--kind", "services"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2, out.stderr
    return out.stdout + out.stderr


def test_a_malformed_file_shows_its_row_problems_and_changes_nothing(
    open_page: Any, tmp_path: Path
) -> None:
    page, w = open_page("data_manager", "/data")
    before, before_imports = counts(page), imports(page)
    cli = cli_problems(tmp_path)
    for button in ("Dry run", "Import"):
        upload(page, "bad.csv", BAD.encode(), "services", button)
        result = page.inner_text("#upload-result")
        assert "was not imported" in result and "Nothing was changed" in result
        rows = page.eval_on_selector_all(
            "#problems tbody tr",
            "rs => rs.map(r => Array.from(r.cells).map(c => c.textContent.trim()))",
        )
        assert {r[0] for r in rows} == {"2", "3"}  # the two bad data rows, by number
        assert any(r[2] == "2024Q5" and r[1] == "period" for r in rows)
        assert any(r[2] == "-3" for r in rows)
        # the same problems as the CLI prints
        texts = page.eval_on_selector_all("#problems tbody tr", "rs => rs.map(r => r.title)")
        assert texts
        for t in texts:  # "bad.csv, row 3, column 'sex', value 'q': reason" as the CLI says it
            assert t.startswith("bad.csv, ") and t.split(", ", 1)[1] in cli
        assert counts(page) == before and imports(page) == before_imports
    w.assert_clean()


def test_dry_run_then_import(open_page: Any) -> None:
    """A valid file (Uganda rows already in the warehouse): the dry run writes nothing, the
    import records the file and finds every row unchanged."""
    lines = (QUICKSTART / "services.csv").read_text(encoding="utf-8").splitlines()
    good = (
        "\n".join([lines[0], *[x for x in lines[1:] if x.split(",")[1].startswith("ug-")][:20]])
        + "\n"
    )
    page, w = open_page("data_manager", "/data")
    before, n_imports = counts(page), len(imports(page))
    upload(page, "uganda.csv", good.encode(), "services", "Dry run")
    assert "Dry run of uganda.csv" in page.inner_text("#upload-result")
    assert "validated" in page.inner_text("#upload-result")
    assert len(imports(page)) == n_imports
    upload(page, "uganda.csv", good.encode(), "services", "Import")
    assert "Imported uganda.csv" in page.inner_text("#upload-result")
    assert counts(page) == before
    assert page.locator("#imports tbody tr").first.inner_text().split("\t")[1] == "uganda.csv"
    w.assert_clean()


def test_a_file_outside_the_account_countries_is_refused(open_page: Any) -> None:
    lines = (QUICKSTART / "services.csv").read_text(encoding="utf-8").splitlines()
    ke = [x.split(",") for x in lines[1:] if x.split(",")[1].startswith("ke-")][:5]
    # changed values (new rows for Kenya): a Uganda data manager may not write them
    kenya = "\n".join([lines[0], *[",".join([*r[:-1], str(int(r[-1]) + 1)]) for r in ke]]) + "\n"
    page, _w = open_page("data_manager", "/data")
    before = counts(page)
    upload(page, "kenya.csv", kenya.encode(), "services", "Import")
    assert "outside the countries" in page.inner_text("#upload-result")
    assert counts(page) == before


def test_role_gating(open_page: Any) -> None:
    for role, path in (("analyst", "/data"), ("analyst", "/admin"), ("data_manager", "/admin")):
        page, _w = open_page(role, path)
        assert page.locator("h1").inner_text() == "Not allowed", (role, path)
        nav = page.locator("nav[aria-label='Main']").inner_text()
        assert "Admin" not in nav
        if role == "analyst":
            assert "Data" not in nav.split()
    page, _w = open_page("data_manager", "/data")
    assert page.locator("h1").inner_text() == "Data"


def test_data_accessibility_and_screenshots(open_page: Any) -> None:
    page, w = open_page("data_manager", "/data")
    upload(page, "bad.csv", BAD.encode(), "services", "Dry run")
    assert axe(page) == []
    w.assert_clean()
    shots = screenshots(open_page, "/data", "data", "admin", ready="#imports")
    assert all(p.stat().st_size > 10_000 for p in shots)


def test_a_refusal_names_the_checkbox_not_the_cli_option(open_page: Any) -> None:
    """Intake's refusal says "use --quarantine" (the CLI's option); the page has a checkbox for
    it, and says so with the checkbox's own label."""
    page, w = open_page("data_manager", "/data")
    upload(page, "bad.csv", BAD.encode(), "services", "Dry run")
    message = page.inner_text("#upload-result p.error")
    assert "nothing was imported" in message
    assert "tick 'Quarantine bad rows' to import the valid rows" in message
    assert "--quarantine" not in message and "--" not in message
    label = page.locator("input[name=quarantine]").evaluate("i => i.labels[0].textContent")
    assert label.strip().startswith("Quarantine bad rows")  # the checkbox the message names
    w.assert_clean()


def test_intake_keeps_its_cli_wording_and_the_page_rewrites_only_that_phrase(
    tmp_path: Path,
) -> None:
    from corridor.errors import InputError
    from corridor.web.data_view import CLI_QUARANTINE, PAGE_QUARANTINE, page_message
    from corridor.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws")
    try:
        ws.ingest([QUICKSTART / "places.csv"], "places")
        bad = tmp_path / "bad.csv"
        bad.write_text(BAD, encoding="utf-8")
        with pytest.raises(InputError) as caught:
            ws.ingest([bad], "services", dry_run=True)
    finally:
        ws.close()
    cli = caught.value.summary
    assert cli is not None and CLI_QUARANTINE in cli  # the CLI still names its option
    page = page_message(cli)
    assert page == cli.replace("use --quarantine", "tick 'Quarantine bad rows'")
    assert PAGE_QUARANTINE in page and "--quarantine" not in page
    other = "GeoJSON holds places: import it with --kind places"
    assert page_message(other) == other  # nothing else is reworded


def test_a_wrong_format_or_kind_names_the_selects_not_the_cli_options(open_page: Any) -> None:
    """Intake's refusal of a file given the wrong format or kind names the CLI's options
    ("import it with --format csv", "use --kind flows"), which the API makes its fields; the
    page names its own selects, by their labels, with the value to choose."""
    page, w = open_page("data_manager", "/data")
    page.get_by_label("Format").select_option("adx")
    upload(page, "services.csv", BAD.encode(), "services", "Dry run")
    shown = page.inner_text("#upload-result")
    assert (
        "not XML: its first character that is not blank is 'p' (line 1, column 1), where XML "
        "starts with '<'; it looks like a tidy CSV file (delimited text): choose Format 'csv' "
        "(or Format 'auto', the default, which detects the format)"
    ) in shown
    assert page.inner_text("#problems td:nth-child(4)").startswith("not XML:")
    page.get_by_label("Format").select_option("dtm-fmr")
    upload(page, "flows.csv", b"t,fmp,movement,n\n2024-03,fmp-1,incoming,4\n", "places", "Dry run")
    shown = page.inner_text("#upload-result")
    assert "a DTM flow-monitoring registry holds flows: choose Kind 'flows'" in shown
    assert "--" not in shown and "format=" not in shown and "kind=" not in shown
    for name, value in (("Format", "csv"), ("Kind", "flows")):  # the selects, these values
        assert value in page.get_by_label(name).locator("option").all_inner_texts()
    w.assert_clean()


def test_the_page_names_the_selects_where_the_api_names_its_fields() -> None:
    from corridor.api.routes_data import api_message
    from corridor.web.data_view import page_message

    hint = "(or with --format auto, the default, which detects the format)"
    cli = [
        f"f.json: not CSV: ...; it looks like GeoJSON: import it with --format geojson {hint}",
        "f.csv: a DTM flow-monitoring registry holds flows: use --kind flows",
        "f.json: DHIS2 JSON holds data values: import it with --kind services",
        "f.json: JSON that is neither ...; name the format with --format",
    ]
    page = [page_message(api_message(m)) for m in cli]
    assert page == [
        "f.json: not CSV: ...; it looks like GeoJSON: choose Format 'geojson' (or Format 'auto', "
        "the default, which detects the format)",
        "f.csv: a DTM flow-monitoring registry holds flows: choose Kind 'flows'",
        "f.json: DHIS2 JSON holds data values: choose Kind 'services'",
        "f.json: JSON that is neither ...; choose the file's format under 'Format'",
    ]
    assert all("--" not in m and "=" not in m for m in page)
    # the API's fields, and only the CLI's choices of them
    assert api_message(cli[0]).endswith(
        "import it with format=geojson (or with format=auto, the default, which detects the format)"
    )
    other = "a value such as --format tsv or --kind people, or kind=people, is left alone"
    assert api_message(other) == other and page_message(other) == other
