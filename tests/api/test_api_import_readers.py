"""Readers while imports land (docs/api.md, "Imports and readers"): until an import's response
returns, readers are answered from the previous complete version; once it has returned, from
answers the import computed for its new data, equal to a computation from scratch. Never half
an import, never a stale answer after the response."""

from __future__ import annotations

import json
import threading
from typing import Any

from corridor.access.accounts import account_for_token
from corridor.access.reads import IndicatorQuery, read_indicators
from corridor.access.versions import data_version
from corridor.indicators.export import export
from hubdata import auth

HEADER = "period,place_code,data_element,sex,age_band,population_group,value\n"
QUERY = "/api/v1/indicators?indicator=positivity&by=country&period=2024"
FIELDS = ("indicator", "place_code", "numerator", "denominator", "value")


def _file(tests: int) -> bytes:
    rows = [
        f"2024-0{m},ke-busia,{e},total,total,total,{v}\n"
        for m in (1, 2, 3)
        for e, v in (("hiv_tests", tests + m), ("hiv_positive", tests // 10 + m))
    ]
    return (HEADER + "".join(rows)).encode()


def _post(hub: Any, content: bytes) -> Any:
    return hub.client.post(
        "/api/v1/imports",
        headers=auth(hub.tokens["admin1"]),
        files={"file": ("clinic.csv", content, "text/csv")},
        data={"kind": "services"},
    )


def _rows(body: bytes) -> str:
    return json.dumps([[r[f] for f in FIELDS] for r in json.loads(body)["rows"]])


def _from_scratch(hub: Any) -> str:
    """The same query computed and published in-process, without the cache."""
    served = hub.client.app.state.hub
    with served.pool.engine() as eng:
        account = account_for_token(eng, hub.tokens["admin1"])
        q = IndicatorQuery(("positivity",), ("country",), "2024")
        table = read_indicators(eng, account, served.settings, q, channel="test")
    return _rows(export(table, "json", query=q.as_dict()).encode())


def test_readers_switch_to_an_import_when_its_response_returns(fresh_hub_both: Any) -> None:
    hub = fresh_hub_both
    who = auth(hub.tokens["admin1"])
    served = hub.client.app.state.hub

    def count() -> int:
        return int(hub.client.get("/api/v1/status", headers=who).json()["counts"]["services"])

    answers = [_rows(hub.client.get(QUERY, headers=who).content)]
    counts = [count()]
    seen: list[tuple[int, str]] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            r = hub.client.get(QUERY, headers=who)
            seen.append((count(), _rows(r.content) if r.status_code == 200 else r.text))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for tests in (500, 900):  # the first adds six rows, the second replaces them
            r = _post(hub, _file(tests))
            assert r.status_code == 201, r.text
            # the import warmed the answer for the version readers now see...
            with served.pool.engine() as eng:
                version = data_version(eng)
            warmed = [k for k in served.answers.cached_keys() if k[-1] == version]
            assert any(k[0] == "status" for k in warmed)
            assert any(k[1:5] == (("positivity",), ("country",), "2024", True) for k in warmed)
            # ...and it is the import's answer: what a computation from scratch gives
            answer = _rows(hub.client.get(QUERY, headers=who).content)
            assert answer == _from_scratch(hub) and answer != answers[-1]
            answers.append(answer)
            counts.append(count())
    finally:
        stop.set()
        reader.join()
    assert counts[1] == counts[0] + 6 and counts[2] == counts[1]
    assert seen, "the reader read nothing"
    # every answer a reader got was one complete version: before, after one, after both
    assert {a for _, a in seen} <= set(answers)
    assert {c for c, _ in seen} <= set(counts)
