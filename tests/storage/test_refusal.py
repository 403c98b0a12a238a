"""Rows the database refuses in a bulk write: the refusal itself is what is raised (not a later
"transaction is aborted"), and ``Engine.refusal`` says why in one line that shows no row."""

from __future__ import annotations

import pyarrow as pa
import pytest

from corridor.errors import ConcurrentChangeError
from corridor.storage.engine import Engine

ROW = "Secret Name Of A Person"


def _places(codes: list[str], names: list[str | None]) -> pa.Table:
    n = len(codes)
    return pa.table(
        {
            "place_code": codes,
            "name": pa.array(names, pa.string()),
            "place_type": ["truck_stop"] * n,
            "parent_code": ["ken"] * n,
            "country_code": ["ken"] * n,
            "corridor": [""] * n,
            "dhis2_uid": [""] * n,
            "fmp_code": [""] * n,
            "import_id": [1] * n,
        }
    )


@pytest.mark.parametrize(
    ("codes", "names", "says"),
    [
        (["ke-a", "ke-a"], [ROW, ROW], "ke-a"),  # a key twice: the key is named
        (["ke-a", "ke-b"], [ROW, None], "name"),  # an empty name: the column is named
    ],
)
def test_a_refused_insert_in_a_transaction_names_its_own_reason(
    engine: Engine, codes: list[str], names: list[str | None], says: str
) -> None:
    with pytest.raises(Exception) as info, engine.transaction():
        engine.insert_arrow("places", _places(codes, names), step="restore places")
    assert "aborted" not in str(info.value)
    reason = engine.refusal(info.value)
    assert reason is not None and says in reason, (reason, info.value)
    assert ROW not in reason and "\n" not in reason
    assert engine.scalar("SELECT COUNT(*) FROM places") == 0
    engine.insert_arrow("places", _places(["ke-c"], [ROW]))  # the connection works on
    assert engine.scalar("SELECT COUNT(*) FROM places") == 1


def test_other_errors_are_no_refusal(engine: Engine) -> None:
    with pytest.raises(Exception) as info:
        engine.execute("SELECT * FROM no_such_table")
    assert engine.refusal(info.value) is None


def test_a_failure_inside_a_stage_names_its_own_step(engine: Engine) -> None:
    """A statement that fails while a stage is in use (an import's insert from it) is raised as
    that statement's error, with its step, on DuckDB too (where unregistering the stage after
    the transaction was aborted raised "transaction is aborted" instead)."""
    engine.insert_arrow("places", _places(["ke-a"], [ROW]))
    cols = ", ".join(_places([], []).column_names)
    with (
        pytest.raises(Exception) as info,
        engine.transaction(),
        engine.staged("stage_places", _places(["ke-a"], [ROW]), "places", step="stage"),
    ):
        engine.execute(
            f"INSERT INTO places ({cols}) SELECT {cols} FROM stage_places", step="insert new"
        )
    assert "aborted" not in str(info.value)
    assert engine.refusal(info.value) is not None
    # (PostgreSQL: a key held twice in an import is another import's doing, and says so)
    assert isinstance(info.value, ConcurrentChangeError) or "insert new" in str(info.value)
    assert engine.scalar("SELECT COUNT(*) FROM places") == 1
