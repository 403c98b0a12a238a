"""Record keys: a permanent random whole number in [0, 2^32) for every stored row of a table whose
counts are published (services, flows, cases).

The cell-key method of disclosure control (corridor.indicators.disclosure) perturbs each
published count by noise chosen by the cell's key, the sum of its rows' keys mod 2^32: the same
rows give the same key, so the same cell publishes the same value in every output. Keys are given
at import (migration 2 keyed the rows stored before it) and never change while the row stays;
they are secret (an attacker who knew them could undo the noise), so they never leave the
warehouse: no output writes them.
"""

from __future__ import annotations

import secrets
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from corridor.storage.engine import Engine

KEY_BITS: Final = 32
KEY_MODULUS: Final = 2**KEY_BITS
KEYED_TABLES: Final = ("services", "flows", "cases")
#: the columns that name a row of each keyed table (the order demo keys are derived in)
_ORDER: Final = {
    "services": ("period", "place_code", "data_element", "sex", "age_band", "population_group"),
    "flows": (
        "period_start",
        "period_end",
        "observation_code",
        "direction",
        "origin_code",
        "destination_code",
        "sex",
        "age_band",
        "population_group",
        "mode",
    ),
    "cases": ("case_id",),
}


def new_record_keys(n: int) -> npt.NDArray[np.int64]:
    """``n`` fresh random keys (from the operating system's entropy)."""
    rng = np.random.default_rng(secrets.randbits(128))
    keys: npt.NDArray[np.int64] = rng.integers(0, KEY_MODULUS, size=n, dtype=np.int64)
    return keys


def derive_record_keys(engine: Engine, seed: int) -> int:
    """Give every stored row a key drawn from ``seed`` (in the rows' sorted order).

    For the demonstration world only, so that its published outputs are reproducible by seed;
    a real workspace keeps the secret random keys it got at import. Returns the rows keyed.
    """
    total = 0
    with engine.transaction():
        for table, order in _ORDER.items():
            cols = ", ".join(order)
            rows = engine.query(
                f"SELECT {cols} FROM {table} ORDER BY {cols}",
                step=f"demo keys: rows of {table}",
            )
            n = rows.num_rows
            if n == 0:
                continue
            rng = np.random.default_rng([61, seed, KEYED_TABLES.index(table)])
            keys = rng.integers(0, KEY_MODULUS, size=n, dtype=np.int64)
            data = rows.select(list(order)).append_column("record_key", pa.array(keys))
            name = f"corridor_demo_keys_{table}"
            engine.execute(f"DROP TABLE IF EXISTS {name}", step="demo keys")
            types = engine.query_rows(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = ? ORDER BY ordinal_position",
                (table,),
                step=f"columns of {table}",
            )
            kinds = dict((str(a), str(b)) for a, b in types)
            body = ", ".join(f"{c} {kinds[c]}" for c in order)
            engine.execute(
                f"CREATE TEMPORARY TABLE {name} ({body}, record_key BIGINT)", step="demo keys"
            )
            engine.insert_arrow(name, data, step="demo keys")
            on = " AND ".join(f"t.{c} = k.{c}" for c in order)
            engine.execute(
                f"UPDATE {table} t SET record_key = k.record_key FROM {name} k WHERE {on}",
                step=f"demo keys: {table}",
            )
            engine.execute(f"DROP TABLE {name}", step="demo keys")
            total += n
    return total
