"""The PostgreSQL engine: results through COPY read by Arrow, session settings, rewrites."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator

import psycopg
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corridor.storage.engine import StorageError, connect
from corridor.storage.postgres import SESSION_SETTINGS, PostgresEngine

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(pg_database: str) -> Iterator[PostgresEngine]:
    eng = connect(pg_database)
    assert isinstance(eng, PostgresEngine)
    eng.execute(
        "CREATE TABLE t (i BIGINT, s SMALLINT, f DOUBLE PRECISION, n NUMERIC, txt TEXT, "
        "v VARCHAR(40), b BOOLEAN, d DATE, ts TIMESTAMP)"
    )
    yield eng
    eng.close()


TEXTS = ["", "NA", "NULL", "null", "nan", 'a "quoted", comma', "two\nlines", "ümlaut ✓", " pad "]


def _fill(eng: PostgresEngine) -> None:
    for k, text in enumerate([*TEXTS, None]):
        eng.execute(
            "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                None if text is None else 2**62 + k,
                None if text is None else -k,
                [0.1 + k / 3, float("nan"), float("inf"), -float("inf"), 1e-300][k % 5]
                if text is not None
                else None,
                None if text is None else f"{k}.25",
                text,
                text,
                None if text is None else k % 2 == 0,
                None if text is None else dt.date(2024, 1, 1) + dt.timedelta(days=k),
                None if text is None else dt.datetime(2024, 2, 29, 23, 59, 59, 123456),
            ),
        )


def _same(a: pa.Table, b: pa.Table) -> None:
    assert a.schema == b.schema
    for x, y in zip(a.to_pylist(), b.to_pylist(), strict=True):
        for key in x:
            u, v = x[key], y[key]
            if isinstance(u, float) and math.isnan(u):
                assert isinstance(v, float) and math.isnan(v), key
            else:
                assert u == v, (key, u, v)


def test_copy_path_returns_what_the_row_path_returns(pg: PostgresEngine) -> None:
    _fill(pg)
    sql = "SELECT * FROM t ORDER BY i NULLS LAST"
    got = pg.query(sql)
    _same(got, pg._row_query(sql, None))
    rows = got.to_pylist()
    assert [r["txt"] for r in rows] == [*TEXTS, None]  # "" stays "", NULL stays NULL
    assert rows[0]["i"] == 2**62 and rows[0]["n"] == 0.25
    assert got.schema.field("ts").type == pa.timestamp("us")
    assert rows[0]["ts"] == dt.datetime(2024, 2, 29, 23, 59, 59, 123456)


def test_parameters_percent_signs_and_question_marks(pg: PostgresEngine) -> None:
    _fill(pg)
    got = pg.query_rows(
        "SELECT txt, '100%' AS pct FROM t WHERE txt = ? OR v LIKE ? ORDER BY txt",
        ("NA", "%comma"),
    )
    assert got == [("NA", "100%"), ('a "quoted", comma', "100%")]
    assert pg.query_rows("SELECT '50%' AS p") == [("50%",)]


def test_empty_results_keep_their_types(pg: PostgresEngine) -> None:
    got = pg.query("SELECT i, f, txt, b, d FROM t WHERE 1 = 0")
    assert got.num_rows == 0
    assert got.schema.types == [pa.int64(), pa.float64(), pa.string(), pa.bool_(), pa.date32()]


def test_other_types_and_statements_take_the_row_path(pg: PostgresEngine) -> None:
    got = pg.query("SELECT '{\"a\": 1}'::json AS j, 7 AS k")
    assert got.column("k").to_pylist() == [7]
    assert got.column("j").to_pylist() == [{"a": 1}]
    assert pg.query_rows("SHOW work_mem") == [(SESSION_SETTINGS["work_mem"],)]


def test_statements_that_change_data_run_as_written(pg: PostgresEngine) -> None:
    pg.query("WITH x AS (SELECT 5 AS a) INSERT INTO t (i) SELECT a FROM x")
    got = pg.query_rows("WITH d AS (DELETE FROM t WHERE i = 5 RETURNING i) SELECT i FROM d")
    assert got == [(5,)]
    assert pg.scalar("SELECT COUNT(*) FROM t") == 0


def test_errors_still_name_the_step_and_sql(pg: PostgresEngine) -> None:
    with pytest.raises(StorageError) as info:
        pg.query("WITH a AS (SELECT 1) SELECT nope FROM a", step="my step")
    assert "my step" in str(info.value) and "SELECT nope FROM a" in str(info.value)


def test_unread_steps_are_not_run(pg: PostgresEngine) -> None:
    # the unread step would fail (division by zero) if PostgreSQL ran it
    got = pg.query_rows(
        "WITH bad AS (SELECT 1 / 0 AS x), good AS (SELECT 2 AS x) SELECT x FROM good"
    )
    assert got == [(2,)]


def test_session_settings_apply_where_left_at_the_default(pg_database: str) -> None:
    eng = connect(pg_database)
    try:
        assert eng.query_rows("SELECT current_setting('work_mem'), current_setting('jit')") == [
            (SESSION_SETTINGS["work_mem"], SESSION_SETTINGS["jit"])
        ]
    finally:
        eng.close()
    # a value given in the URL wins
    eng = connect(f"{pg_database}?options=-c%20work_mem%3D8MB")
    try:
        assert eng.scalar("SELECT current_setting('work_mem')") == "8MB"
    finally:
        eng.close()
    # so does one set for the database
    with psycopg.connect(pg_database, autocommit=True) as con:
        name = con.execute(b"SELECT current_database()").fetchone()[0]  # type: ignore[index]
        con.execute(f"ALTER DATABASE {name} SET work_mem = '16MB'".encode())
    eng = connect(pg_database)
    try:
        assert eng.scalar("SELECT current_setting('work_mem')") == "16MB"
    finally:
        eng.close()


@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.none(),
                st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00")),
            ),
            st.one_of(st.none(), st.floats(allow_nan=False)),
            st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
        ),
        max_size=30,
    )
)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_text_and_numbers_round_trip(pg: PostgresEngine, rows: list[tuple]) -> None:
    pg.execute("DELETE FROM t")
    data = pa.table(
        {
            "txt": pa.array([r[0] for r in rows], pa.string()),
            "f": pa.array([r[1] for r in rows], pa.float64()),
            "i": pa.array([r[2] for r in rows], pa.int64()),
            "s": pa.array(range(len(rows)), pa.int64()),
        }
    )
    pg.insert_arrow("t", data)
    got = pg.query("SELECT txt, f, i FROM t ORDER BY s")
    assert got.column("txt").to_pylist() == [r[0] for r in rows]
    assert got.column("f").to_pylist() == [r[1] for r in rows]
    assert got.column("i").to_pylist() == [r[2] for r in rows]


def test_analytic_settings_hold_for_one_statement(pg: PostgresEngine) -> None:
    """An analytic query runs with the dialect's planner settings; the session's own values
    are back after it, after a failed one, and inside a transaction."""
    show = "SELECT current_setting('enable_sort') AS v"
    assert dict(pg.dialect.analytic_settings) == {
        "enable_sort": "off",
        "parallel_leader_participation": "off",
    }
    assert pg.query(show, analytic=True).column("v").to_pylist() == ["off"]
    leader = "SELECT current_setting('parallel_leader_participation') AS v"
    assert pg.query(leader, analytic=True).column("v").to_pylist() == ["off"]
    assert pg.scalar(leader) == "on"
    assert pg.scalar(show) == "on"
    with pytest.raises(StorageError):
        pg.query("SELECT 1 / 0", analytic=True)
    assert pg.scalar(show) == "on"
    pg.execute("SET enable_sort = off")  # the session's own choice is kept
    pg.query(show, analytic=True)
    assert pg.scalar(show) == "off"
    pg.execute("RESET enable_sort")
    with pg.transaction():
        assert pg.query(show, analytic=True).column("v").to_pylist() == ["off"]
        assert pg.scalar(show) == "on"
    # a statement that fails inside a transaction: the rollback puts the setting back
    with pytest.raises(StorageError), pg.transaction():
        pg.query("SELECT 1 / 0", analytic=True)
    assert pg.scalar(show) == "on"


# ---- reads in one snapshot, stages that fail, passwords ---------------------------------------


@pytest.fixture
def warehouse(pg_database: str) -> Iterator[PostgresEngine]:
    from corridor.storage.migrations import migrate

    eng = connect(pg_database)
    assert isinstance(eng, PostgresEngine)
    migrate(eng)
    yield eng
    eng.close()


def _other_commits(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(sql.encode())


def test_a_snapshot_does_not_see_what_others_commit_during_it(pg: PostgresEngine) -> None:
    url = pg_url_of(pg)
    with pg.snapshot():
        assert pg.scalar("SELECT COUNT(*) FROM t") == 0
        _other_commits(url, "INSERT INTO t (i) VALUES (1)")
        assert pg.scalar("SELECT COUNT(*) FROM t") == 0  # READ COMMITTED would see 1
        with pytest.raises(StorageError, match="read-only"):
            pg.execute("INSERT INTO t (i) VALUES (2)")
    assert pg.scalar("SELECT COUNT(*) FROM t") == 1


def pg_url_of(eng: PostgresEngine) -> str:
    return eng._url


def test_backup_reads_every_table_in_one_snapshot(
    warehouse: PostgresEngine, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import that commits while the backup writes its files is in none of them: no services
    rows of an import that the backup's imports table does not hold."""
    from pathlib import Path

    import pyarrow.parquet as pq

    from corridor.storage import backup as bk

    url = pg_url_of(warehouse)
    real = pq.write_table

    def write_then_import(table: pa.Table, path: Path, *a: object, **k: object) -> None:
        real(table, path, *a, **k)
        if Path(path).name == "imports.parquet":  # an import commits now
            _other_commits(
                url,
                "BEGIN; INSERT INTO imports VALUES (77, 'f', 'x', 'services', 'csv', 's', 'u', "
                "now(), 1, 1, 1, 0, 0, 0, 'ok', NULL); "
                "INSERT INTO services (period, period_type, period_start, period_end, "
                "place_code, data_element, sex, age_band, population_group, value, import_id) "
                "VALUES ('2024Q1', 'quarter', '2024-01-01', '2024-03-31', 'p', 'e', 'f', 't', "
                "'t', 1, 77); COMMIT",
            )

    monkeypatch.setattr(bk.pq, "write_table", write_then_import)
    folder = Path(str(tmp_path)) / "bk"
    manifest = bk.backup(warehouse, folder)
    assert manifest["tables"]["imports"]["rows"] == 0
    assert manifest["tables"]["services"]["rows"] == 0
    assert pq.read_table(folder / "services.parquet").num_rows == 0
    assert warehouse.scalar("SELECT COUNT(*) FROM services") == 1  # it did commit


