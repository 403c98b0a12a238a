"""What an import can change, and which cached answers it can change.

An import of services rows changes the rows of its data elements in its countries, and nothing
else (a replaced row has the same natural key, so the same element and place, as the row that
replaces it). An answer computed within a scope (the scoped views of
:mod:`corridor.access.scope`) from some data elements reads no row outside them. So an answer
whose scope holds none of the import's countries, or that reads none of its elements, is the same
after the import as before: the server's answer cache keeps it for the new data version instead
of computing it again (``AnswerCache.warm``). Anything the rules below cannot vouch for counts as
changed: answers that do not say what they read, imports of places, flows or cases, scopes
limited to a place's subtree, and a new age band where an answer reads the bands reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from corridor.access.scope import Scope
from corridor.storage.engine import Engine


@dataclass(frozen=True, slots=True)
class Reads:
    """What a cached answer reads: the warehouse within ``scope``; of the services, only the
    rows of ``elements`` (None: any element, and whatever else is in the scope);
    ``age_bands``: also the set of age bands reported in the scope (ages offered testing);
    ``latest``: also the latest date of any data in the scope (a default window)."""

    scope: Scope
    elements: frozenset[str] | None = None
    age_bands: bool = False
    latest: bool = False  # the latest date in the scope (a default reporting window)


@dataclass(frozen=True, slots=True)
class Change:
    """What a services import changed: the countries of its rows, their data elements,
    whether it brought an age band that its country had not reported before, and whether its
    latest period ends on or after its country's latest services before it."""

    countries: frozenset[str]
    elements: frozenset[str]
    new_age_band: bool
    new_latest: bool = True  # whether it may have moved a country's latest date

    def affects(self, reads: Reads | None) -> bool:
        """Whether an answer that reads ``reads`` (None: unknown) can differ after the import."""
        if reads is None:
            return True
        scope = reads.scope
        if scope.countries is not None and not scope.countries & self.countries:
            return False
        if reads.elements is None or scope.place is not None:
            return True
        if reads.elements & self.elements:
            return True
        return (reads.age_bands and self.new_age_band) or (reads.latest and self.new_latest)


def services_change(engine: Engine, import_ids: Sequence[int]) -> Change | None:
    """The change made by the services imports ``import_ids`` (committed or in the caller's
    transaction): their rows are the new and replaced ones. None when nothing can be said."""
    if not import_ids:
        return None
    ids = ", ".join(str(int(i)) for i in import_ids)
    rows = engine.query_rows(
        "SELECT DISTINCT p.country_code, s.data_element FROM services s "
        f"LEFT JOIN places p ON p.place_code = s.place_code WHERE s.import_id IN ({ids})",
        step="import's countries and elements",
    )
    if not rows or any(r[0] is None for r in rows):
        return None
    new_band = engine.scalar(
        "SELECT COUNT(*) FROM (SELECT DISTINCT p.country_code, s.age_band FROM services s "
        f"JOIN places p ON p.place_code = s.place_code WHERE s.import_id IN ({ids})) n "
        "WHERE NOT EXISTS (SELECT 1 FROM services o JOIN places q ON q.place_code = o.place_code "
        f"WHERE o.import_id NOT IN ({ids}) AND o.age_band = n.age_band "
        "AND q.country_code = n.country_code)",
        step="import's new age bands",
    )
    later = engine.scalar(
        "SELECT COUNT(*) FROM (SELECT p.country_code, MAX(s.period_end) AS latest "
        "FROM services s JOIN places p ON p.place_code = s.place_code "
        f"WHERE s.import_id IN ({ids}) GROUP BY p.country_code) n "
        "WHERE n.latest >= COALESCE((SELECT MAX(o.period_end) FROM services o "
        "JOIN places q ON q.place_code = o.place_code "
        f"WHERE o.import_id NOT IN ({ids}) AND q.country_code = n.country_code), n.latest)",
        step="import's latest dates",
    )
    return Change(
        frozenset(str(r[0]) for r in rows),
        frozenset(str(r[1]) for r in rows),
        bool(new_band),
        bool(later),
    )
