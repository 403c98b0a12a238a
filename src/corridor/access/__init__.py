"""Who may see what: accounts, roles, country scopes, sharing agreements and the audit trail.

Domain code shared by the CLI, the HTTP API and the dashboard; no web framework here::

    from corridor.access import account_for_token, scoped, require
    acct = account_for_token(engine, token)
    require(acct.role, "read_indicators")
    with scoped(engine, acct.scope) as eng:   # the database sees only the scope's rows
        raw = compute_indicators(eng, ["first_95"], by=["country"])
"""

from corridor.access.accounts import (
    Account,
    TokenInfo,
    account_for_token,
    add_user,
    admin_exists,
    authenticate,
    create_token,
    disable_user,
    generate_password,
    get_user,
    list_tokens,
    list_users,
    revoke_token,
)
from corridor.access.agreements import (
    Agreement,
    add_agreement,
    granted_scope,
    list_agreements,
    revoke_agreement,
)
from corridor.access.audit import append as audit_append
from corridor.access.audit import verify as audit_verify
from corridor.access.errors import AuthenticationError, NotFound, PermissionDenied, RateLimited
from corridor.access.roles import ACTIONS, MATRIX, ROLES, allows, require
from corridor.access.scope import Scope, parse_countries, parse_granted_countries, scoped

__all__ = [
    "ACTIONS",
    "MATRIX",
    "ROLES",
    "Account",
    "Agreement",
    "AuthenticationError",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "Scope",
    "TokenInfo",
    "account_for_token",
    "add_agreement",
    "add_user",
    "admin_exists",
    "allows",
    "audit_append",
    "audit_verify",
    "authenticate",
    "create_token",
    "disable_user",
    "generate_password",
    "get_user",
    "granted_scope",
    "list_agreements",
    "list_tokens",
    "list_users",
    "parse_countries",
    "parse_granted_countries",
    "require",
    "revoke_agreement",
    "revoke_token",
    "scoped",
]