def _one_row() -> pa.Table:
    return pa.table({"i": pa.array([1], pa.int64()), "txt": ["a"]})


def test_a_unique_key_refusal_in_a_stage_is_what_the_user_sees(pg: PostgresEngine) -> None:
    from corridor.errors import ConcurrentChangeError

    pg.execute("CREATE UNIQUE INDEX t_i ON t (i)")
    pg.execute("INSERT INTO t (i) VALUES (1)")
    with (
        pytest.raises(ConcurrentChangeError),
        pg.transaction(),
        pg.staged("stage_t", _one_row(), "t", step="stage t") as stage,
    ):
        pg.execute(f"INSERT INTO t (i, txt) SELECT i, txt FROM {stage}", step="write")
    assert pg.query_rows("SELECT i FROM t") == [(1,)]
    assert "stage_t" not in _temp_tables(pg)


def test_an_error_in_a_stage_keeps_its_own_step(pg: PostgresEngine) -> None:
    with (
        pytest.raises(StorageError) as info,
        pg.transaction(),
        pg.staged("stage_t", _one_row(), "t", step="stage t") as stage,
    ):
        pg.execute(f"SELECT nope FROM {stage}", step="my step")
    assert "my step" in str(info.value) and "drop stage" not in str(info.value)
    assert "stage_t" not in _temp_tables(pg)


