"""What a restore checks in a backup's rows besides their types (``storage/restorecheck.py``):
every key held once, no text with a NUL character, and the ending of every refusal; the same on
DuckDB and PostgreSQL, before the database is asked to write a row."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.storage.backup import BackupError, backup, restore
from corridor.storage.engine import Engine
from corridor.storage.restorecheck import (
    NATURAL_KEYS,
    first_bad_utf8,
    first_nul,
    key_twice,
    unchanged,
    unique_keys,
)

SECRET = "Secret Name Of A Person"


def test_each_key_held_once_is_no_refusal() -> None:
    data = pa.table({"a": ["x", "y", "z"], "b": [1, 1, 1]})
    assert key_twice(data, ("a",)) is None
    assert key_twice(data, ("a", "b")) is None
    assert key_twice(data.slice(0, 1), ("b",)) is None
    assert key_twice(data.slice(0, 0), ("a",)) is None


def test_the_key_whose_second_row_comes_first_is_named_with_its_rows() -> None:
    # 'x' is held by rows 1 and 10, 'y' by rows 2, 3 and 4: 'y' repeats first
    codes = ["x", "y", "y", "y", "a", "b", "c", "d", "e", "x"]
    data = pa.table({"code": codes, "n": list(range(10))})
    twice = key_twice(data, ("code",))
    assert twice is not None
    assert (twice.rows, twice.count, twice.values) == ((1, 2, 3), 3, ("y",))
    message = twice.format("bk/t.parquet", "t", ("code",))
    assert message.startswith("bk/t.parquet, rows 2, 3 and 4, column 'code', value 'y': ")
    assert "duplicate key" in message and "table t" in message


def test_a_key_of_many_columns_across_chunks() -> None:
    first = pa.table({"p": ["a", "a", "b"], "e": ["t", "u", "t"], "v": [1.0, 2.0, 3.0]})
    second = pa.table({"p": ["c", "a"], "e": ["t", "u"], "v": [4.0, 5.0]})
    data = pa.concat_tables([first, second])
    assert data.column("p").num_chunks == 2
    assert key_twice(data, ("p",)) is not None
    twice = key_twice(data, ("p", "e"))
    assert twice is not None and twice.rows == (1, 4) and twice.values == ("a", "u")
    message = twice.format("f", "services", ("p", "e"))
    assert "rows 2 and 5, columns 'p', 'e', values 'a', 'u'" in message
    assert "'2.0'" not in message and "'5.0'" not in message  # the row's value is not shown


def test_many_rows_holding_one_key_are_counted_not_listed() -> None:
    data = pa.table({"k": [7] * 12})
    twice = key_twice(data, ("k",))
    assert twice is not None and twice.count == 12 and len(twice.rows) == 5
    assert "rows 1, 2, 3, 4, 5 and 7 more" in twice.format("f", "t", ("k",))


def test_a_row_with_an_empty_key_column_holds_no_key() -> None:
    """As in a unique index: two rows whose key has an empty column do not clash."""
    data = pa.table({"a": ["x", "x", "x"], "b": pa.array([None, None, "q"], pa.string())})
    assert key_twice(data, ("a", "b")) is None
    data = pa.table({"a": ["x", "x", "x", "x"], "b": pa.array([None, "q", None, "q"])})
    twice = key_twice(data, ("a", "b"))
    assert twice is not None and twice.rows == (1, 3)


def test_keys_of_many_distinct_values_are_numbered_again_before_they_overflow() -> None:
    """Five columns of 20,000 distinct values each: 20,000^5 does not fit 64 bits."""
    rng = np.random.default_rng(7)
    n = 20_000
    columns = {f"c{i}": rng.permutation(n) for i in range(5)}
    data = pa.table({name: pa.array(values) for name, values in columns.items()})
    key = tuple(columns)
    assert key_twice(data, key) is None
    again = data.take([17_000, 3])  # row 17,001 repeats first
    twice = key_twice(pa.concat_tables([data, again]), key)
    assert twice is not None and twice.rows == (17_000, n) and twice.count == 2


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", None]), st.integers(0, 2)),
        min_size=0,
        max_size=30,
    ),
    st.integers(1, 3),
)
def test_key_twice_agrees_with_counting_row_by_row(
    rows: list[tuple[str | None, int]], chunks: int
) -> None:
    size = -(-len(rows) // chunks) or 1
    parts = [rows[i : i + size] for i in range(0, len(rows), size)] or [[]]
    data = pa.concat_tables(
        pa.table(
            {
                "s": pa.array([r[0] for r in part], pa.string()),
                "i": pa.array([r[1] for r in part], pa.int64()),
            }
        )
        for part in parts
    )
    seen: dict[tuple[str | None, int], list[int]] = {}
    expected = None
    for position, row in enumerate(rows):
        if row[0] is None:
            continue
        seen.setdefault(row, []).append(position)
        if expected is None and len(seen[row]) == 2:
            expected = row
    twice = key_twice(data, ("s", "i"))
    if expected is None:
        assert twice is None
    else:
        assert twice is not None
        held = [p for p, r in enumerate(rows) if r == expected]
        assert twice.values == expected and twice.count == len(held)
        assert list(twice.rows) == held[:5]


def test_the_first_text_with_a_nul_character() -> None:
    assert first_nul(pa.chunked_array([pa.array(["a", None, "b"])])) is None
    assert first_nul(pa.chunked_array([], pa.string())) is None
    column = pa.chunked_array([pa.array(["a", "b"]), pa.array(["c", "d\x00e", "\x00"])])
    assert first_nul(column) == 3
    big = pa.chunked_array([pa.array(["x\x00", "y", "z"], pa.large_string())])
    assert first_nul(big) == 0
    # a slice: the NUL before it is not in it
    assert first_nul(pa.chunked_array([pa.array(["\x00", "a", "b\x00"]).slice(1)])) == 1
    assert first_nul(pa.chunked_array([pa.array(["\x00", "a", "b\x00"]).slice(1, 1)])) is None


def test_bytes_under_an_empty_value_are_no_text() -> None:
    """A NUL in the bytes of a row that is empty (null) is in no text."""
    values = pa.py_buffer(b"ab\x00c")
    offsets = pa.py_buffer(np.array([0, 2, 3, 4], np.int32).tobytes())
    validity = pa.py_buffer(bytes([0b101]))  # row 2 (the NUL) is empty
    array = pa.Array.from_buffers(pa.string(), 3, [validity, offsets, values], null_count=1)
    assert array.to_pylist() == ["ab", None, "c"]
    assert first_nul(pa.chunked_array([array])) is None


@pytest.mark.parametrize(
    ("message", "warehouse", "ends"),
    [
        ("the backup is damaged: x", None, "x. Nothing was changed: the warehouse is as it was"),
        ("no manifest.", "ws/w.duckdb", "manifest. Nothing was changed: the warehouse ws/w.duckdb"),
        ("x. Nothing was changed: the warehouse is as it was", "ws/w", "x. Nothing was changed"),
        ("file held. Nothing was changed", None, "held. Nothing was changed: the warehouse"),
        ("damaged: cut. Nothing was changed. Recovery, in docs/backup.md.", None, "backup.md."),
    ],
)
def test_every_refusal_ends_the_same_way(message: str, warehouse: str | None, ends: str) -> None:
    text = unchanged(message, warehouse)
    assert text.count("Nothing was changed") == 1, text
    assert text.endswith("is as it was"), text
    assert ends in text, text
    assert unchanged(text, warehouse) == text  # (once, however often it is passed on)
    if warehouse:
        assert text.endswith(f"the warehouse {warehouse} is as it was")


def test_the_keys_of_each_table(engine: Engine) -> None:
    """The same keys on both engines: primary keys, unique constraints and natural keys."""
    assert unique_keys(engine, "places") == (("place_code",),)
    assert unique_keys(engine, "imports") == (("import_id",),)
    assert unique_keys(engine, "api_tokens") == (("token_id",), ("token_hash",))
    assert unique_keys(engine, "services") == (NATURAL_KEYS["services"],)
    assert unique_keys(engine, "flows") == (NATURAL_KEYS["flows"],)
    assert unique_keys(engine, "quarantine") == ()
    assert set(NATURAL_KEYS["services"]) == {
        "period",
        "place_code",
        "data_element",
        "sex",
        "age_band",
        "population_group",
    }


@pytest.mark.postgres
def test_every_unique_index_of_postgres_is_checked(pg_database: str) -> None:
    """A key that a migration makes unique on PostgreSQL (a constraint or an index) is one the
    restore checks on both engines before the database is asked."""
    from corridor.storage.engine import connect
    from corridor.storage.migrations import migrate

    eng = connect(pg_database)
    try:
        migrate(eng)
        rows = eng.query_rows(
            "SELECT t.relname, i.indexrelid, a.attname, k.n FROM pg_index i "
            "JOIN pg_class t ON t.oid = i.indrelid "
            "JOIN pg_namespace s ON s.oid = t.relnamespace AND s.nspname = current_schema() "
            "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
            "WHERE i.indisunique AND t.relname <> 'schema_migrations' ORDER BY 1, 2, 4"
        )
        indexes: dict[tuple[str, int], list[str]] = {}
        for table, index, column, _ in rows:
            indexes.setdefault((str(table), int(index)), []).append(str(column))
        assert len(indexes) >= 10
        for (table, _), columns in indexes.items():
            keys = {frozenset(k) for k in unique_keys(eng, table)}
            assert frozenset(columns) in keys, (table, columns)
    finally:
        eng.close()


def _token_rows(engine: Engine) -> list[tuple[object, ...]]:
    return sorted(engine.query_rows("SELECT token_id, token_hash FROM api_tokens"), key=repr)


def test_a_second_unique_key_held_twice_is_refused_before_a_row_is_written(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """api_tokens has two keys (its id and its hash): a backup whose two tokens share a hash is
    refused naming the column, on both engines, and the database is never asked to write."""
    for i in (1, 2):
        engine.execute(
            "INSERT INTO api_tokens (token_id, username, token_hash, purpose, created_at, "
            f"expires_at, revoked) VALUES ('t{i}', 'ann', 'h{i}', '{SECRET}', "
            "TIMESTAMP '2024-01-01 10:00:00', NULL, false)"
        )
    backup(engine, tmp_path / "bk")
    path = tmp_path / "bk" / "api_tokens.parquet"
    data = pq.read_table(path).sort_by("token_id")
    field = data.schema.get_field_index("token_hash")
    pq.write_table(data.set_column(field, "token_hash", pa.array(["h1", "h1"])), path)
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    manifest["tables"]["api_tokens"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (tmp_path / "bk" / "manifest.json").write_text(json.dumps(manifest))
    before = _token_rows(engine)
    written: list[str] = []
    monkeypatch.setattr(engine, "insert_arrow", lambda table, *a, **k: written.append(table))
    with pytest.raises(BackupError) as info:
        restore(engine, tmp_path / "bk", replace=True)
    message = str(info.value)
    assert "api_tokens.parquet, rows 1 and 2, column 'token_hash', value 'h1'" in message
    assert "duplicate key" in message and "table api_tokens" in message
    assert message.endswith("Nothing was changed: the warehouse is as it was")
    assert SECRET not in message
    assert not written
    assert _token_rows(engine) == before


def _refused_record(engine: Engine, tmp_path: Path, record: pa.Array) -> str:
    """The refusal of a backup whose quarantined row's ``record`` was replaced by ``record``
    (its manifest's hash brought up to date): the message, after checking that nothing was
    changed."""
    engine.execute(
        "INSERT INTO quarantine (import_id, row_number, column_name, value, reason, record) "
        f"VALUES (1, 3, 'value', 'x', 'not a number', '{SECRET}')"
    )
    backup(engine, tmp_path / "bk")
    path = tmp_path / "bk" / "quarantine.parquet"
    data = pq.read_table(path)
    field = data.schema.get_field_index("record")
    pq.write_table(data.set_column(field, "record", record), path)
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    manifest["tables"]["quarantine"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (tmp_path / "bk" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BackupError) as info:
        restore(engine, tmp_path / "bk", replace=True)
    message = str(info.value)
    assert SECRET not in message  # the text itself (a quarantined row) is never shown
    assert message.endswith("Nothing was changed: the warehouse is as it was")
    assert engine.query_rows("SELECT record FROM quarantine") == [(SECRET,)]
    return message


def test_a_nul_is_refused_on_both_engines_naming_the_column(engine: Engine, tmp_path: Path) -> None:
    """A backup is portable: what PostgreSQL cannot store is refused on DuckDB too, and the
    text itself (here a quarantined row) is never shown."""
    message = _refused_record(engine, tmp_path, pa.array([SECRET + "\x00"]))
    assert "quarantine.parquet, row 1, column 'record': text with a NUL character" in message
    assert "\x00" not in message


def _bad_utf8(texts: list[bytes]) -> pa.Array:
    """A string array holding ``texts`` as they are (Arrow does not check them when built)."""
    offsets = np.concatenate([[0], np.cumsum([len(t) for t in texts])]).astype(np.int32)
    return pa.Array.from_buffers(
        pa.string(),
        len(texts),
        [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(texts))],
    )


def test_the_first_text_that_is_not_utf8() -> None:
    assert first_bad_utf8(pa.chunked_array([pa.array(["a", None, "dé"])])) is None
    assert first_bad_utf8(pa.chunked_array([], pa.string())) is None
    column = pa.chunked_array([pa.array(["a", "b"]), _bad_utf8([b"ok", b"Mala\xffba"])])
    assert first_bad_utf8(column) == 3


def test_text_that_is_not_utf8_is_refused_on_both_engines(engine: Engine, tmp_path: Path) -> None:
    message = _refused_record(engine, tmp_path, _bad_utf8([SECRET.encode() + b"\xff"]))
    assert "quarantine.parquet, row 1, column 'record': text that is not valid UTF-8" in message


#: statements that write (a spy on ``Engine.execute`` records those)
_WRITES = ("INSERT", "UPDATE", "DELETE", "DROP", "CREATE", "ALTER", "TRUNCATE", "COPY")


def _spy_on_writes(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> list[str]:
    """Every write ``engine`` is asked for from now on (bulk inserts and write statements),
    recorded and then done as asked (other engines, such as the in-memory one on which a
    restore finds the tables of the backup's schema versions, are not watched)."""
    written: list[str] = []
    insert, execute = Engine.insert_arrow, Engine.execute

    def insert_arrow(self: Engine, table: str, data: pa.Table, **kw: object) -> None:
        if self is engine:
            written.append(f"insert {data.num_rows} rows into {table}")
        insert(self, table, data, **kw)  # type: ignore[arg-type]

    def execute_(self: Engine, sql: str, *a: object, **kw: object) -> None:
        if self is engine and sql.lstrip().upper().startswith(_WRITES):
            written.append(sql)
        execute(self, sql, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Engine, "insert_arrow", insert_arrow)
    monkeypatch.setattr(Engine, "execute", execute_)
    return written


def _last_table_damaged(engine: Engine, tmp_path: Path, damage: str) -> Path:
    """A backup of a warehouse with rows in imports, places and services whose last table
    (services) is damaged as ``damage`` says; the warehouse emptied again (committed)."""
    from corridor.storage.backup import clear

    engine.execute(
        "INSERT INTO imports (import_id, file_name, sha256, kind, format, source, user_name, "
        "imported_at, rows_read, rows_imported, rows_new, rows_replaced, rows_unchanged, "
        "rows_quarantined, status) VALUES (1, 's.csv', 'x', 'services', 'tidy', 's.csv', 'ann', "
        "TIMESTAMP '2024-01-01 10:00:00', 2, 2, 2, 0, 0, 0, 'ok')"
    )
    engine.execute(
        "INSERT INTO places (place_code, name, place_type, parent_code, country_code, corridor, "
        f"dhis2_uid, fmp_code, import_id) VALUES ('ke-a', '{SECRET}', 'truck_stop', 'ken', "
        "'ken', '', '', '', 1)"
    )
    for element in ("hiv_tests", "hiv_positive"):
        engine.execute(
            "INSERT INTO services (period, period_type, period_start, period_end, place_code, "
            "data_element, sex, age_band, population_group, value, import_id, record_key) "
            f"VALUES ('2024Q1', 'quarterly', DATE '2024-01-01', DATE '2024-03-31', 'ke-a', "
            f"'{element}', 'f', 'total', 'total', 12, 1, 5)"
        )
    bk = tmp_path / "bk"
    backup(engine, bk)
    manifest = json.loads((bk / "manifest.json").read_text())
    assert sorted(manifest["tables"])[-1] == "services"  # the last table loaded
    path = bk / "services.parquet"
    data = pq.read_table(path)
    if damage == "key twice":
        data = pa.concat_tables([data, data.slice(0, 1)])
    else:
        field = data.schema.get_field_index("data_element" if damage != "too large" else "value")
        values = {
            "NUL": pa.array(["hiv_tests", "hiv_\x00positive"]),
            "not UTF-8": _bad_utf8([b"hiv_tests", b"hiv_\xffpositive"]),
            "too large": pa.array([1.0, 1e300], pa.float64()),
        }[damage]
        if damage == "too large":  # a number no BIGINT holds, in a whole-number column
            field = data.schema.get_field_index("import_id")
            values = pa.array([1, 2**63], pa.uint64())
        data = data.set_column(field, data.field(field).name, values)
    pq.write_table(data, path)
    manifest["tables"]["services"] = {
        "rows": data.num_rows,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    (bk / "manifest.json").write_text(json.dumps(manifest))
    clear(engine)
    return bk


def _everything(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, and the next import id's sequence as it stands."""
    rows = {
        t: sorted(engine.query_rows(f"SELECT * FROM {t}"), key=repr)
        for t in sorted(engine.table_names())
    }
    if engine.name == "postgres":
        rows["import_id_seq"] = engine.query_rows("SELECT last_value, is_called FROM import_id_seq")
    else:
        rows["import_id_seq"] = engine.query_rows(
            "SELECT start_value, last_value FROM duckdb_sequences() "
            "WHERE sequence_name = 'import_id_seq'"
        )
    return rows


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        ("key twice", "rows 1 and 3, columns 'place_code', 'data_element'"),
        ("NUL", "row 2, column 'data_element': text with a NUL character"),
        ("not UTF-8", "row 2, column 'data_element': text that is not valid UTF-8"),
        ("too large", f"row 2, column 'import_id', value '{2**63}'"),
    ],
)
def test_a_damaged_last_table_is_refused_before_the_first_is_written(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str, says: str
) -> None:
    """Into an empty warehouse (no ``replace``), as with ``replace``: every table of the backup
    is checked before the first row is written, so a refusal of the last table (services) comes
    before imports and places are loaded, not after, with the same message; the warehouse is
    exactly as it was, on both engines."""
    bk = _last_table_damaged(engine, tmp_path, damage)
    before = _everything(engine)
    messages = []
    for replace in (False, True):
        written = _spy_on_writes(monkeypatch, engine)
        with pytest.raises(BackupError) as info:
            restore(engine, bk, replace=replace)
        assert written == [], (replace, written)  # not even inside the transaction
        monkeypatch.undo()
        assert not engine.in_transaction
        assert _everything(engine) == before, replace
        message = str(info.value)
        assert "services.parquet" in message and says in message, message
        assert message.endswith("Nothing was changed: the warehouse is as it was"), message
        assert SECRET not in message
        messages.append(message)
    assert messages[0] == messages[1]  # the same checks, the same words
