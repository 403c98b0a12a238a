"""Reads on behalf of an account: permission, scope (in the query), disclosure, audit.

The one place where the CLI's domain functions meet an account: the API routes (and the
dashboard) call these and serialise what they return. Every count that leaves goes through
``corridor.indicators.disclosure.publish`` unless the account may read unsuppressed and asked to,
and every read is appended to the audit trail with its parameters, cell count and whether
disclosure control applied.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import pyarrow as pa

from corridor.access.accounts import Account, now
from corridor.access.agreements import granted_scope, list_agreements
from corridor.access.audit import append
from corridor.access.changes import Change, Reads
from corridor.access.countries import warehouse_countries
from corridor.access.errors import NotFound, PermissionDenied
from corridor.access.roles import AGREEMENT_ROLES, require
from corridor.access.scope import Scope, parse_asked_countries, scoped
from corridor.access.versions import data_version as data_version  # re-exported
from corridor.config import Settings
from corridor.errors import CorridorError
from corridor.indicators import compute_indicators, publish
from corridor.indicators.aggregate import parse_by
from corridor.indicators.cellkey import without_keys
from corridor.indicators.registry import resolve_ids
from corridor.storage.engine import Engine

CELLS_PER_ROW = 3  # numerator, denominator, value


@dataclass(frozen=True, slots=True)
class IndicatorQuery:
    indicators: tuple[str, ...]
    by: tuple[str, ...] = ()
    period: str | None = None
    country: str | None = None  # ISO3 list, narrows the scope
    place: str | None = None  # a place code: it and its descendants
    totals: bool = True
    unsuppressed: bool = False
    within: tuple[str, ...] = ()  # place codes the caller picks from the answer (scope-checked)

    def as_dict(self) -> dict[str, Any]:
        return {
            "indicators": list(self.indicators),
            "by": list(self.by),
            "period": self.period or "all",
            "country": self.country,
            "place": self.place,
            "totals": self.totals,
            "unsuppressed": self.unsuppressed,
        }


class _AskWarehouse(CorridorError):
    """Only the warehouse can say whether a country filter is accepted (no database here)."""


def countries_known_to(engine: Engine | None, account: Account) -> Collection[str]:
    """The codes besides ISO 3166-1 and XKX that ``account`` may name in a country filter: the
    warehouse's places' for an account that reads every country; for one that reads some
    countries only, its own (its scope's; a partner's, those of its agreements), never the
    warehouse's, so that a refusal tells it nothing about the countries it does not read.
    With ``engine`` None (no database at hand), _AskWarehouse where it must be read."""
    if account.role in AGREEMENT_ROLES:
        if engine is None:
            raise _AskWarehouse("a partner's countries are its agreements'")
        return {c for a in list_agreements(engine, account.username) for c in a.countries or ()}
    if account.countries is not None:
        return account.countries
    if engine is None:
        raise _AskWarehouse("the warehouse's country codes")
    return warehouse_countries(engine)


def asked_countries(
    engine: Engine | None, account: Account, text: str | None
) -> frozenset[str] | None:
    """A query's country filter (``country=KEN,UGA``) as ``account`` may ask it, or None for
    none: QueryError (400) for a code that is neither ISO 3166-1 alpha-3, nor XKX, nor one of
    :func:`countries_known_to` (a typo such as ``KNE`` would otherwise answer nothing). A valid
    code outside the account's countries is left to the scope check (403)."""
    if not text:
        return None
    return parse_asked_countries(text, lambda: countries_known_to(engine, account))


def scope_for(engine: Engine, account: Account, q: IndicatorQuery) -> Scope:
    """The account's scope for this query, narrowed by its country and place filters. A
    partner's filters are judged by its agreement like the rest of its query: within the
    agreement's countries and no finer than its disaggregation (a site only when it grants
    disaggregation by place), so that no filter reads what no agreement grants."""
    wanted = asked_countries(engine, account, q.country)
    asked = Scope(None).narrow(wanted, q.place)  # a malformed place code is a 400 first
    if account.role in AGREEMENT_ROLES:
        base = granted_scope(
            engine,
            account.username,
            q.indicators,
            q.by,
            q.period,
            countries=wanted,
            place=asked.place,
        )
    else:
        base = account.scope
    scope = base.narrow(wanted, q.place)
    places = (*([q.place] if q.place else []), *q.within)
    check_places_in_scope(engine, scope, places)
    return scope


