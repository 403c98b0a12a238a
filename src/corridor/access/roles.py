"""Roles and the one permission matrix that the CLI, the API and the tests all read.

Each action is something an account may do; each role has a set of actions. What an action
reaches is further limited by the account's *scope* (its countries; for a partner, what a valid
sharing agreement grants). The matrix is documented in docs/api.md and the permission test is
generated from ``MATRIX``.
"""

from __future__ import annotations

from corridor.access.errors import PermissionDenied

ROLES: tuple[str, ...] = ("admin", "data_manager", "analyst", "partner")

#: action -> what it is (shown in docs and in 403 answers)
ACTIONS: dict[str, str] = {
    "read_indicators": "read indicators (disclosure-controlled)",
    "read_unsuppressed": "read indicators without disclosure control (audited)",
    "read_hotspots": "read the spaces-of-vulnerability ranking and its explanations",
    "read_places": "read the place registry",
    "read_status": "read the warehouse status (row counts, latest imports)",
    "read_imports": "read the list of imports",
    "read_quarantine": "read quarantined rows",
    "write_imports": "import files",
    "read_audit": "read the audit trail",
    "manage_accounts": "create and disable accounts and tokens, record sharing agreements",
}

#: role -> actions. ``read_unsuppressed`` for an analyst needs the account's explicit grant.
MATRIX: dict[str, frozenset[str]] = {
    "admin": frozenset(ACTIONS),
    "data_manager": frozenset(
        {
            "read_indicators",
            "read_hotspots",
            "read_places",
            "read_status",
            "read_imports",
            "read_quarantine",
            "write_imports",
        }
    ),
    "analyst": frozenset(
        {"read_indicators", "read_unsuppressed", "read_hotspots", "read_places", "read_status"}
    ),
    "partner": frozenset({"read_indicators", "read_places"}),
}

#: roles whose reads are limited by sharing agreements rather than by their own countries
AGREEMENT_ROLES = frozenset({"partner"})


def check_role(role: str) -> str:
    from corridor.errors import QueryError

    if role not in ROLES:
        raise QueryError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    return role


def allows(role: str, action: str, *, unsuppressed_grant: bool = False) -> bool:
    """Whether ``role`` may do ``action`` (an analyst reads unsuppressed only with the grant)."""
    if action not in ACTIONS:
        raise KeyError(action)
    if action not in MATRIX.get(role, frozenset()):
        return False
    return not (action == "read_unsuppressed" and role == "analyst" and not unsuppressed_grant)


def require(role: str, action: str, *, unsuppressed_grant: bool = False, user: str = "") -> None:
    """Raise PermissionDenied naming the action and the role when it is not allowed."""
    if not allows(role, action, unsuppressed_grant=unsuppressed_grant):
        who = f"account {user!r} (role {role})" if user else f"role {role}"
        extra = (
            " without an explicit unsuppressed grant (`corridor users add --unsuppressed`)"
            if action == "read_unsuppressed" and role == "analyst"
            else ""
        )
        raise PermissionDenied(f"{who} may not {ACTIONS[action]}{extra}")
