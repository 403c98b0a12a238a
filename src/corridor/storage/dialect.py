"""What portable SQL needs to know about an engine: its few differences of spelling and the
shapes its planner runs well, as properties rather than engine names.

Domain code asks its engine's :class:`Dialect` (``engine.dialect``) instead of testing which
engine it has: it writes one statement, and where an engine runs one shape of it much better
than another (measured in CHANGELOG.md, "PostgreSQL query speed"), the dialect says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True, slots=True)
class Dialect:
    """``name``: the engine's name. ``byte_collation``: the suffix that makes a text
    comparison byte by byte (PostgreSQL's default collation may ignore dashes).
    ``sorting_windows``: a window function (``ROW_NUMBER() OVER (PARTITION BY ...)``) sorts
    all its rows one at a time, so that "the first row of each group" is much cheaper as a
    hash aggregation (PostgreSQL: a million rows sorted on six text keys took 5 s of CPU
    against 1.5 s aggregated); DuckDB runs such windows as cheaply as an aggregation.
    ``folded_cells``: fully disaggregated cells (no ``total`` rows, no mixed period types, all
    three dimensions asked) come from one aggregation over services joined to one list of
    feeds (:mod:`corridor.indicators.foldcells`) instead of the steps ``units`` ... ``cells``:
    both engines (PostgreSQL runs it as a parallel partial aggregation; DuckDB, measured on the
    indicator benchmark's 10M rows, 3.4-4.6 s against 4.8-5.8 s, the same table).
    ``analytic_settings``: planner settings for the length of one large analytic statement
    (:meth:`corridor.storage.engine.Engine.query` with ``analytic=True``).
    ``loose_scans``: the distinct values of a few leading columns of services (the elements'
    reported periods, age bands, places) are found by walking an index, one probe per value
    (a recursive "loose index scan"), instead of a scan of the table: PostgreSQL, whose
    migration 7 makes those indexes and which has no skip scan of its own (2M rows: a few
    milliseconds against 1.2-1.9 s for the scans); DuckDB scans faster than it probes.
    ``client_order``: a large result whose sort keys come first is sorted on the Arrow table
    it returns rather than by ``ORDER BY``: PostgreSQL copies every wide row into its sort
    (88,800 cells of seventy columns: 0.3-0.8 s of a statement's wall time, serial, at the
    end), Arrow sorts the keys and takes the rows in a few hundredths of a second; the keys
    are computed there too (:func:`corridor.indicators.order.order_indices`), not returned.
    ``client_pairs``: where each cell of the indicator query is one output row (by place, no
    place groups or margins, one slot per output period), the statement returns the cells and
    the numerators and denominators are paired on the Arrow table
    (:mod:`corridor.indicators.cellpairs`): PostgreSQL evaluates the sixty ``CASE``
    expressions of the pairs one row at a time in the one process that gathers its workers'
    results, and returns seventy columns instead of thirty.
    ``json_files``: SQL reads a JSON file of the machine it runs on (DuckDB's ``read_json``):
    an import of DHIS2 JSON stages the values inside the warehouse (intake/jsonstage.py).
    ``services_by_place``: an import or a restore writes the rows of services a place at a time
    (:func:`corridor.storage.placeorder.by_place`), so that a place's rows lie together: the
    indicator query's hash aggregation then meets one place's cells after another and keeps
    them in the cache. PostgreSQL (10M rows: the statement 8.3-9.4 s against 10.5-11.0 s
    stored in the benchmark's order; the grouping before a row is written costs about 1% of
    its insert); DuckDB gains as much but writes so fast that the grouping would cost a
    tenth of an import, where its tidy CSV has 5% left of the 2x budget against raw DuckDB."""

    name: str
    byte_collation: str = ""
    sorting_windows: bool = False
    folded_cells: bool = True
    analytic_settings: MappingProxyType[str, str] = field(
        default_factory=lambda: MappingProxyType({})
    )
    loose_scans: bool = False
    client_order: bool = False
    client_pairs: bool = False
    json_files: bool = False
    services_by_place: bool = False

    def text_order(self, expr: str) -> str:
        """SQL: ``expr`` compared byte by byte."""
        return f"{expr}{self.byte_collation}"


DUCKDB: Final = Dialect("duckdb", json_files=True)
POSTGRES: Final = Dialect(
    "postgres",
    byte_collation=' COLLATE "C"',
    sorting_windows=True,
    # the VALUES lists that the indicator query joins are estimated at a handful of rows,
    # so PostgreSQL sorts hundreds of thousands of rows for GROUP BY where a hash table is
    # several times cheaper; with sorts discouraged it hashes (a sort that no other plan can
    # replace, ORDER BY, still runs)
    # parallel_leader_participation off: the partial aggregation runs in the two workers only,
    # so that on two cores three processes do not take turns and the leader combines two
    # partial results per cell instead of three (2M rows: about 1 s less CPU, wall no worse)
    analytic_settings=MappingProxyType(
        {"enable_sort": "off", "parallel_leader_participation": "off"}
    ),
    loose_scans=True,
    client_order=True,
    client_pairs=True,
    services_by_place=True,
)
