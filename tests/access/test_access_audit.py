"""The audit trail is hash-chained: any edited or deleted entry is detected."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridor.access import audit_append, audit_verify
from corridor.storage.engine import Engine, connect
from corridor.storage.migrations import migrate


def _fill(engine: Engine, n: int) -> None:
    for i in range(n):
        audit_append(
            engine, f"user{i % 3}", "api.read_indicators", {"i": i}, cells=i, suppressed=i % 2 == 0
        )


def test_an_intact_chain_verifies(engine: Engine) -> None:
    assert audit_verify(engine).ok  # empty
    _fill(engine, 5)
    result = audit_verify(engine)
    assert result.ok and result.entries == 5


def test_edits_and_deletions_are_detected(engine: Engine) -> None:
    _fill(engine, 6)
    engine.execute("UPDATE audit_chain SET cells = 999 WHERE seq = 2")
    assert any("entry 2: edited" in p for p in audit_verify(engine).problems)
    engine.execute("DELETE FROM audit_chain WHERE seq = 4")
    problems = audit_verify(engine).problems
    assert any("entry 4 deleted" in p for p in problems)
    engine.execute("DELETE FROM audit_chain WHERE seq = 6")
    assert any("entries at the end were deleted" in p for p in audit_verify(engine).problems)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(1, 8),
    target=st.integers(0, 7),
    how=st.sampled_from(["delete", "user", "detail", "suppressed", "time", "rehash"]),
)
def test_any_single_tampering_is_detected(
    tmp_path_factory: object, n: int, target: int, how: str
) -> None:
    eng = connect(":memory:")
    try:
        migrate(eng)
        _fill(eng, n)
        seq = target % n + 1
        if how == "delete":
            eng.execute("DELETE FROM audit_chain WHERE seq = ?", (seq,))
        elif how == "user":
            eng.execute("UPDATE audit_chain SET user_name = 'someone' WHERE seq = ?", (seq,))
        elif how == "detail":
            eng.execute("UPDATE audit_chain SET detail = '{}' WHERE seq = ?", (seq,))
        elif how == "suppressed":
            eng.execute("UPDATE audit_chain SET suppressed = NOT suppressed WHERE seq = ?", (seq,))
        elif how == "time":
            eng.execute(
                "UPDATE audit_chain SET logged_at = logged_at + INTERVAL 1 SECOND WHERE seq = ?",
                (seq,),
            )
        else:  # an editor who also recomputes the edited entry's own hash breaks the next link
            eng.execute("UPDATE audit_chain SET entry_hash = ? WHERE seq = ?", ("f" * 64, seq))
        assert not audit_verify(eng).ok
    finally:
        eng.close()


def test_concurrent_appends_are_group_committed_into_one_valid_chain(
    engine: Engine, engine_url: str
) -> None:
    """The server's request threads append at the same time, each on its own connection: every
    entry gets its own sequence number, the chain verifies, and an entry in a caller's
    transaction is written with (and rolled back with) that transaction."""
    import threading

    conns = [connect(engine_url) for _ in range(6)]
    seqs: list[int] = []
    lock = threading.Lock()

    def work(i: int, eng: Engine) -> None:
        for j in range(8):
            n = audit_append(eng, f"user{i}", "api.read_places", {"j": j}, cells=j)
            with lock:
                seqs.append(n)

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in conns:
        c.close()
    assert sorted(seqs) == list(range(1, 49))
    result = audit_verify(engine)
    assert result.ok and result.entries == 48, result.problems
    try:
        with engine.transaction():
            assert audit_append(engine, "admin", "cli.add_user", {}) == 49
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert audit_append(engine, "admin", "cli.add_user", {}) == 49
    assert audit_verify(engine).ok