def check_places_in_scope(
    engine: Engine, scope: Scope, codes: Sequence[str], cache: Cache | None = None
) -> None:
    """A named place outside the scope is refused (403), an unknown one is a 404: never an
    empty answer that hides why. Places' countries may come from ``cache``."""
    for raw in codes:
        code = raw.strip().lower()

        def country_on(target: Engine, code: str = code) -> str:  # "": no such place
            found = target.scalar(
                "SELECT country_code FROM places WHERE place_code = ?",
                (code,),
                step="place country",
            )
            return "" if found is None else str(found)

        if cache is not None:  # changed only by an import of places
            key = _place_country_key(code, data_version(engine))
            reads = Reads(Scope(None), frozenset())
            country = cache.get_or_compute(key, lambda: country_on(engine), country_on, reads)
        else:
            country = country_on(engine)
        if not country:
            raise NotFound(f"no place with code {code!r} (see GET /places)")
        if scope.countries is not None and country not in scope.countries:
            raise PermissionDenied(
                f"place {code!r} is in {str(country).upper()}, outside your scope "
                f"({scope.describe()})"
            )


class Cache(Protocol):
    def get_or_compute(
        self,
        key: tuple[Any, ...],
        compute: Callable[[], Any],
        refresh: Callable[[Engine], Any] | None = None,
        reads: Reads | None = None,
    ) -> Any: ...

    def warm(
        self,
        engine: Engine,
        versions: Sequence[tuple[Any, ...]],
        limit: int = ...,
        budget_s: float = ...,
        change: Change | None = None,
        current: tuple[Any, ...] | None = None,
    ) -> int: ...


class Peek(Protocol):
    def peek(self, key: tuple[Any, ...]) -> Any: ...


class Audited(NamedTuple):
    """An audit entry a read makes (``corridor.access.audit.append``'s arguments)."""

    user: str
    action: str
    detail: dict[str, Any]
    cells: int
    suppressed: bool


def record(engine: Engine, entry: Audited) -> None:
    """Append ``entry`` to the audit trail (committed when this returns)."""
    append(
        engine,
        entry.user,
        entry.action,
        entry.detail,
        cells=entry.cells,
        suppressed=entry.suppressed,
    )


def _indicator_key(
    scope: Scope, ids: Sequence[str], dims: Sequence[str], q: IndicatorQuery, version: Any
) -> tuple[Any, ...]:
    return (scope, tuple(ids), tuple(dims), q.period, q.totals, version)


def _indicators_audited(
    account: Account, q: IndicatorQuery, scope: Scope, table: pa.Table, channel: str
) -> Audited:
    return Audited(
        account.username,
        f"{channel}.read_indicators",
        {**q.as_dict(), "scope": scope.describe()},
        table.num_rows * CELLS_PER_ROW,
        not q.unsuppressed,
    )


def cached_indicators(
    account: Account, q: IndicatorQuery, cache: Peek, version: Any, *, channel: str
) -> tuple[pa.Table, Audited] | None:
    """What :func:`read_indicators` would answer, when ``cache`` already holds it for data
    ``version`` and no warehouse read is needed to decide who may see what (no sharing
    agreement, no place filter, published values): the answer and the audit entry that the
    caller must append before the answer leaves. None otherwise, also for a query that
    :func:`read_indicators` refuses (which then says why) or whose country filter only the
    warehouse can judge (a code outside ISO 3166-1 asked by an account that reads every
    country). Reads no database."""
    if q.unsuppressed or q.place or q.within or account.role in AGREEMENT_ROLES:
        return None
    try:
        require(account.role, "read_indicators", user=account.username)
        ids = [i.id for i in resolve_ids(q.indicators)]
        dims = parse_by(q.by)
        scope = account.scope.narrow(asked_countries(None, account, q.country), None)
    except CorridorError:  # _AskWarehouse included
        return None
    table: pa.Table | None = cache.peek(_indicator_key(scope, ids, dims, q, version))
    if table is None:
        return None
    return table, _indicators_audited(account, q, scope, table, channel)


def read_indicators(
    engine: Engine,
    account: Account,
    settings: Settings,
    q: IndicatorQuery,
    *,
    channel: str,
    cache: Cache | None = None,
) -> pa.Table:
    """Indicators as the account may see them: scoped in SQL, published unless allowed and asked.
    Published answers may come from ``cache`` (keyed by scope, query and data version); every
    read is audited either way."""
    require(account.role, "read_indicators", user=account.username)
    if q.unsuppressed:
        require(
            account.role,
            "read_unsuppressed",
            unsuppressed_grant=account.unsuppressed,
            user=account.username,
        )
    ids = [i.id for i in resolve_ids(q.indicators)]
    dims = parse_by(q.by)
    scope = scope_for(engine, account, q)

    def compute_on(target: Engine) -> pa.Table:
        with scoped(target, scope) as eng:
            raw = compute_indicators(
                eng,
                ids,
                dims,
                q.period,
                totals=q.totals,
                completeness=settings.completeness_threshold,
                testing_min_age=settings.testing_min_age,
            )
        return without_keys(raw) if q.unsuppressed else publish(raw, settings)

    if cache is not None and not q.unsuppressed:
        key = _indicator_key(scope, ids, dims, q, data_version(engine))
        # the refresher lets an import compute this answer again for its new data (``warm``),
        # and what it reads lets an import of other elements or countries keep it
        table: pa.Table = cache.get_or_compute(
            key, lambda: compute_on(engine), compute_on, indicator_reads(scope, ids)
        )
    else:
        table = compute_on(engine)
    record(engine, _indicators_audited(account, q, scope, table, channel))
    return table


