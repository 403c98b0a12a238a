"""Statistical disclosure control: the ONE function every indicator output goes through.

``suppress(table, threshold)`` withholds:

* **primary**: every count from 1 to threshold - 1 (zero is shown: a true zero discloses nobody);
* **secondary** (complementary): more counts, so that no withheld count can be worked out from
  the counts shown with it and the totals they add up to. The totals considered are those of the
  output's own structure: the cells along each grouped dimension (sex, age band, population group,
  places, and periods for counts that add over time) add up to a margin. Where the margin is in the
  output it is a cell like any other; where it is not, it is assumed published (the same query
  without that dimension gives it) unless it is itself a small count;
* **rates** whose numerator or denominator is withheld (and their gap to target).

A count is one value of one data element (hiv_tests of women at site A in 2024Q1): the same count
appears as the numerator of one indicator and the denominator of another, and is withheld in both
or in neither. A corridor's total over its places is that corridor's own count; an element that an
indicator pairs differently (over other places or age bands) is another count where it can differ,
and is withheld there (:mod:`corridor.indicators.series`).

The complementary cells are the corners of a box of withheld cells around each small count
(:mod:`corridor.indicators.hypercube`; across corridors :mod:`corridor.indicators.corridorboxes`).
Where no box is found, the classic rule (in every relation, never exactly one withheld cell:
withhold the smallest other one) chooses them, then the result is checked exactly: for each
group of linked relations, linear algebra tells whether a withheld small count is determined by
what is shown; if it is, more cells are withheld until none is
(:mod:`corridor.indicators.complements`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corridor.errors import QueryError
from corridor.indicators import complements
from corridor.indicators.complements import Protector, links_over_limit
from corridor.indicators.corridorboxes import boxes_across
from corridor.indicators.hypercube import protect_boxes
from corridor.indicators.slabs import margin_equations
from corridor.indicators.suppresscells import (
    DISAGGREGATIONS,
    ROLES,
    Layout,
    layout,
)
from corridor.storage.recordkeys import KEY_MODULUS

if TYPE_CHECKING:
    from corridor.config import Settings
    from corridor.indicators.ptable import PerturbationTable

log = logging.getLogger("corridor.indicators")

DEFAULT_THRESHOLD: Final = 10
SUPPRESSED: Final = "suppressed"


def primary_text(threshold: int) -> str:
    return f"<{threshold}"


#: what every output says when the threshold (1) withholds no count for being small
NONE_SMALL: Final = "no count is withheld for being small (threshold 1)"


def small_counts(threshold: int) -> str:
    """The counts that disclosure control never publishes, in words that follow "count" or
    "counts": ``"from 1 to 9"`` (threshold 10), ``"of 1"`` (threshold 2), and ``""`` for a
    threshold of 1, which withholds no count for being small. Every output words them with
    this (indicator notes and exports, the report, the ranking, the dashboard), so that none
    prints a range "1 to 0" or "1-1"; where it is empty, the output says :data:`NONE_SMALL`
    or leaves the wording out."""
    if threshold <= 1:
        return ""
    return "of 1" if threshold == 2 else f"from 1 to {threshold - 1}"


def protect(lay: Layout, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """(withheld, primary) flags per cell of ``lay``: a box of withheld cells around every
    small count (:mod:`corridor.indicators.hypercube`); the blocks where no box is found, and
    those linked through a cell placed in two (a place on two corridors), by the relation rule
    and the exact check (:class:`~corridor.indicators.complements.Protector`)."""
    values = lay.values
    primary = (values > 0) & (values < threshold)
    hidden = primary.copy()
    if len(values) == 0:
        return hidden, primary
    bid, pcid = lay.bid, lay.pcid
    limit = complements.EXACT_CHECK_LIMIT  # (read here: the tests lower it)
    linked = np.zeros(int(bid.max()) + 1, bool)
    shared = np.bincount(pcid, minlength=len(values)) > 1
    # the blocks holding a cell placed twice (a place on two corridors): those linked through
    # shared cells (boxes_across finds their families)
    linked[bid[shared[pcid]]] = True
    hard = linked.copy()
    if linked.any() and "place" in lay.axes:
        # boxes across the linked blocks; a family with a small count left without one: checked
        place = lay.axes.index("place")
        hard = boxes_across(
            values,
            bid,
            pcid,
            lay.coords,
            lay.own,
            place,
            primary,
            hidden,
            linked,
            threshold=threshold,
        )
    easy = np.flatnonzero(~linked[bid])  # placements; each of their cells is placed once
    cid = pcid[easy]
    if len(cid) == len(values) and (cid == np.arange(len(cid))).all():
        # every cell placed once, in cell order (no place on two corridors): no copies
        sub, arrays = hidden, (values, bid, lay.coords, lay.own)
    else:
        sub, arrays = hidden[cid], (values[cid], bid[easy], lay.coords[easy], lay.own[easy])
    todo = np.flatnonzero(primary[cid])
    left = protect_boxes(*arrays, sub, todo, threshold, whole_above=4 * limit)
    hidden[cid] = sub
    if len(left):
        log.debug("disclosure: %d small counts without a box; their blocks checked", len(left))
        blocks = np.unique(bid[easy[left]])
        # a block with more withheld cells than the exact check takes: all its cells withheld
        # (more than the rule and the check would, never less)
        count = np.bincount(bid[easy], hidden[cid], len(hard))
        whole = blocks[count[blocks] > 4 * limit]
        # so is a block whose margins along one dimension alone link more withheld cells than
        # the exact check takes: the check would withhold it whole after building its cells
        # (withholding more before can only link more)
        mid = blocks[(count[blocks] > limit) & (count[blocks] <= 4 * limit)]
        if len(mid):
            many = [_links_too_many(*arrays, sub, b, threshold) for b in mid.tolist()]
            whole = np.union1d(whole, mid[np.array(many, bool)])
        if len(whole):
            log.info("disclosure: %d blocks too large to check exactly; withheld", len(whole))
            every = np.zeros(len(hard), bool)
            every[whole] = True
            hidden[cid[every[bid[easy]]]] = True
        hard[np.setdiff1d(blocks, whole)] = True
    if hard.any():
        cells, ids = lay.cells(threshold, np.flatnonzero(hard[bid]))
        hidden[ids] = Protector(cells, threshold, withheld=hidden[ids]).run()
    return hidden, primary


def _links_too_many(
    values: np.ndarray,
    bid: np.ndarray,
    coords: np.ndarray,
    own: np.ndarray,
    hidden: np.ndarray,
    block: int,
    threshold: int,
) -> bool:
    """Whether the margins along one dimension of ``block`` (cells placed once) link more
    withheld cells (``hidden``) than the exact check takes: ``Protector._too_large_alone``
    (:mod:`corridor.indicators.complements`) from the layout's arrays, before any cells are
    built."""
    cells = np.flatnonzero(bid == block)
    width = int(own[cells[0]])
    first = margin_equations(
        cells, coords[cells, :width], lambda c: values[c].astype(float), threshold, orders=1
    )
    return links_over_limit(hidden, first)


def suppress(table: pa.Table, threshold: int = DEFAULT_THRESHOLD) -> pa.Table:
    """Disclosure control of an indicator table (see the module docstring).

    Returns the same rows and columns; numerator, denominator, value and gap are null where
    withheld, and ``numerator_flag`` / ``denominator_flag`` / ``value_flag`` say why: ``<10``
    (a small count), ``suppressed`` (withheld so that a small count cannot be worked out, or a
    rate of a withheld count); null where the number is shown.
    """
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    for c in (*ROLES, "period", "place_code", *DISAGGREGATIONS):
        if c not in table.column_names:
            raise ValueError(f"suppress: the table has no column {c!r}")
    lay = layout(table)
    row_cells = lay.row_cells
    hidden, primary = protect(lay, threshold)
    # per cell: 0 shown, 1 a small count, 2 withheld to protect one; rows take their cells'
    kind = np.where(hidden, np.where(primary, 1, 2), 0).astype(np.int64)
    kind = np.append(kind, 0)  # the cell -1: a row without that count
    at = kind[row_cells].reshape(-1)  # per position 2 * row + role
    # a count apart (another pairing of its element, that can differ from the cell's): withheld
    small = (lay.apart_values > 0) & (lay.apart_values < threshold)
    at[lay.apart] = np.where(small, 1, 2)
    if lay.later is not None:  # a series' sums that would show a withheld zero
        more = lay.later.withhold(lambda pos: hidden[row_cells.reshape(-1)[pos]])
        at[more[at[more] == 0]] = 2
    at = at.reshape(-1, 2)
    texts = pa.array([None, primary_text(threshold), SUPPRESSED], pa.string())
    num_flag = texts.take(pa.array(at[:, 0]))
    den_flag = texts.take(pa.array(at[:, 1]))
    any_flag = pc.or_(pc.is_valid(num_flag), pc.is_valid(den_flag))
    has_value = (
        pc.is_valid(table.column("value"))
        if "value" in table.column_names
        else pa.array([True] * table.num_rows)
    )
    value_flag = pc.if_else(pc.and_(any_flag, has_value), SUPPRESSED, pa.scalar(None, pa.string()))
    out = table
    out = _null_where(out, "numerator", pc.is_valid(num_flag))
    out = _null_where(out, "denominator", pc.is_valid(den_flag))
    for c in ("value", "gap"):
        out = _null_where(out, c, any_flag)
    out = _set(out, "numerator_flag", num_flag)
    out = _set(out, "denominator_flag", den_flag)
    out = _set(out, "value_flag", value_flag)
    meta = dict(table.schema.metadata or {})
    meta[b"corridor.suppressed"] = b"true"
    meta[b"corridor.threshold"] = str(threshold).encode()
    return out.replace_schema_metadata(meta)


def _null_where(table: pa.Table, name: str, mask: Any) -> pa.Table:
    if name not in table.column_names:
        return table
    col = table.column(name)
    nulls = pa.scalar(None, col.type)
    return _set(table, name, pc.if_else(mask, nulls, col))


def _set(table: pa.Table, name: str, values: Any) -> pa.Table:
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, values)
    return table.append_column(name, values)


def is_suppressed(table: pa.Table) -> bool:
    meta = table.schema.metadata or {}
    return meta.get(b"corridor.suppressed") == b"true"


def threshold_of(table: pa.Table, default: int = DEFAULT_THRESHOLD) -> int:
    meta = table.schema.metadata or {}
    raw = meta.get(b"corridor.threshold")
    return int(raw) if raw else default


def withheld(table: pa.Table) -> int:
    """How many counts of a suppressed table are withheld (numerator and denominator cells)."""
    n = 0
    for role in ROLES:
        name = f"{role}_flag"
        if name in table.column_names:
            n += table.num_rows - table.column(name).null_count
    return n


__all__: Sequence[str] = (
    "disclosure_note",
    "is_suppressed",
    "method_of",
    "publish",
    "small_counts",
    "suppress",
    "threshold_of",
    "withheld",
)


def publish(table: pa.Table, settings: Settings) -> pa.Table:
    """The one disclosure function: every count that leaves the analyst's own access passes here.

    The CLI (every format), the report, the demo and the HTTP API call this and nothing else, so
    that one method, with one set of parameters from the settings, holds across all outputs:

    * ``disclosure_method = cellkey`` (the default): every count perturbed by the cell-key method
      (:mod:`corridor.indicators.cellkey`), rates from the published counts. It needs the cell
      keys that ``compute_indicators`` gives (``numerator_key`` / ``denominator_key``); a table
      without them (a one-off table of counts that have no record keys) is suppressed instead.
      A table of ``compute_indicators`` lists a row only where data were reported: its rows
      whose every published count is 0 are left out, as true zeros are (listed, they would
      show that a count of 1 to threshold - 1 is behind them; docs/disclosure.md);
    * ``disclosure_method = suppression``: :func:`suppress` with the threshold.

    Either way the key columns never leave, and a sum over a range of periods that is not one
    calendar period nor four consecutive quarters is refused (QueryError,
    :func:`corridor.indicators.buckets.published_window`): each such range is a new noisy sum
    of the same periods.
    """
    from corridor.indicators.buckets import FREE_WINDOW_KEY, FREE_WINDOW_REASON

    free = (table.schema.metadata or {}).get(FREE_WINDOW_KEY)
    if free is not None:
        raise QueryError(f"period {free.decode()}: {FREE_WINDOW_REASON}")
    from corridor.indicators.cellkey import (
        has_keys,
        lists_reported_rows,
        perturb_table,
        without_keys,
    )

    threshold = settings.suppression_threshold
    if settings.disclosure_method == "cellkey" and has_keys(table):
        ptable = perturbation_table(settings)
        return perturb_table(table, ptable, drop_zero_rows=lists_reported_rows(table))
    return without_keys(suppress(table, threshold))


def publish_counts(
    counts: Sequence[float], keys: Sequence[int], settings: Settings, element: str
) -> list[float | str | None]:
    """Lone counts (each its own cell, no margins between them: the cases of a scope, the
    travellers of a map segment) as they may leave, through :func:`publish`: each count with
    its cell key (the sum of its rows' record keys). Cell-key: the published counts;
    suppression: the count, or the flag (``<10``) where withheld."""
    from corridor.contract.dimensions import TOTAL

    n = len(counts)
    text = pa.string()
    table = pa.table(
        {
            "indicator": pa.array([f"count.{element}"] * n, text),
            "period": pa.array(["all"] * n, text),
            "place_code": pa.array([f"c{i}" for i in range(n)], text),
            "sex": pa.array([TOTAL] * n, text),
            "age_band": pa.array([TOTAL] * n, text),
            "population_group": pa.array([TOTAL] * n, text),
            "numerator": pa.array([float(c) for c in counts], pa.float64()),
            "denominator": pa.nulls(n, pa.float64()),
            "numerator_element": pa.array([element] * n, text),
            "denominator_element": pa.nulls(n, text),
            "numerator_key": pa.array([int(k) % KEY_MODULUS for k in keys], pa.int64()),
            "denominator_key": pa.nulls(n, pa.int64()),
            "value": pa.nulls(n, pa.float64()),
            "target": pa.nulls(n, pa.float64()),
            "gap": pa.nulls(n, pa.float64()),
        }
    )
    out = publish(table, settings)
    values = out.column("numerator").to_pylist()
    flags = (
        out.column("numerator_flag").to_pylist()
        if "numerator_flag" in out.column_names
        else [None] * n
    )
    return [v if v is not None else (f or None) for v, f in zip(values, flags, strict=True)]


def perturbation_table(settings: Settings) -> PerturbationTable:
    """The perturbation table of the settings (ConfigError names a bad combination)."""
    from corridor.errors import ConfigError
    from corridor.indicators.ptable import build_ptable

    try:
        return build_ptable(
            settings.disclosure_max_noise,
            settings.disclosure_variance,
            settings.suppression_threshold,
        )
    except ValueError as exc:
        raise ConfigError(
            f"settings disclosure_max_noise={settings.disclosure_max_noise}, "
            f"disclosure_variance={settings.disclosure_variance}: {exc}"
        ) from None


def method_of(table: pa.Table) -> str:
    """``cellkey`` or ``suppression`` (for a table that went through :func:`publish`)."""
    meta = table.schema.metadata or {}
    return (meta.get(b"corridor.method") or b"suppression").decode()


def disclosure_note(table: pa.Table) -> str:
    """The line every published output carries about its disclosure control."""
    from corridor.indicators.cellkey import totals_note

    t = threshold_of(table)
    small = small_counts(t)
    if method_of(table) == "cellkey":
        withheld = f"No count {small} is published." if small else f"{NONE_SMALL.capitalize()}."
        return f"{totals_note()} {withheld}"
    if not small:
        return f"{NONE_SMALL}."
    return (
        f"counts {small} shown as <{t}; 'suppressed': withheld so that they cannot be worked "
        "out from totals."
    )
