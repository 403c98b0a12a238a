"""Cached answers served on the event loop (corridor.api.fastlane): the same status, headers,
body and audit entry as the route, an audit entry committed before the answer, and the route
whenever memory is not enough to decide."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from corridor.access.accounts import revoke_token
from corridor.access.audit import AuditWriter, append, entries, new_entry, verify
from corridor.storage.engine import connect
from hubdata import auth

ANALYST = "an-keug"
QUERIES = (
    ("/api/v1/indicators?indicator=positivity&by=country,sex&period=2024", {}),
    ("/api/v1/indicators?indicator=cascade&by=population_group&totals=false", {}),
    ("/api/v1/indicators?indicator=positivity&by=country&country=UGA", {}),
    ("/api/v1/indicators?indicator=positivity&by=place", {"accept": "text/csv"}),
    ("/api/v1/indicators?indicator=positivity&format=csv&period=2024Q2", {}),
    ("/api/v1/places", {}),
    ("/api/v1/places?format=csv", {}),
    ("/api/v1/status", {}),
    ("/api/v1/hotspots/ug-malaba?draws=0", {}),
    ("/api/v1/hotspots/UG-MALABA?draws=3&seed=7", {}),
)
VARYING = {"x-request-id", "date"}


def _headers(r: Any) -> list[tuple[str, str]]:
    return [(k, v) for k, v in r.headers.multi_items() if k not in VARYING]


def _last_entry(hub: Any) -> dict[str, Any]:
    with hub.client.app.state.hub.pool.engine() as eng:
        found = entries(eng, limit=1)[0]
    return {k: found[k] for k in ("user", "action", "parameters", "cells", "suppressed")}


@pytest.fixture
def served(duck_hub: Any) -> Iterator[Any]:
    """The module's hub (reads only), with the fast lane on again after each test."""
    yield duck_hub
    duck_hub.client.app.state.hub.fast_lane = True


@pytest.mark.parametrize(("path", "extra"), QUERIES)
def test_a_cached_answer_is_the_routes_answer_byte_for_byte(
    served: Any, path: str, extra: dict[str, str]
) -> None:
    hub, state = served, served.client.app.state.hub
    who = {**auth(hub.tokens[ANALYST]), **extra}
    state.fast_lane = False
    first = hub.client.get(path, headers=who)  # the route computes and caches it
    assert first.status_code == 200, first.text
    by_route = hub.client.get(path, headers=who)  # the route, from the cache
    route_entry = _last_entry(hub)
    state.fast_lane = True
    hub.client.get(path, headers=who)  # the route makes the text once more if needed
    for _ in range(5):  # on a slow machine a token or version renewal may still be under way
        before = state.fast_answers
        fast = hub.client.get(path, headers=who)
        if state.fast_answers == before + 1:
            break
    assert state.fast_answers == before + 1, "the fast lane did not answer"
    assert fast.status_code == by_route.status_code == 200
    assert fast.content == by_route.content
    assert _headers(fast) == _headers(by_route)
    assert fast.headers["x-request-id"] != by_route.headers["x-request-id"]
    assert _last_entry(hub) == route_entry  # the same audit entry, committed before the answer


@pytest.mark.parametrize(
    ("path", "who"),
    [
        ("/api/v1/indicators?indicator=positivity&by=country&country=TZA", ANALYST),  # 403
        ("/api/v1/indicators?indicator=positivity&place=ug-busia", ANALYST),  # place check
        ("/api/v1/indicators?indicator=positivity&unsuppressed=true", ANALYST),  # 403
        ("/api/v1/indicators?indicator=positivity&unsuppressed=true", "an-grant"),  # granted
        ("/api/v1/indicators?indicator=nonsense", ANALYST),  # 400
        ("/api/v1/indicators?indicator=positivity&totals=maybe", ANALYST),  # 422
        ("/api/v1/indicators?indicator=positivity&format=xml", ANALYST),  # 422
        ("/api/v1/indicators?indicator=positivity&indicator=cascade", ANALYST),  # repeated
        ("/api/v1/indicators?indicator=positivity&by=country,sex&period=2024", "partner1"),
        ("/api/v1/status", "dm-uga"),  # shows imports: read every time
        ("/api/v1/hotspots/tz-namanga?draws=0", ANALYST),  # outside the scope: 403
        ("/api/v1/hotspots/nowhere?draws=0", ANALYST),  # 404 (or the scope's 403)
        ("/api/v1/hotspots/ug-malaba?draws=-1", ANALYST),  # 422
    ],
)
def test_what_needs_the_route_gets_the_route(served: Any, path: str, who: str) -> None:
    hub, state = served, served.client.app.state.hub
    headers = auth(hub.tokens[who])
    state.fast_lane = False
    hub.client.get(path, headers=headers)
    by_route = hub.client.get(path, headers=headers)
    state.fast_lane = True
    before = state.fast_answers
    again = hub.client.get(path, headers=headers)
    assert state.fast_answers == before
    assert again.status_code == by_route.status_code
    if again.headers["content-type"].startswith("application/problem+json"):
        body, expected = again.json(), by_route.json()
        assert body.pop("request_id") != expected.pop("request_id")
        assert body == expected
    else:
        assert again.content == by_route.content


