"""The hub's answer cache: one computation per key however many ask, derived text kept only
while its answer is, and warming after an import (most recent first, within a limit and a
time budget)."""

from __future__ import annotations

import threading
import time
from typing import Any

from corridor.api.hub import AnswerCache


def _ask_together(ask: Any, gate: threading.Event, n: int = 8) -> list[Any]:
    """``ask()`` from ``n`` threads at once, all started before ``gate`` opens the computation."""
    got: list[Any] = []
    threads = [threading.Thread(target=lambda: got.append(ask())) for _ in range(n)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join()
    return got


def test_concurrent_askers_share_one_computation() -> None:
    cache = AnswerCache()
    calls: list[int] = []
    gate = threading.Event()

    def compute() -> str:
        calls.append(1)
        gate.wait(5)
        return "answer"

    got = _ask_together(lambda: cache.get_or_compute(("q", 1), compute), gate)
    assert got == ["answer"] * 8 and len(calls) == 1


def test_derived_text_lives_as_long_as_its_answer() -> None:
    cache = AnswerCache(size=2)
    first = cache.get_or_compute(("a", 1), lambda: ["a"])
    made: list[int] = []

    def text(value: list[str]) -> bytes:
        made.append(1)
        return f"{value[0]}-json".encode()

    assert cache.derived(first, ("json",), text) == b"a-json"
    assert cache.derived(first, ("json",), text) == b"a-json"
    assert len(made) == 1  # serialised once
    cache.get_or_compute(("b", 1), lambda: ["b"])
    cache.get_or_compute(("c", 1), lambda: ["c"])  # evicts ("a", 1) and its text
    assert ("a", 1) not in cache.cached_keys()
    cache.derived(first, ("json",), text)
    assert len(made) == 2
    loose: list[str] = ["not cached"]
    assert cache.derived(loose, ("json",), text) == b"not cached-json"
    cache.derived(loose, ("json",), text)
    assert len(made) == 4  # a value the cache does not hold keeps nothing beside it


def test_concurrent_askers_of_a_text_share_one_serialisation() -> None:
    cache = AnswerCache()
    value = cache.get_or_compute(("q", 1), lambda: ["answer"])
    made: list[int] = []
    gate = threading.Event()

    def text(v: list[str]) -> bytes:
        made.append(1)
        gate.wait(5)
        return v[0].encode()

    got = _ask_together(lambda: cache.derived(value, ("json",), text), gate)
    assert got == [b"answer"] * 8 and len(made) == 1


def test_warming_makes_the_texts_of_the_new_answers_too() -> None:
    """After an import, readers find the new answer and its text made: none of them waits for
    a computation or a serialisation."""
    cache = AnswerCache()
    old = cache.get_or_compute(("q", "v1"), lambda: ["old"], lambda engine: ["new"])
    cache.derived(old, ("json", "wording"), lambda v: f"{v[0]} as json".encode())
    assert cache.warm("importer", [("v2",)]) == 1  # type: ignore[arg-type]
    new = cache.get_or_compute(("q", ("v2",)), lambda: ["computed by a reader"])
    assert new == ["new"]

    def not_again(v: list[str]) -> bytes:
        raise AssertionError("made again")

    assert cache.derived(new, ("json", "wording"), not_again) == b"new as json"
    assert cache.derived(old, ("json", "wording"), not_again) == b"old as json"


def test_warming_recomputes_the_most_recent_answers_for_the_new_version() -> None:
    cache = AnswerCache()
    seen: list[Any] = []

    def refresher(name: str) -> Any:
        def refresh(engine: Any) -> str:
            seen.append((name, engine))
            return f"{name} on {engine}"

        return refresh

    for name in ("old", "mid", "new"):
        cache.get_or_compute((name, "v1"), lambda: "x", refresher(name))
    cache.get_or_compute(("plain", "v1"), lambda: "no refresher")
    assert cache.warm("importer", [("v2",), ("v2b",)], limit=2) == 2  # type: ignore[arg-type]
    assert [s[0] for s in seen] == ["new", "mid"]
    keys = cache.cached_keys()
    assert ("new", ("v2",)) in keys and ("new", ("v2b",)) in keys and ("mid", ("v2",)) in keys
    assert ("old", ("v2",)) not in keys and ("plain", ("v2",)) not in keys
    assert cache.get_or_compute(("new", ("v2",)), lambda: "recomputed") == "new on importer"
    # the time budget stops new computations once spent
    assert cache.warm("importer", [("v3",)], limit=8, budget_s=-1.0) == 0  # type: ignore[arg-type]


class _Change:
    """Affects the answers whose ``reads`` name "x" (what corridor.access.changes decides)."""

    def affects(self, reads: Any) -> bool:
        return reads is None or "x" in reads


def test_warming_keeps_what_the_import_cannot_change_and_drops_what_is_not_in_use() -> None:
    cache = AnswerCache()
    computed: list[str] = []

    def refresher(name: str) -> Any:
        def refresh(engine: Any) -> str:
            computed.append(name)
            return f"{name} again"

        return refresh

    kept = cache.get_or_compute(("kept", ("v1",)), lambda: "kept v1", refresher("kept"), {"y"})
    cache.get_or_compute(("hit", ("v1",)), lambda: "hit v1", refresher("hit"), {"x"})
    cache.get_or_compute(("unsaid", ("v1",)), lambda: "unsaid v1", refresher("unsaid"))
    cache.derived(kept, ("json",), lambda v: b"kept as json")
    assert cache.warm("importer", [("v2",)], change=_Change(), current=("v1",)) == 2  # type: ignore[arg-type]
    assert sorted(computed) == ["hit", "unsaid"]
    assert cache.peek(("kept", ("v2",))) is kept  # the same answer, its text too
    assert cache.peek_derived(kept, ("json",)) == b"kept as json"
    assert ("hit", ("v2",)) in cache.cached_keys()  # computed again (not read: not in use)
    # only "kept" is read for the new version: the next import computes nothing else again
    computed.clear()
    assert cache.peek(("kept", ("v2",))) is kept
    assert cache.warm("importer", [("v3",)], change=_Change(), current=("v2",)) == 0  # type: ignore[arg-type]
    assert computed == [] and cache.peek(("kept", ("v3",))) is kept
    assert ("hit", ("v3",)) not in cache.cached_keys()  # not in use: its next reader computes it
    # without a change (another kind of import), every answer in use is computed again
    cache.peek(("kept", ("v3",)))
    assert cache.warm("importer", [("v4",)]) == 1  # type: ignore[arg-type]
    assert computed == ["kept"]