def test_an_interrupt_during_a_stage_stays_an_interrupt(
    pg: PostgresEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during the COPY into the stage: the aborted transaction takes no DROP."""
    real = pg._insert_arrow

    def interrupted(table: str, data: pa.Table) -> None:
        real(table, data)
        with pytest.raises(psycopg.Error):  # what a cancelled COPY leaves: an aborted transaction
            pg._con.execute(b"SELECT 1 / 0")
        raise KeyboardInterrupt

    monkeypatch.setattr(pg, "_insert_arrow", interrupted)
    with (
        pytest.raises(KeyboardInterrupt),
        pg.transaction(),
        pg.staged("stage_t", _one_row(), "t", step="stage t"),
    ):
        pass
    assert "stage_t" not in _temp_tables(pg)


def test_a_stage_outside_a_transaction_is_dropped_after_an_error(pg: PostgresEngine) -> None:
    with (
        pytest.raises(StorageError, match="my step"),
        pg.staged("stage_t", _one_row(), "t", step="stage t") as stage,
    ):
        pg.execute(f"SELECT nope FROM {stage}", step="my step")
    assert "stage_t" not in _temp_tables(pg)


def _temp_tables(eng: PostgresEngine) -> set[str]:
    rows = eng.query_rows(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'LOCAL TEMPORARY'"
    )
    return {r[0] for r in rows}


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:Sekr1tPW@h:5/db", "postgresql://u:***@h:5/db"),
        ("postgresql://:Sekr1tPW@h/db", "postgresql://:***@h/db"),
        ("postgresql://h/db?user=u&password=Sekr1tPW", "postgresql://h/db?user=u&password=***"),
        ("postgresql://h/db?Password=Sekr1tPW&x=1", "postgresql://h/db?Password=***&x=1"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
    ],
)
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    from corridor.storage.postgres import _redact, _scrub

    assert _redact(url) == shown
    assert "Sekr1tPW" not in _scrub(f"bad URI {url!r}", url)


def test_driver_messages_lose_the_password_in_every_spelling() -> None:
    from corridor.storage.postgres import _scrub

    url = "postgresql://u:Sekr%31tPW@[::1/db?password=Other%20PW"
    message = 'invalid URI "postgresql://u:Sekr1tPW@[::1/db": Sekr%31tPW, Other PW, Other%20PW'
    got = _scrub(message, url)
    assert "Sekr" not in got and "Other" not in got