def test_a_cookie_session_and_a_wrong_token_get_the_route(served: Any) -> None:
    hub, state = served, served.client.app.state.hub
    path = "/api/v1/indicators?indicator=positivity&by=country"
    assert hub.client.get(path, headers=auth(hub.tokens[ANALYST])).status_code == 200
    before = state.fast_answers
    wrong = hub.client.get(path, headers=auth(hub.tokens[ANALYST] + "x"))
    assert wrong.status_code == 401 and wrong.json()["status"] == 401
    assert hub.client.get(path).status_code == 401  # no credentials at all
    basic = hub.client.get(path, headers={"Authorization": "Basic " + hub.tokens[ANALYST]})
    assert basic.status_code == 401
    assert state.fast_answers == before


def test_a_revoked_token_stops_working_within_the_cache_time(fresh_hub: Any) -> None:
    """Tokens are renewed in a thread while requests keep coming; a token revoked elsewhere
    (here straight in the warehouse, as the CLI would) is refused within the TokenCache's ttl."""
    hub, state = fresh_hub, fresh_hub.client.app.state.hub
    path = "/api/v1/indicators?indicator=positivity&by=country"
    who = auth(hub.tokens[ANALYST])
    for _ in range(3):
        assert hub.client.get(path, headers=who).status_code == 200
    token_id = hub.tokens[ANALYST].split("_", 2)[1]
    with state.pool.engine() as eng:
        revoke_token(eng, token_id)
    revoked_at = time.monotonic()
    codes = []
    while time.monotonic() - revoked_at < state.tokens.ttl + 1.5:
        codes.append(hub.client.get(path, headers=who).status_code)
        if codes[-1] == 401:
            break
        time.sleep(0.05)
    assert codes[-1] == 401
    assert time.monotonic() - revoked_at < state.tokens.ttl + 1.0


def test_an_audit_failure_sends_the_request_to_the_route(fresh_hub: Any) -> None:
    hub, state = fresh_hub, fresh_hub.client.app.state.hub
    path = "/api/v1/places"
    who = auth(hub.tokens[ANALYST])
    assert hub.client.get(path, headers=who).status_code == 200

    def refuse(entry: Any, waiter: Any) -> None:
        raise RuntimeError("the audit writer is closed")

    state.audit.submit = refuse  # type: ignore[method-assign]
    try:
        before = state.fast_answers
        r = hub.client.get(path, headers=who)
        assert r.status_code == 200 and state.fast_answers == before
        assert _last_entry(hub)["action"] == "api.read_places"  # the route audited it
    finally:
        del state.audit.submit


def test_the_audit_writer_commits_batches_in_the_one_chain(tmp_path: Any) -> None:
    """Entries submitted from many threads and entries appended the blocking way form one
    unbroken chain; every waiter learns its own sequence number after its commit."""
    from corridor.storage.migrations import migrate

    url = str(tmp_path / "w.duckdb")
    eng = connect(url)
    migrate(eng)
    results: dict[int, int | None] = {}
    notices: list[int] = []
    lock = threading.Lock()

    def notify(batch: list[tuple[Any, int | None, BaseException | None]]) -> None:
        with lock:
            notices.append(len(batch))
            for waiter, seq, error in batch:
                assert error is None
                results[waiter] = seq

    writer = AuditWriter(lambda: connect(url), notify)

    def submit(i: int) -> None:
        writer.submit(new_entry("u", "test.read", {"i": i}, cells=i), i)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for i in range(5):
        append(eng, "v", "test.append", {"i": i})
    for t in threads:
        t.join()
    writer.close()
    assert sorted(results) == list(range(40)) and sum(notices) == 40
    check = verify(eng)
    assert check.ok and check.entries == 45
    stored = {e["parameters"]["i"]: e["seq"] for e in entries(eng) if e["user"] == "u"}
    assert stored == results
    assert all(json.dumps(e["parameters"]) for e in entries(eng))
    eng.close()


def test_the_audit_writer_reports_a_failed_batch_and_opens_a_new_connection(
    tmp_path: Any,
) -> None:
    from corridor.storage.migrations import migrate

    url = str(tmp_path / "w.duckdb")
    eng = connect(url)
    migrate(eng)
    opened: list[Any] = []
    got: list[tuple[Any, int | None, BaseException | None]] = []
    done = threading.Event()

    def connect_once_broken() -> Any:
        e = connect(url)
        if not opened:
            e.close()  # the first connection is unusable: its batch fails
        opened.append(e)
        return e

    def notify(batch: list[tuple[Any, int | None, BaseException | None]]) -> None:
        got.extend(batch)
        done.set()

    writer = AuditWriter(connect_once_broken, notify)
    writer.submit(new_entry("u", "test.read", {}), "first")
    assert done.wait(10)
    done.clear()
    writer.submit(new_entry("u", "test.read", {}), "second")
    assert done.wait(10)
    writer.close()
    assert got[0][0] == "first" and got[0][1] is None and got[0][2] is not None
    assert got[1][0] == "second" and got[1][1] == 1 and got[1][2] is None
    assert len(opened) == 2 and verify(eng).ok
    eng.close()
