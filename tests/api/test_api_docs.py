"""docs/api.md's permission matrix is the code's matrix."""

from __future__ import annotations

from pathlib import Path

from corridor.access.roles import ACTIONS, MATRIX, ROLES

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_the_documented_matrix_is_the_matrix() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- matrix:start -->")[1].split("<!-- matrix:end -->")[0]
    lines = [line for line in table.strip().splitlines()[2:] if line.startswith("|")]
    by_text = {v: k for k, v in ACTIONS.items()}
    assert len(lines) == len(ACTIONS)
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        action = by_text[cells[0]]
        for role, cell in zip(ROLES, cells[1:5], strict=True):
            allowed = action in MATRIX[role]
            if cell == "with grant":
                assert allowed and role == "analyst" and action == "read_unsuppressed"
            else:
                assert cell == ("yes" if allowed else "no"), (action, role)
