from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.storage.rewrite import is_plain_query, prune_ctes


def test_unread_steps_are_dropped_and_read_ones_kept() -> None:
    sql = (
        "WITH a AS (SELECT 1 AS x), b AS (SELECT x FROM a), unused AS (SELECT x FROM b) "
        "SELECT x FROM b"
    )
    out = prune_ctes(sql)
    assert "unused" not in out
    assert "a AS (SELECT 1 AS x)" in out and "b AS (SELECT x FROM a)" in out
    assert duckdb.sql(out).fetchall() == duckdb.sql(sql).fetchall() == [(1,)]


def test_a_step_read_only_by_an_unread_step_goes_too() -> None:
    sql = (
        "WITH base AS (SELECT 1 AS x), wide AS (SELECT x FROM base), "
        "units AS (SELECT * FROM wide UNION ALL SELECT * FROM base) SELECT 2 AS y"
    )
    assert prune_ctes(sql) == "SELECT 2 AS y"


def test_names_in_literals_and_comments_are_not_references() -> None:
    sql = (
        "WITH a AS (SELECT 'b) c' AS t), b AS (SELECT 1 AS x), c AS (SELECT 2 AS x) "
        "SELECT t FROM a -- b\n/* c */"
    )
    out = prune_ctes(sql)
    assert "b AS (" not in out and "c AS (" not in out
    assert duckdb.sql(out).fetchall() == [("b) c",)]


def test_quoted_identifiers_column_lists_and_materialized_are_understood() -> None:
    sql = (
        'WITH feeds (p, q) AS MATERIALIZED (SELECT 1, 2), "Odd" AS (SELECT 3 AS z), '
        "gone (r) AS NOT MATERIALIZED (SELECT 4) "
        'SELECT p, q, z FROM feeds, "Odd"'
    )
    out = prune_ctes(sql)
    assert "gone" not in out
    assert duckdb.sql(out).fetchall() == [(1, 2, 3)]


def test_anything_else_is_left_as_written() -> None:
    for sql in (
        "SELECT 1",
        "WITH RECURSIVE r AS (SELECT 1 UNION ALL SELECT 1 FROM r) SELECT 2",
        "WITH a AS (SELECT 'open) SELECT 1",  # an unclosed literal
        "WITH a AS (SELECT 1 SELECT 1",  # an unclosed parenthesis
        "WITH a AS (SELECT 1), a AS (SELECT 2) SELECT 3",  # a repeated name
        "WITH a AS (SELECT 1) SELECT * FROM a",  # nothing to drop
        "INSERT INTO t WITH a AS (SELECT 1) SELECT 2",
    ):
        assert prune_ctes(sql) == sql


@st.composite
def _graphs(draw: st.DrawFn) -> tuple[list[list[int]], list[int]]:
    """Steps s0..sn, each reading some earlier steps, and the steps the final SELECT reads."""
    n = draw(st.integers(1, 8))
    reads = [
        draw(st.lists(st.integers(0, max(0, i - 1)), max_size=3)) if i else [] for i in range(n)
    ]
    final = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3))
    return reads, final


@given(_graphs(), st.sampled_from(["-- s0\n", "/* s1 ( */ ", "", " "]))
@settings(max_examples=150, deadline=None)
def test_pruned_statement_keeps_exactly_the_reachable_steps_and_its_result(
    graph: tuple[list[list[int]], list[int]], noise: str
) -> None:
    reads, final = graph
    steps = []
    for i, r in enumerate(reads):
        sources = " UNION ALL ".join(f"SELECT x + {i} AS x FROM s{j}" for j in sorted(set(r)))
        if sources:
            body = f"SELECT x FROM ({sources}) q"
        else:
            body = f"SELECT x FROM (SELECT {i} AS x, 's{i + 1} (' AS label) q"
        steps.append(f"s{i} AS ({noise}{body})")
    tail = " UNION ALL ".join(f"SELECT x FROM s{j}" for j in sorted(set(final)))
    sql = "WITH " + ", ".join(steps) + f" SELECT SUM(x) AS total, COUNT(*) AS n FROM ({tail}) f"
    reach: set[int] = set()
    todo = list(final)
    while todo:
        j = todo.pop()
        if j not in reach:
            reach.add(j)
            todo += reads[j]
    out = prune_ctes(sql)
    kept = {i for i in range(len(reads)) if f"s{i} AS (" in out}
    assert kept == reach
    assert duckdb.sql(out).fetchall() == duckdb.sql(sql).fetchall()


def test_plain_queries_are_told_from_statements_that_change_data() -> None:
    for sql in (
        "SELECT 1",
        "  (SELECT 1) UNION (SELECT 2)",
        "VALUES (1)",
        "WITH a AS (SELECT 1), alias (x) AS NOT MATERIALIZED ((SELECT 2)) SELECT * FROM a",
    ):
        assert is_plain_query(sql), sql
    for sql in (
        "INSERT INTO t SELECT 1",
        "WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a",
        "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
        "WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r",
        "SHOW work_mem",
        "WITH a AS (SELECT 'open) SELECT 1",
    ):
        assert not is_plain_query(sql), sql
