"""The spaces page's rows without a browser: re-ranked with the multipliers, filtered and sorted
(filters and sorting never change a rank)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from corridor.errors import QueryError
from corridor.hotspots import HotspotResult, rank_sites
from corridor.hotspots.reweigh import reweigh
from corridor.web.ranking_view import form_from, ranking_view
from corridor.workspace import init_workspace

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HotspotResult]:
    ws = init_workspace(tmp_path_factory.mktemp("rank") / "ws")
    try:
        for kind in ("places", "services", "flows"):
            ws.ingest([QUICKSTART / f"{kind}.csv"], kind, quarantine=kind == "flows")
        yield rank_sites(ws.engine, draws=20)
    finally:
        ws.close()


def test_rows_follow_the_reweighed_ranking(result: HotspotResult) -> None:
    plain = ranking_view(result, 10, form_from({}))
    assert not plain.moved and [r["place_code"] for r in plain.rows] == result.place_codes
    assert all(r["change"] == 0 for r in plain.rows)
    form = form_from({"m_mobility": "3", "m_burden": "0.3"})
    view = ranking_view(result, 10, form)
    again = reweigh(result, {"mobility": 3, "burden": 0.3})
    assert view.moved and [r["place_code"] for r in view.rows] == again.place_codes
    assert [r["rank"] for r in view.rows] == again.rank.tolist()
    assert any(r["change"] != 0 for r in view.rows)
    assert {r["place_code"] for r in view.rows if r["in_top"]} == set(again.place_codes[:10])


def test_filters_and_sorting_only_change_what_is_shown(result: HotspotResult) -> None:
    ranks = {r["place_code"]: r["rank"] for r in ranking_view(result, 10, form_from({})).rows}
    view = ranking_view(
        result, 10, form_from({"show_country": "UGA", "sort": "name", "dir": "desc"})
    )
    assert view.rows and {r["country_code"] for r in view.rows} == {"uga"}
    names = [r["name"] for r in view.rows]
    assert names == sorted(names, reverse=True)
    assert all(ranks[r["place_code"]] == r["rank"] for r in view.rows)
    found = ranking_view(result, 10, form_from({"q": "BUSIA"})).rows
    assert found and all("busia" in (r["name"] + r["place_code"]).lower() for r in found)
    by_estimate = ranking_view(result, 10, form_from({"sort": "estimate", "dir": "desc"})).rows
    values = [r["per_1000"] for r in by_estimate if r["per_1000"] is not None]
    assert values == sorted(values, reverse=True)


def test_bad_form_values_are_user_errors(result: HotspotResult) -> None:
    with pytest.raises(QueryError, match="unknown sort column"):
        form_from({"sort": "secret"})
    with pytest.raises(QueryError, match="between 0 and 3"):
        ranking_view(result, 10, form_from({"m_bridging": "-1"}))


def test_the_page_publishes_with_the_workspaces_disclosure_settings(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """/spaces flags what the API's GET /hotspots flags under the workspace's corridor.toml
    (here the suppression method), not what the default settings would."""
    import re

    from fastapi.testclient import TestClient
    from webserve import ACCOUNTS, PASSWORD, build_workspace

    from corridor.api.app import create_app

    folder = build_workspace(tmp_path_factory.mktemp("suppressed") / "ws")
    toml = folder / "corridor.toml"
    text = toml.read_text(encoding="utf-8")
    assert '# disclosure_method = "cellkey"' in text
    toml.write_text(
        text.replace('# disclosure_method = "cellkey"', 'disclosure_method = "suppression"'),
        encoding="utf-8",
    )
    with TestClient(create_app(folder), base_url="http://127.0.0.1") as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        client.post(
            "/login",
            data={"username": ACCOUNTS["admin"][0], "password": PASSWORD, "csrf": token[1]},
        )
        api = {
            s["place_code"]: s["flags"] or ""
            for s in client.get("/api/v1/hotspots").json()["sites"]
        }
        page = client.get("/spaces")
        assert page.status_code == 200
        shown = dict(
            re.findall(r'data-code="([^"]+)".*?<td class="flags">([^<]*)</td>', page.text, re.S)
        )
    assert any("suppressed" in f for f in api.values())  # the quick-start data has some
    assert shown == {
        code: flags.replace(";", ", ").replace("_", " ") for code, flags in api.items()
    }