def indicator_reads(scope: Scope, ids: Sequence[str]) -> Reads:
    """What the indicators ``ids`` read within ``scope``: the rows of their numerator and
    denominator elements, and the age bands reported where an indicator counts the ages
    offered testing (``corridor.indicators.aggregate``)."""
    indicators = resolve_ids(ids)
    elements = frozenset(e for i in indicators for e in i.elements)
    ages = any(s.offered_ages for i in indicators for s in i.series)
    return Reads(scope, elements, ages)


def read_hotspots(
    engine: Engine,
    account: Account,
    settings: Settings,
    *,
    period: str | None,
    country: str | None,
    draws: int,
    seed: int,
    channel: str,
    cache: Cache | None = None,
    place: str | None = None,
) -> Any:
    """The ranking within the account's scope (a HotspotResult), with the workspace's
    ``testing_min_age`` as ``corridor hotspots`` ranks; raw measures are disclosed by the caller
    with the same threshold as the CLI (``result.disclosed``/``explain``). ``place``: the site
    whose rank the caller explains (``GET /hotspots/{place_code}``), recorded in the audit
    entry."""
    require(account.role, "read_hotspots", user=account.username)
    scope = account.scope.narrow(asked_countries(engine, account, country))
    result = hotspots_answer(
        engine,
        scope,
        period=period,
        draws=draws,
        seed=seed,
        testing_min_age=settings.testing_min_age,
        cache=cache,
    )
    entry = _hotspots_audited(account, result, period, country, draws, seed, channel, place)
    record(engine, entry)
    return result


def _hotspots_audited(
    account: Account,
    result: Any,
    period: str | None,
    country: str | None,
    draws: int,
    seed: int,
    channel: str,
    place: str | None = None,
) -> Audited:
    detail: dict[str, Any] = {"period": period, "country": country, "draws": draws, "seed": seed}
    if place is not None:  # a site's explanation: which site was read
        detail["place"] = place.strip().lower()
    return Audited(
        account.username,
        f"{channel}.read_hotspots",
        detail,
        result.table.num_rows,
        True,
    )


def cached_hotspots(
    account: Account,
    cache: Peek,
    version: Any,
    *,
    period: str | None,
    draws: int,
    seed: int,
    channel: str,
    place: str | None = None,
) -> tuple[Any, Audited] | None:
    """What :func:`read_hotspots` (without a country filter; explaining ``place`` when given)
    would answer when ``cache`` holds the ranking for ``version``, with the audit entry to
    append first; else None."""
    try:
        require(account.role, "read_hotspots", user=account.username)
    except CorridorError:
        return None
    scope = account.scope.narrow(None)
    result = cache.peek(_hotspots_key(scope, period, draws, seed, version))
    if result is None:
        return None
    return result, _hotspots_audited(account, result, period, None, draws, seed, channel, place)


def _hotspots_key(
    scope: Scope, period: str | None, draws: int, seed: int, version: Any
) -> tuple[Any, ...]:
    # no settings in the key (nor in ``_indicator_key``): a cache is the server's (one per
    # ``corridor.api.hub.Hub``), whose settings are read once when it starts
    return ("hotspots", scope, period, draws, seed, version)


