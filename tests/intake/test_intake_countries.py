"""A place's ``country_code`` is an ISO 3166-1 alpha-3 code (or XKX, Kosovo), as the data contract
says, not merely three letters: ``KNE`` for Kenya is refused naming file, row, column, value and
the reason with the nearest codes, in every places format (tidy CSV, HXL, GeoJSON), exit 2,
nothing imported; ``--quarantine`` keeps the row with that reason. A warehouse whose places
already have another code (imported before the check: a withdrawn ``SCG``) may import it again.
The reason is worked out once per distinct value, not per row. On DuckDB and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pytest
from helpers import write

from clihelp import run
from corridor.errors import InputError
from corridor.intake import validate as validate_module
from corridor.intake.importer import ingest
from corridor.storage.engine import Engine

REASON = "not an ISO 3166-1 alpha-3 country code"
KNE = f"{REASON} (did you mean KEN for Kenya, KNA for Saint Kitts and Nevis or MNE for Montenegro?)"
HEADER = "place_code,name,place_type,parent_code,country_code\n"


def _count(engine: Engine, table: str) -> int:
    return int(engine.scalar(f"SELECT COUNT(*) FROM {table}"))


def _problems(info: pytest.ExceptionInfo[InputError]) -> list[tuple[int | None, str, str, str]]:
    return [(p.row, p.column or "", p.value or "", p.reason) for p in info.value.problems]


def test_a_made_up_country_code_is_refused_with_the_nearest_codes(
    engine: Engine, tmp_path: Path
) -> None:
    text = HEADER + (
        "ken,Kenya,country,,KNE\n"
        "ke-a,A,truck_stop,ken,kenya\n"
        "ke-b,B,truck_stop,ken,zzz\n"
        "ke-c,C,truck_stop,ken,SCG\n"
        "ke-d,D,truck_stop,ken,ke\n"
        "ke-e,E,truck_stop,ken,KEN\n"
        "xk,Kosovo,country,,XKX\n"
    )
    with pytest.raises(InputError) as info:
        ingest(engine, [write(tmp_path, "p.csv", text)], "places")
    assert _problems(info) == [
        (1, "country_code", "kne", KNE),
        (2, "country_code", "kenya", f"{REASON} (did you mean KEN for Kenya?)"),
        (3, "country_code", "zzz", REASON),
        (4, "country_code", "scg", f"{REASON} (withdrawn in 2006: Serbia and Montenegro)"),
        (5, "country_code", "ke", f"{REASON} (did you mean KEN for Kenya?)"),
    ]
    assert "p.csv, row 1, column 'country_code', value 'kne': " + KNE in str(info.value)
    assert _count(engine, "places") == 0 and _count(engine, "imports") == 0


def test_iso_codes_in_any_case_and_kosovo_are_imported(engine: Engine, tmp_path: Path) -> None:
    text = HEADER + "ken,Kenya,country,,Ken\nxk,Kosovo,country,,xkx\nrs,Serbia,country,,SRB\n"
    ingest(engine, [write(tmp_path, "p.csv", text)], "places")
    rows = engine.query_rows("SELECT place_code, country_code FROM places ORDER BY place_code")
    assert [tuple(r) for r in rows] == [("ken", "ken"), ("rs", "srb"), ("xk", "xkx")]


def test_quarantine_keeps_the_row_with_its_reason(engine: Engine, tmp_path: Path) -> None:
    text = HEADER + "ken,Kenya,country,,ken\nke-a,A,truck_stop,ken,KNE\n"
    [r] = ingest(engine, [write(tmp_path, "p.csv", text)], "places", quarantine=True)
    assert (r.rows_new, r.rows_quarantined) == (1, 1)
    rows = engine.query_rows("SELECT row_number, column_name, value, reason FROM quarantine")
    assert [tuple(x) for x in rows] == [(2, "country_code", "kne", KNE)]


def test_hxl_and_geojson_places_are_checked_alike(engine: Engine, tmp_path: Path) -> None:
    hxl = (
        "place_code,name,place_type,parent_code,country_code\n"
        "#loc+code,#loc+name,#loc+type,#loc+code+parent,#country+code\n"
        "ken,Kenya,country,,UGX\n"
    )
    geo = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [32.3, 1.3]},
                "properties": {
                    "place_code": "uga",
                    "name": "Uganda",
                    "place_type": "country",
                    "country_code": "UGX",
                },
            }
        ],
    }
    ugx = f"{REASON} (did you mean UGA for Uganda?)"
    for name, body in (("p-hxl.csv", hxl), ("p.geojson", json.dumps(geo))):
        with pytest.raises(InputError) as info:
            ingest(engine, [write(tmp_path, name, body)], "places")
        assert _problems(info) == [(1, "country_code", "ugx", ugx)], name
    assert _count(engine, "places") == 0


def _legacy_place(engine: Engine) -> None:
    """A place of country SCG, as an import before the check could write it."""
    engine.insert_arrow(
        "places",
        pa.table(
            {
                "place_code": ["rs-old"],
                "name": ["Old"],
                "place_type": ["country"],
                "parent_code": [""],
                "country_code": ["scg"],
                "lat": pa.array([None], pa.float64()),
                "lon": pa.array([None], pa.float64()),
                "corridor": [""],
                "population": pa.array([None], pa.int64()),
                "dhis2_uid": [""],
                "fmp_code": [""],
                "import_id": pa.array([0], pa.int64()),
            }
        ),
    )


def test_a_code_the_warehouse_s_places_have_imports_again(engine: Engine, tmp_path: Path) -> None:
    _legacy_place(engine)
    text = HEADER + "rs-old,Old,country,,SCG\nrs-site,Site,market,rs-old,scg\n"
    [r] = ingest(engine, [write(tmp_path, "p.csv", text)], "places")
    assert r.rows_new == 1 and r.rows_replaced + r.rows_unchanged == 1
    # and it comes first among the suggestions for a typo
    with pytest.raises(InputError) as info:
        ingest(engine, [write(tmp_path, "q.csv", HEADER + "x,X,market,rs-old,sgc\n")], "places")
    [(_, _, _, reason)] = _problems(info)
    assert reason.startswith(f"{REASON} (did you mean SCG, SGP for Singapore"), reason


def test_the_reason_is_worked_out_once_per_distinct_value(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = validate_module.country_reason

    def counted(code: str, used: Iterable[str] = ()) -> str:
        calls.append(code)
        return real(code, used)

    monkeypatch.setattr(validate_module, "country_reason", counted)
    lines = [f"p{i},P{i},market,ken,{('KNE', 'ken', 'zzz')[i % 3]}" for i in range(3000)]
    text = HEADER + "ken,Kenya,country,,ken\n" + "\n".join(lines) + "\n"
    with pytest.raises(InputError) as info:
        ingest(engine, [write(tmp_path, "p.csv", text)], "places")
    assert len(info.value.problems) == 2000
    assert sorted(calls) == ["kne", "zzz"]


def test_the_cli_exits_2_and_names_the_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(tmp_path / "ws")
    assert run(capsys, "init", ws)[0] == 0
    path = write(tmp_path, "places.csv", HEADER + "ken,Kenya,country,,KNE\n")
    code, _out, err = run(capsys, "-w", ws, "ingest", path, "--kind", "places")
    assert code == 2
    said = " ".join(err.split())  # rich wraps lines
    assert "row 1, column 'country_code', value 'kne': " + KNE in said
    assert "nothing was imported" in said
