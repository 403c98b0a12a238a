"""Country scope of an import on behalf of an account: which countries its rows (loaded and
quarantined) belong to, refusing rows outside the account's countries, and recording the
country of each quarantined row so that ``GET /quarantine`` can be limited to a data manager's
countries in the query.

A quarantined row's country is that of the place it names (the ``place_code``, or for flows
the ``observation_code``; a places file names its own ``country_code``, when it is a country:
ISO 3166-1, XKX or one of the warehouse's). A row naming no known place or country (an unknown
code, a file-level problem) takes the account's country when the account has exactly one, else
the country of the import's loaded rows when they are all of one; otherwise it has none and only
admins see it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence

import polars as pl

from corridor.access.accounts import Account
from corridor.access.errors import PermissionDenied
from corridor.contract.countries import country_names
from corridor.storage.engine import Engine

#: checks a file's valid rows (kind, rows) and raises to refuse them
FileScope = Callable[[str, pl.DataFrame], None]
_PLACE_FIELDS = ("place_code", "observation_code")
_CODE_OF_KIND = {"services": "place_code", "cases": "place_code", "flows": "observation_code"}
_CHUNK = 500


def _country_of_record(
    record: str | None, places: dict[str, str], countries: Collection[str]
) -> str | None:
    if not record:
        return None
    try:
        fields = json.loads(record)
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    own = str(fields.get("country_code") or "").strip().lower()
    if own in countries:  # a row of a places file (a refused code, KNE, names no country)
        return own
    for name in _PLACE_FIELDS:
        code = str(fields.get(name) or "").strip().lower()
        if code in places:
            return places[code]
    return None


def _loaded_countries(engine: Engine, import_id: int) -> set[str]:
    countries: set[str] = set()
    for kind, code in _CODE_OF_KIND.items():
        countries |= {
            str(r[0])
            for r in engine.query_rows(
                f"SELECT DISTINCT p.country_code FROM {kind} t JOIN places p "
                f"ON p.place_code = t.{code} WHERE t.import_id = ?",
                (import_id,),
                step="countries of an import",
            )
        }
    countries |= {
        str(r[0])
        for r in engine.query_rows(
            "SELECT DISTINCT country_code FROM places WHERE import_id = ?",
            (import_id,),
            step="countries of an import",
        )
    }
    return countries


def tag_quarantine(engine: Engine, account: Account, import_ids: Sequence[int]) -> None:
    """Record the country of each quarantined row of ``import_ids`` (in the import's
    transaction)."""
    own = (
        next(iter(account.countries)) if account.countries and len(account.countries) == 1 else None
    )
    tag_quarantine_countries(engine, import_ids, own)


def tag_quarantine_countries(
    engine: Engine, import_ids: Sequence[int], own: str | None = None
) -> None:
    """Record the country of each quarantined row of ``import_ids``: the country of the place
    it names, else ``own`` (an account's one country), else that of the import's loaded rows
    when they are all of one country. Imports on behalf of no account (``corridor ingest``, the
    Python API) pass no ``own``."""
    if not import_ids:
        return
    places = {
        str(code): str(country)
        for code, country in engine.query_rows(
            "SELECT place_code, country_code FROM places", step="place countries"
        )
    }
    countries = set(country_names()) | set(places.values())
    for import_id in import_ids:
        records = [
            r[0]
            for r in engine.query_rows(
                "SELECT DISTINCT record FROM quarantine WHERE import_id = ? AND record IS NOT NULL",
                (int(import_id),),
                step="quarantined records",
            )
        ]
        has_unrecorded = bool(
            engine.scalar(
                "SELECT COUNT(*) FROM quarantine WHERE import_id = ? AND record IS NULL",
                (int(import_id),),
                step="quarantined records",
            )
        )
        if not records and not has_unrecorded:
            continue
        fallback = own
        if fallback is None:
            loaded = _loaded_countries(engine, int(import_id))
            fallback = next(iter(loaded)) if len(loaded) == 1 else None
        by_country: dict[str, list[str]] = defaultdict(list)
        for record in records:
            country = _country_of_record(record, places, countries) or fallback
            if country is not None:
                by_country[country].append(record)
        for country, recs in by_country.items():
            for i in range(0, len(recs), _CHUNK):
                chunk = recs[i : i + _CHUNK]
                engine.execute(
                    "UPDATE quarantine SET country_code = ? WHERE import_id = ? AND record IN ("
                    + ", ".join("?" * len(chunk))
                    + ")",
                    [country, int(import_id), *chunk],
                    step="quarantine countries",
                )
        if has_unrecorded and fallback is not None:
            engine.execute(
                "UPDATE quarantine SET country_code = ? WHERE import_id = ? AND record IS NULL",
                (fallback, int(import_id)),
                step="quarantine countries",
            )


def _outside(engine: Engine, kind: str, ids: str, allowed: str) -> list[tuple[str, str, int]]:
    """(country, place code, rows) of the loaded and quarantined rows outside ``allowed``."""
    if kind == "places":
        loaded = (
            "SELECT country_code, place_code, COUNT(*) FROM places "
            f"WHERE import_id IN ({ids}) AND country_code NOT IN ({allowed}) "
            "GROUP BY country_code, place_code"
        )
    else:
        code = _CODE_OF_KIND[kind]
        loaded = (
            f"SELECT COALESCE(p.country_code, '?'), t.{code}, COUNT(*) FROM {kind} t "
            f"LEFT JOIN places p ON p.place_code = t.{code} "
            f"WHERE t.import_id IN ({ids}) AND (p.country_code IS NULL OR "
            f"p.country_code NOT IN ({allowed})) GROUP BY 1, 2"
        )
    quarantined = (
        "SELECT country_code, '(quarantined row)', COUNT(*) FROM quarantine "
        f"WHERE import_id IN ({ids}) AND country_code IS NOT NULL "
        f"AND country_code NOT IN ({allowed}) GROUP BY country_code"
    )
    rows = engine.query_rows(loaded, step="import scope") + engine.query_rows(
        quarantined, step="import scope"
    )
    return sorted((str(c), str(p), int(n)) for c, p, n in rows)


def require_countries_of_import(
    engine: Engine,
    account: Account,
    kind: str,
    import_ids: Sequence[int],
    *,
    dry_run: bool = False,
) -> None:
    """Refuse (and so roll back) an import with rows outside the account's countries, naming
    the places, their countries and how many rows."""
    if account.countries is None or not import_ids:
        return
    ids = ",".join(str(int(i)) for i in import_ids)
    allowed = ",".join("'" + c + "'" for c in sorted(account.countries)) or "''"
    _refuse(account, _outside(engine, kind, ids, allowed), dry_run=dry_run)


def file_scope(engine: Engine, account: Account, *, dry_run: bool = False) -> FileScope | None:
    """A check of a file's valid rows against the account's countries before anything is
    loaded: rows that would be unchanged or replaced count as much as new ones, so that an
    upload cannot learn whether another country's stored values equal its own."""
    if account.countries is None:
        return None
    places = {
        str(code): str(country)
        for code, country in engine.query_rows(
            "SELECT place_code, country_code FROM places", step="place countries"
        )
    }

    def check(kind: str, valid: pl.DataFrame) -> None:
        column = "country_code" if kind == "places" else _CODE_OF_KIND.get(kind)
        if column is None or column not in valid.columns or valid.height == 0:
            return
        codes = valid.get_column(column).cast(pl.Utf8)
        counts = codes.value_counts()
        outside: list[tuple[str, str, int]] = []
        if kind == "places":
            outside += _moved_places(valid, places, account.countries or set())
        for code, n in counts.iter_rows():
            code = str(code)
            if kind == "places":
                country, place = code.lower(), "(places file)"
            else:
                country, place = places.get(code, "?"), code
            if country not in (account.countries or set()):
                outside.append((country, place, int(n)))
        _refuse(account, sorted(outside), dry_run=dry_run)

    return check


def _moved_places(
    valid: pl.DataFrame, places: dict[str, str], allowed: Collection[str]
) -> list[tuple[str, str, int]]:
    """(stored country, place, rows) of the rows of a places file that would take a place of
    another country, or hang a place under one: a place already stored under a country
    outside ``allowed`` (its row would move it into the account's country, and its data with
    it), or a parent stored under such a country."""
    found: dict[tuple[str, str], int] = {}
    for name in ("place_code", "parent_code"):
        if name not in valid.columns:
            continue
        for code in valid.get_column(name).cast(pl.Utf8).to_list():
            key = str(code or "").strip().lower()
            country = places.get(key)
            if country is not None and country not in allowed:
                label = key if name == "place_code" else f"parent {key}"
                found[(country, label)] = found.get((country, label), 0) + 1
    return [(country, place, n) for (country, place), n in found.items()]


def _refuse(account: Account, outside: list[tuple[str, str, int]], *, dry_run: bool) -> None:
    if not outside:
        return
    total = sum(n for *_, n in outside)
    named = "; ".join(
        f"{place} ({country.upper()}): {n} row{'s' if n != 1 else ''}"
        for country, place, n in outside[:10]
    ) + ("; ..." if len(outside) > 10 else "")
    raise PermissionDenied(
        f"{total} row{'s' if total != 1 else ''} of the file "
        f"{'are' if total != 1 else 'is'} outside the countries of account {account.username!r} "
        f"({','.join(sorted(account.countries or ())).upper()}): {named}; "
        + ("nothing was imported (dry run)" if dry_run else "nothing was imported")
    )