def hotspots_answer(
    engine: Engine,
    scope: Scope,
    *,
    period: str | None,
    draws: int,
    seed: int,
    testing_min_age: int,
    cache: Cache | None = None,
) -> Any:
    """The ranking computed within ``scope`` (or ``cache``'s copy of it): no permission check
    and no audit, which are the caller's (``read_hotspots``; answers prepared when the server
    starts, ``corridor.web.warm``, which no user has read yet). ``testing_min_age``: the
    workspace's setting (``Settings.testing_min_age``), as ``corridor hotspots`` ranks."""
    from corridor.hotspots import rank_sites

    def compute_on(target: Engine) -> Any:
        with scoped(target, scope) as eng:
            return rank_sites(
                eng, period=period, draws=draws, seed=seed, testing_min_age=testing_min_age
            )

    if cache is None:
        return compute_on(engine)
    # the ranking is deterministic for its seed: same scope and data, same answer; an import
    # computes it again for the new data (``refresh``) before readers switch to it
    key = _hotspots_key(scope, period, draws, seed, data_version(engine))
    # what the ranking reads: its elements, and without a period the latest date of any
    from corridor.hotspots.inputs import ELEMENTS_READ

    reads = Reads(scope, frozenset(ELEMENTS_READ), latest=period is None)
    return cache.get_or_compute(key, lambda: compute_on(engine), compute_on, reads)


def read_places(
    engine: Engine, account: Account, *, channel: str, cache: Cache | None = None
) -> list[dict[str, Any]]:
    """The place registry within the account's countries (from ``cache`` by scope and data
    version when given: places change only by an import)."""
    require(account.role, "read_places", user=account.username)
    if account.role in AGREEMENT_ROLES:
        today = now().date()
        countries: set[str] = set()
        for a in list_agreements(engine, account.username):
            if a.active(today) and a.countries:
                countries |= a.countries
        scope = Scope(frozenset(countries))
    else:
        scope = account.scope

    def compute_on(target: Engine) -> list[dict[str, Any]]:
        with scoped(target, scope) as eng:
            found: list[dict[str, Any]] = eng.query(
                "SELECT place_code, name, place_type, parent_code, country_code, lat, lon, "
                "corridor, dhis2_uid FROM places ORDER BY country_code, place_code",
                step="places",
            ).to_pylist()
        return found

    if cache is not None:
        key = ("places", scope, data_version(engine))
        rows: list[dict[str, Any]] = cache.get_or_compute(
            key, lambda: compute_on(engine), compute_on, Reads(scope, frozenset())
        )
    else:
        rows = compute_on(engine)
    record(engine, _places_audited(account, channel))
    return rows


def _places_audited(account: Account, channel: str) -> Audited:
    return Audited(account.username, f"{channel}.read_places", {}, 0, True)


def cached_places(
    account: Account, cache: Peek, version: Any, *, channel: str
) -> tuple[list[dict[str, Any]], Audited] | None:
    """What :func:`read_places` would answer when ``cache`` holds it for ``version`` and no
    sharing agreement is involved, with the audit entry to append first; else None."""
    if account.role in AGREEMENT_ROLES:
        return None
    try:
        require(account.role, "read_places", user=account.username)
    except CorridorError:
        return None
    rows: list[dict[str, Any]] | None = cache.peek(("places", account.scope, version))
    if rows is None:
        return None
    return rows, _places_audited(account, channel)


def check_place_in_scope(
    engine: Engine, account: Account, place_code: str, cache: Cache | None = None
) -> None:
    """403 for a place outside the account's countries (not a 404 that would hide it)."""
    check_places_in_scope(engine, account.scope, [place_code], cache)


def _place_country_key(code: str, version: Any) -> tuple[Any, ...]:
    return ("place country", code, version)


def cached_place_in_scope(account: Account, place_code: str, cache: Peek, version: Any) -> bool:
    """Whether the cache knows, for ``version``, that ``place_code`` is in the account's
    countries (what :func:`check_place_in_scope` checks); False when it does not know."""
    country = cache.peek(_place_country_key(place_code.strip().lower(), version))
    if not country:
        return False
    countries = account.scope.countries
    return countries is None or country in countries


def _own_imports(account: Account) -> tuple[str, list[Any]]:
    """Admins see every import; data managers the imports they made (for their countries)."""
    if account.role == "admin":
        return "", []
    return " WHERE user_name = ?", [account.username]


def published_case_count(count: int, key: int, settings: Settings) -> int | str:
    """The number of case rows (one row a person) as it may leave: through the one disclosure
    function, as a count whose cell key is the sum of the rows' record keys (cell-key method:
    perturbed, never 1-9; suppression: ``<10`` for 1-9)."""
    from corridor.indicators.disclosure import publish_counts

    shown = publish_counts([count], [key], settings, "cases")[0]
    if shown is None or isinstance(shown, str):
        return str(shown or "suppressed")
    return int(shown)


