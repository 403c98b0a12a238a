"""Answers prepared when ``corridor serve`` starts, before it answers anybody.

For each account scope that may read the ranking (the countries of active admins, data managers
and analysts; one computation per distinct scope), the default overview, map and spaces of
vulnerability are computed into the server's answer cache: the ranking (``hotspots_answer``,
the API's key), the report's summary views and the map's layers, by the same functions and
under the same keys as the pages, so that the first user of the day finds them ready. Each is
computed within its own scope (the scoped views of ``corridor.access.scope``), and every key
holds the scope and the data version: an account reads only answers computed for exactly its
scope, and an import (a new data version) makes them stale (``AnswerCache.warm`` then computes
the most used ones again). The settings an answer depends on (disclosure, ``testing_min_age``,
``completeness_threshold``) are the server's, read once when it starts and the same for every
answer of its cache, so the keys need not hold them. Nothing is audited here: no user has read
anything yet; each page audits its own reads as always. Scopes with the most accounts come
first, until ``budget_s``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from corridor.access.accounts import Account, list_users
from corridor.access.reads import hotspots_answer
from corridor.access.roles import allows
from corridor.access.scope import Scope
from corridor.errors import CorridorError
from corridor.storage.engine import Engine
from corridor.web.live import DRAWS, SEED, cached_in, window_for
from corridor.web.map import layer_rows, layers_key
from corridor.web.overview import summary_key, summary_views

log = logging.getLogger("corridor.web")


@dataclass(frozen=True, slots=True)
class Prepared:
    scopes: int  # scopes whose overview, map and ranking are ready
    left: int  # scopes left for their first user (the budget ran out, or no data)
    seconds: float


def ranking_scopes(engine: Engine) -> list[tuple[Scope, Account]]:
    """Distinct scopes of active accounts that may read the ranking, most accounts first, each
    with one of its accounts."""
    accounts = [a for a in list_users(engine) if not a.disabled and allows(a.role, "read_hotspots")]
    count = Counter(a.scope for a in accounts)
    first: dict[Scope, Account] = {}
    for a in accounts:
        first.setdefault(a.scope, a)
    return sorted(first.items(), key=lambda item: (-count[item[0]], item[0].describe()))


def prepare_scope(hub: Any, engine: Engine, scope: Scope, account: Account) -> None:
    """The default overview's, map's and ranking's answers of ``scope`` into ``hub.answers``."""
    settings = hub.settings
    window = window_for(engine, account, None)
    result = hotspots_answer(
        engine,
        scope,
        period=window.text,
        draws=DRAWS,
        seed=SEED,
        testing_min_age=settings.testing_min_age,  # as read_hotspots: the same answer
        cache=hub.answers,
    )
    result.disclosed(settings)  # kept with the result: what the map and the overview publish

    def views(base: Engine) -> tuple[Any, ...]:
        return summary_views(base, scope, window, settings)

    def rows(base: Engine) -> tuple[Any, ...]:
        return layer_rows(base, scope, window, settings)

    cached_in(hub.answers, engine, summary_key(scope, window, settings), views)
    cached_in(hub.answers, engine, layers_key(scope, window, settings), rows)


def prepare(hub: Any, *, budget_s: float = 30.0) -> Prepared:
    """Prepare the scopes' answers (see the module doc) until ``budget_s`` seconds have gone."""
    start = time.monotonic()
    done = left = 0
    with hub.pool.engine() as engine:
        for scope, account in ranking_scopes(engine):
            if time.monotonic() - start > budget_s:
                left += 1
                continue
            try:
                prepare_scope(hub, engine, scope, account)
            except CorridorError:  # no data in the scope: its pages say so themselves
                left += 1
                continue
            except Exception as exc:  # never keeps the server from starting: the page will say
                log.warning("preparing %s failed (%s)", scope.describe(), type(exc).__name__)
                left += 1
                continue
            done += 1
    return Prepared(done, left, time.monotonic() - start)
