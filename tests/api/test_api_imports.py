"""POST /imports: the CLI's validation and atomicity; scope; size limit; readers never see an
import half-done; every read and write is in the audit trail."""

from __future__ import annotations

import threading
from typing import Any

from hubdata import auth

HEADER = "period,place_code,data_element,sex,age_band,population_group,value\n"


GROUPS = (
    "migrant",
    "host",
    "mobile_worker",
    "truck_driver",
    "sex_worker",
    "fisherfolk",
    "miner",
    "cross_border_trader",
    "seasonal_worker",
    "refugee",
)


def _csv(site: str, n: int, bad_row: int | None = None) -> bytes:
    """``n`` rows with distinct keys (month x sex x group); one bad sex at ``bad_row``."""
    lines = [HEADER]
    for i in range(n):
        month, rest = i % 180, i // 180
        year, mon = 2015 + month // 12, 1 + month % 12
        sex = "q" if i == bad_row else ("f", "m")[rest % 2]
        group = GROUPS[(rest // 2) % len(GROUPS)]
        lines.append(f"{year}-{mon:02d},{site},hiv_tests,{sex},15-24,{group},{10 + i}\n")
    return "".join(lines).encode()


def _post(hub: Any, who: str, content: bytes, **data: str) -> Any:
    return hub.client.post(
        "/api/v1/imports",
        headers=auth(hub.tokens[who]),
        files={"file": ("clinic.csv", content, "text/csv")},
        data={"kind": "services", **data},
    )


def _count(hub: Any) -> int:
    status = hub.client.get("/api/v1/status", headers=auth(hub.tokens["admin1"])).json()
    return int(status["counts"]["services"])


def test_a_rejected_file_is_422_with_its_problems_and_changes_nothing(fresh_hub_both: Any) -> None:
    before = _count(fresh_hub_both)
    r = _post(fresh_hub_both, "dm-uga", _csv("ug-busia", 5, bad_row=3))
    assert r.status_code == 422
    doc = r.json()
    # the way out is named as this route takes it, not as the CLI's option
    assert "use quarantine=true" in r.text and "--quarantine" not in r.text
    assert doc["problems"] == [
        {
            "file": "clinic.csv",
            "row": 4,
            "column": "sex",
            "value": "q",
            "reason": doc["problems"][0]["reason"],
        }
    ]
    assert _count(fresh_hub_both) == before
    ok = _post(fresh_hub_both, "dm-uga", _csv("ug-busia", 5))
    assert ok.status_code == 201, ok.text
    assert ok.json()["imports"][0]["rows_new"] == 5
    assert _count(fresh_hub_both) == before + 5
    # the import is listed for its data manager, with the account as its user
    mine = fresh_hub_both.client.get(
        "/api/v1/imports", headers=auth(fresh_hub_both.tokens["dm-uga"])
    )
    assert [i["user_name"] for i in mine.json()["imports"]] == ["dm-uga"]


def test_quarantine_imports_the_valid_rows_and_shows_the_rest(fresh_hub: Any) -> None:
    r = _post(fresh_hub, "dm-uga", _csv("ug-busia", 5, bad_row=1), quarantine="true")
    assert r.status_code == 201 and r.json()["imports"][0]["rows_quarantined"] == 1
    q = fresh_hub.client.get(
        "/api/v1/quarantine?format=csv", headers=auth(fresh_hub.tokens["dm-uga"])
    )
    assert q.headers["content-type"].startswith("text/csv")
    assert q.text.count("\n") == 2 and "sex" in q.text


def test_rows_outside_the_account_countries_import_nothing(fresh_hub: Any) -> None:
    before = _count(fresh_hub)
    r = _post(fresh_hub, "dm-uga", _csv("ke-busia", 3))
    assert r.status_code == 403 and "KEN" in r.json()["detail"]
    assert _count(fresh_hub) == before
    dry = _post(fresh_hub, "dm-uga", _csv("ug-busia", 3), dry_run="true")
    assert dry.status_code == 201 and dry.json()["dry_run"] is True
    assert dry.json()["imports"][0]["status"] == "validated"
    assert dry.json()["imports"][0]["import_id"] is None
    assert _count(fresh_hub) == before


def test_a_dry_run_gets_the_same_scope_check_as_an_import(fresh_hub_both: Any) -> None:
    """A data manager for Uganda dry-running a file with Kenyan rows is refused like the real
    import, naming the rows outside the scope; nothing changes either way."""
    hub = fresh_hub_both
    before = _count(hub)
    admin = auth(hub.tokens["admin1"])
    imports_before = hub.client.get("/api/v1/imports", headers=admin).json()["imports"]
    mixed = _csv("ug-busia", 2) + _csv("ke-busia", 3).split(b"\n", 1)[1]
    for dry_run in ("true", "false"):
        r = _post(hub, "dm-uga", mixed, dry_run=dry_run)
        assert r.status_code == 403, r.text
        detail = r.json()["detail"]
        assert "ke-busia (KEN): 3 rows" in detail and "ug-busia" not in detail
        assert ("(dry run)" in detail) == (dry_run == "true")
    assert _count(hub) == before
    assert hub.client.get("/api/v1/imports", headers=admin).json()["imports"] == imports_before
    # an admin's dry run of the same file is validated, and still changes nothing
    ok = hub.client.post(
        "/api/v1/imports",
        headers=admin,
        files={"file": ("clinic.csv", mixed, "text/csv")},
        data={"kind": "services", "dry_run": "true"},
    )
    assert ok.status_code == 201 and ok.json()["imports"][0]["rows_valid"] == 5
    assert _count(hub) == before


def test_rows_already_stored_count_for_the_scope_check(fresh_hub_both: Any) -> None:
    """Another country's rows are refused even when they equal what is stored (an upload that
    came back "0 new rows" would tell a data manager the stored values)."""
    hub = fresh_hub_both
    admin = auth(hub.tokens["admin1"])
    kenyan = _csv("ke-busia", 4)
    stored = hub.client.post(
        "/api/v1/imports",
        headers=admin,
        files={"file": ("clinic.csv", kenyan, "text/csv")},
        data={"kind": "services"},
    )
    assert stored.status_code == 201, stored.text
    before = _count(hub)
    imports_before = hub.client.get("/api/v1/imports", headers=admin).json()["imports"]
    header, *rows = kenyan.decode().splitlines(keepends=True)
    same_rows = (header + "".join(reversed(rows))).encode()  # another file, the same rows
    for dry_run in ("true", "false"):
        r = _post(hub, "dm-uga", same_rows, dry_run=dry_run)
        assert r.status_code == 403, r.text
        assert "ke-busia (KEN): 4 rows" in r.json()["detail"]
    assert _count(hub) == before
    assert hub.client.get("/api/v1/imports", headers=admin).json()["imports"] == imports_before


def test_an_upload_over_the_limit_is_refused_before_it_is_read(fresh_hub: Any) -> None:
    limit = fresh_hub.client.app.state.hub.max_upload
    r = _post(fresh_hub, "dm-uga", b"x" * (limit + 10))
    assert r.status_code == 413 and "api_max_upload_mb" in r.json()["detail"]


def test_readers_never_see_an_import_half_done(fresh_hub_both: Any) -> None:
    before = _count(fresh_hub_both)
    n = 3000
    seen: list[int] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append(_count(fresh_hub_both))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        r = _post(fresh_hub_both, "admin1", _csv("ke-busia", n))
    finally:
        done.set()
        reader.join()
    assert r.status_code == 201, r.text
    seen.append(_count(fresh_hub_both))
    assert set(seen) <= {before, before + n} and seen[-1] == before + n


def test_reads_and_writes_are_audited_and_the_chain_verifies(fresh_hub: Any) -> None:
    from corridor.access import audit_verify

    fresh_hub.client.get(
        "/api/v1/indicators?indicator=positivity&by=sex&unsuppressed=true",
        headers=auth(fresh_hub.tokens["an-grant"]),
    )
    _post(fresh_hub, "dm-uga", _csv("ug-busia", 2))
    entries = fresh_hub.client.get(
        "/api/v1/audit?limit=50", headers=auth(fresh_hub.tokens["admin1"])
    ).json()["entries"]
    unsuppressed = [e for e in entries if e["user"] == "an-grant"]
    assert unsuppressed[0]["action"] == "api.read_indicators"
    assert unsuppressed[0]["suppressed"] is False and unsuppressed[0]["cells"] > 0
    assert unsuppressed[0]["parameters"]["by"] == ["sex"]
    assert any(e["action"] == "api.import" and e["user"] == "dm-uga" for e in entries)
    with fresh_hub.client.app.state.hub.pool.engine() as eng:
        assert audit_verify(eng).ok


def test_an_import_is_seen_by_the_next_indicator_query(fresh_hub_both: Any) -> None:
    """The answer cache is invalidated by an import; the import computes the answers readers
    used most for its new data (warms the cache) before it answers, so the next reader finds
    the new answer instead of computing it."""
    from corridor.access.versions import data_version

    hub = fresh_hub_both
    q = "/api/v1/indicators?indicator=positivity&period=2025&unsuppressed=false"
    who = auth(hub.tokens["admin1"])
    before = hub.client.get(q, headers=who).json()["rows"]
    again = hub.client.get(q, headers=who).json()["rows"]
    assert before == again
    lines = [HEADER] + [
        f"2025-0{m},ug-busia,{e},total,total,total,{v}\n"
        for m in (1, 2)
        for e, v in (("hiv_tests", 400), ("hiv_positive", 40))
    ]
    assert _post(hub, "admin1", "".join(lines).encode()).status_code == 201
    answers = hub.client.app.state.hub.answers
    with hub.client.app.state.hub.pool.engine() as eng:
        version = data_version(eng)
    assert any(k[-1] == version for k in answers.cached_keys())  # warmed for the new data
    after = hub.client.get(q, headers=who).json()["rows"]
    # published through the cell-key method: 800 tests come out within the maximum noise (4)
    assert after != before and any(abs(r["denominator"] - 800) <= 4 for r in after)
    # an import that changes nothing keeps the cached answers
    kept = answers.cached_keys()
    assert _post(hub, "admin1", "".join(lines).encode()).status_code == 201
    with hub.client.app.state.hub.pool.engine() as eng:
        assert data_version(eng) == version
    assert set(kept) <= set(answers.cached_keys())


def test_a_wrong_format_or_kind_names_the_form_fields_not_the_cli_options(
    fresh_hub: Any,
) -> None:
    """Intake's refusal of a file given the wrong format or kind names the CLI's options
    ("import it with --format csv", "import it with --kind places"); here they are the form's
    fields."""
    before = _count(fresh_hub)
    hint = "(or with format=auto, the default, which detects the format)"
    geojson = b'{"type": "FeatureCollection", "features": []}\n'
    cases = [
        (
            _csv("ug-busia", 2),
            {"format": "adx"},
            "not XML: its first character that is not blank is 'p' (line 1, column 1), where "
            "XML starts with '<'; it looks like a tidy CSV file (delimited text): import it "
            f"with format=csv {hint}",
        ),
        (
            geojson,
            {"format": "dhis2-csv"},
            "not CSV: its first character that is not blank is '{' (line 1, column 1), where a "
            "CSV file starts with its header (or its first row), not with '{', '[' or '<'; it "
            f"looks like GeoJSON: import it with format=geojson {hint}",
        ),
        (geojson, {"format": "geojson"}, "GeoJSON holds places: import it with kind=places"),
        (
            b"t,fmp,movement,n\n2024-03,fmp-1,incoming,4\n",
            {"format": "dtm-fmr"},
            "a DTM flow-monitoring registry holds flows: use kind=flows",
        ),
        (
            b'{"rows": []}\n',
            {},
            "JSON that is neither a DHIS2 dataValueSet (dataValues) nor GeoJSON "
            "(FeatureCollection); name the format with the field format",
        ),
    ]
    for content, data, reason in cases:
        r = _post(fresh_hub, "dm-uga", content, **data)
        assert r.status_code == 422, r.text
        [p] = r.json()["problems"]
        assert (p["file"], p["row"], p["column"], p["reason"]) == ("clinic.csv", None, None, reason)
        assert "--format" not in r.text and "--kind" not in r.text and "--" not in r.text
    assert _count(fresh_hub) == before