def read_status(
    engine: Engine,
    account: Account,
    *,
    channel: str,
    cache: Cache | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Row counts within the account's scope (from ``cache`` by scope and data version when
    given) and, for those who may read imports, the latest imports (never cached). The count
    of ``cases`` (people) is published (:func:`published_case_count`; ``settings``: the
    disclosure settings, the defaults when None), the other counts are of data rows."""
    from corridor.access.roles import allows
    from corridor.config import load_settings
    from corridor.contract.schema import KINDS
    from corridor.storage.recordkeys import KEY_MODULUS

    require(account.role, "read_status", user=account.username)
    disclosure = settings if settings is not None else load_settings(None)

    def compute_on(target: Engine) -> dict[str, int | str]:
        with scoped(target, account.scope) as eng:
            counts: dict[str, int | str] = {
                k: int(eng.scalar(f"SELECT COUNT(*) FROM {k}", step=f"count {k}") or 0)
                for k in KINDS
                if k != "cases"
            }
            rows = eng.query_rows(
                f"SELECT COUNT(*), COALESCE(SUM(record_key), 0) % {KEY_MODULUS} FROM cases",
                step="count cases",
            )
            n, key = (int(rows[0][0] or 0), int(rows[0][1] or 0)) if rows else (0, 0)
            counts["cases"] = published_case_count(n, key, disclosure)
            return {k: counts[k] for k in KINDS}

    if cache is not None:
        key = ("status", account.scope, data_version(engine))
        counts: dict[str, int | str] = dict(
            cache.get_or_compute(key, lambda: compute_on(engine), compute_on, Reads(account.scope))
        )
    else:
        counts = compute_on(engine)
    out: dict[str, Any] = {
        "database": engine.name,
        "scope": account.scope.describe(),
        "counts": counts,
    }
    if allows(account.role, "read_imports"):
        out["imports"] = read_imports(engine, account, limit=10, channel=None)
    record(engine, _status_audited(account, channel))
    return out


def _status_audited(account: Account, channel: str) -> Audited:
    return Audited(account.username, f"{channel}.read_status", {}, 0, True)


def cached_status(
    account: Account, cache: Peek, version: Any, *, database: str, channel: str
) -> tuple[dict[str, Any], Audited] | None:
    """What :func:`read_status` would answer on a ``database`` warehouse when ``cache`` holds
    the counts for ``version`` and the account's role shows no imports (they are read every
    time), with the audit entry to append first; else None."""
    from corridor.access.roles import allows

    if allows(account.role, "read_imports"):
        return None
    try:
        require(account.role, "read_status", user=account.username)
    except CorridorError:
        return None
    counts = cache.peek(("status", account.scope, version))
    if counts is None:
        return None
    out = {"database": database, "scope": account.scope.describe(), "counts": dict(counts)}
    return out, _status_audited(account, channel)


IMPORT_COLUMNS = (
    "import_id",
    "file_name",
    "kind",
    "format",
    "user_name",
    "imported_at",
    "rows_read",
    "rows_imported",
    "rows_new",
    "rows_replaced",
    "rows_unchanged",
    "rows_quarantined",
    "status",
    "sha256",
)


def read_imports(
    engine: Engine, account: Account, *, limit: int = 100, channel: str | None
) -> list[dict[str, Any]]:
    require(account.role, "read_imports", user=account.username)
    where, params = _own_imports(account)
    rows = engine.query(
        f"SELECT {', '.join(IMPORT_COLUMNS)} FROM imports{where} ORDER BY import_id DESC LIMIT ?",
        [*params, limit],
        step="imports",
    ).to_pylist()
    if channel is not None:
        append(engine, account.username, f"{channel}.read_imports", {"limit": limit}, cells=0)
    return rows


QUARANTINE_COLUMNS = (
    "import_id",
    "row_number",
    "column_name",
    "value",
    "reason",
    "record",
    "country_code",
)


def read_quarantine(
    engine: Engine, account: Account, *, limit: int = 1000, channel: str
) -> list[dict[str, Any]]:
    """Quarantined rows (row-level: data managers, admins), of the account's countries only:
    each row's country is recorded when it is quarantined (``corridor.access.quarantine``), and
    the filter is part of the query. Rows of no known country are shown to admins only."""
    require(account.role, "read_quarantine", user=account.username)
    where, params = "", []
    if account.countries is not None:
        where = f"WHERE q.country_code IN ({', '.join('?' * len(account.countries)) or 'NULL'}) "
        params = sorted(account.countries)
    rows = engine.query(
        f"SELECT {', '.join('q.' + c for c in QUARANTINE_COLUMNS)} FROM quarantine q {where}"
        "ORDER BY q.import_id DESC, q.row_number LIMIT ?",
        [*params, limit],
        step="quarantine",
    ).to_pylist()
    append(
        engine,
        account.username,
        f"{channel}.read_quarantine",
        {"limit": limit, "scope": account.scope.describe()},
        cells=len(rows),
        suppressed=False,
    )
    return rows
