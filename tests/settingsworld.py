"""A small workspace whose numbers move with the settings ``testing_min_age`` and
``completeness_threshold``: every site reports its population estimate by age band (many of its
people 15-24, so testing from 25 halves the ages offered testing), and one Kenyan site of six
reports HIV tests without their positive results (five of six places, 83%, report positivity:
complete at the default 80%, incomplete at 95%).

``build_workspace(folder, **settings)`` ingests it as a user would and writes the settings into
the workspace's corridor.toml; the outputs (CLI, API, dashboard, report) must all agree with
``corridor indicators`` and ``rank_sites`` under those settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from corridor.workspace import Workspace, init_workspace

#: the settings that every output must honour, set away from their defaults
SETTINGS = {"testing_min_age": 25, "completeness_threshold": 95}

PLACES = """place_code,name,place_type,parent_code,country_code,lat,lon,corridor,population
ken,Kenya,country,,ken,0.2,37.9,,
uga,Uganda,country,,uga,1.3,32.3,,
ke-west,Western,admin1,ken,ken,0.5,34.5,,
ug-east,Eastern,admin1,uga,uga,0.8,33.8,,
ke-malaba,Malaba KE,border_crossing,ke-west,ken,0.64,34.28,northern,30000
ke-busia,Busia KE,border_crossing,ke-west,ken,0.46,34.11,northern,50000
ke-nakuru,Nakuru,truck_stop,ke-west,ken,-0.30,36.07,northern,40000
ke-kisumu,Kisumu Beach,fishing_site,ke-west,ken,-0.10,34.75,,20000
ke-migori,Migori Mine,mine,ke-west,ken,-1.06,34.47,,8000
ke-kitale,Kitale Market,market,ke-west,ken,1.02,35.00,,25000
ug-malaba,Malaba UG,border_crossing,ug-east,uga,0.64,34.26,northern,20000
ug-tororo,Tororo,truck_stop,ug-east,uga,0.69,34.18,northern,35000
ug-busia,Busia UG,border_crossing,ug-east,uga,0.47,34.09,northern,15000
ug-mbale,Mbale Market,market,ug-east,uga,1.08,34.17,,45000
"""

SITES = (
    "ke-malaba",
    "ke-busia",
    "ke-nakuru",
    "ke-kisumu",
    "ke-migori",
    "ke-kitale",
    "ug-malaba",
    "ug-tororo",
    "ug-busia",
    "ug-mbale",
)
#: reports HIV tests but not their positive results: the place that makes Kenya's positivity
#: five places of six
SILENT = "ke-kitale"
QUARTERS = ("2024Q1", "2024Q2", "2024Q3", "2024Q4")
#: the share of each site's people in each age band; the young share differs by site, so that
#: testing from 25 moves the sites' testing rates by different factors (and their ranks)
BANDS = ("<15", "15-24", "25-34", "35-49", "50+")


def _age_shares(i: int) -> tuple[float, ...]:
    young = 0.15 + 0.05 * (i % 5)  # 15-24: 15% to 35%
    return (0.25, young, 0.2, 0.4 - young, 0.15)


def services_csv() -> str:
    lines = ["period,place_code,data_element,sex,age_band,population_group,value"]
    for i, site in enumerate(SITES):
        pop = 6000 + 1500 * i
        for q_i, q in enumerate(QUARTERS):
            tests = 300 + 70 * i + 11 * q_i + (250 if i % 3 == 0 else 0)
            pos = tests // (8 + 3 * (i % 4))
            lines.append(f"{q},{site},hiv_tests,,,,{tests}")
            if site != SILENT:  # positives, and their recency tests (calibrating the model)
                lines += [
                    f"{q},{site},hiv_positive,,,,{pos}",
                    f"{q},{site},art_initiated,,,,{max(pos - 4, 0)}",
                    f"{q},{site},hiv_recency_tested,,,,{pos}",
                    f"{q},{site},hiv_recent,,,,{max(pos // (6 + i % 5), 1)}",
                ]
        plhiv = 400 + 60 * i
        lines += [
            f"2024,{site},plhiv_estimated,,,,{plhiv}",
            f"2024,{site},plhiv_diagnosed,,,,{plhiv - 80 - 5 * i}",
            f"2024,{site},art_current,,,,{plhiv - 120 - 5 * i}",
            f"2024,{site},vl_tested,,,,{plhiv - 180}",
            f"2024,{site},vl_suppressed,,,,{plhiv - 220}",
        ]
        shares = _age_shares(i)
        for band, share in zip(BANDS, shares, strict=True):
            lines.append(f"2024,{site},pop_estimated,,{band},,{round(pop * share)}")
    return "\n".join(lines) + "\n"


FLOWS = """period_start,period_end,observation_code,direction,origin_code,destination_code,count
2024-01-01,2024-12-31,ke-malaba,transit,ke-nakuru,ug-tororo,5400
2024-01-01,2024-12-31,ke-busia,incoming,ug-busia,ke-kisumu,2300
2024-01-01,2024-12-31,ug-malaba,transit,ke-malaba,ug-tororo,800
"""


def write_sources(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {"places": PLACES, "services": services_csv(), "flows": FLOWS}
    out = {}
    for kind, text in files.items():
        out[kind] = folder / f"{kind}.csv"
        out[kind].write_text(text, encoding="utf-8")
    return out


def write_settings(folder: Path, settings: dict[str, Any]) -> None:
    """``settings`` as the [settings] of the workspace's corridor.toml (replacing the file)."""
    lines = ["[settings]", *(f"{k} = {v!r}" for k, v in settings.items())]
    (folder / "corridor.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def build_workspace(folder: Path, sources: Path, settings: dict[str, Any] | None = None) -> Path:
    """The world ingested into a new workspace at ``folder`` (sources written to ``sources``),
    with ``settings`` (default :data:`SETTINGS`) in its corridor.toml. Closed: open it again."""
    files = write_sources(sources)
    ws: Workspace = init_workspace(folder)
    try:
        for kind in ("places", "services", "flows"):
            ws.ingest([files[kind]], kind)
    finally:
        ws.close()
    write_settings(folder, SETTINGS if settings is None else settings)
    return folder


def cli_json(capsys: Any, folder: Path, *args: str) -> Any:
    """``corridor -w FOLDER ARGS --format json`` as a user runs it: its JSON document."""
    import json

    from clihelp import run

    r = run(capsys, "-w", str(folder), *args, "--format", "json")
    assert r.code == 0, r.err
    return json.loads(r.out)


def cli_ranking(capsys: Any, folder: Path, draws: int = 0) -> list[tuple[str, float]]:
    """``corridor hotspots``' sites in rank order, each with its new infections per 1,000."""
    doc = cli_json(capsys, folder, "hotspots", "--draws", str(draws))
    return [(s["place_code"], float(s["new_infections_per_1000"])) for s in doc["sites"]]


#: what the cascade and the API are compared on: ``corridor indicators`` with these options
INDICATOR_ARGS = (
    "indicators",
    "--indicator",
    "positivity,testing_coverage",
    "--by",
    "country,population_group",
    "--period",
    "2024",
)


def cli_indicators(capsys: Any, folder: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """``corridor indicators`` (:data:`INDICATOR_ARGS`): the published rows by (indicator,
    country), of all population groups together."""
    rows = cli_json(capsys, folder, *INDICATOR_ARGS)["rows"]
    return {(r["indicator"], r["country"]): r for r in rows if r["population_group"] == "total"}


#: the account that reads every output (password ``hubdata.PASSWORD``)
ADMIN = "settings-admin"


def add_admin(folder: Path) -> str:
    """:data:`ADMIN` in the workspace at ``folder``: its API token."""
    from corridor.access import add_user, create_token
    from corridor.workspace import open_workspace
    from hubdata import PASSWORD

    ws = open_workspace(folder)
    try:
        add_user(ws.engine, ADMIN, "admin", PASSWORD)
        token, _ = create_token(ws.engine, ADMIN)
    finally:
        ws.close()
    return token


def ranking_at(folder: Path, testing_min_age: int) -> list[str]:
    """``rank_sites``' sites in rank order with adults from ``testing_min_age`` (0 draws)."""
    from corridor.hotspots import rank_sites
    from corridor.workspace import open_workspace

    ws = open_workspace(folder)
    try:
        result = rank_sites(ws.engine, draws=0, testing_min_age=testing_min_age)
        return [str(c) for c in result.table.column("place_code").to_pylist()]
    finally:
        ws.close()
