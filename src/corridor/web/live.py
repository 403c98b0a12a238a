"""The live pieces the pages share: a user's reporting window and ranking, scoped and audited.

Both go through ``corridor.access`` (scope in the SQL, audit) and the report's own functions;
the ranking comes from ``read_hotspots`` with the API's default draws and seed, so the overview,
the map and the API share one cached answer per scope, period and data version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request

from corridor.access.accounts import Account
from corridor.access.reads import data_version, read_hotspots
from corridor.access.scope import scoped
from corridor.api.auth import hub_of
from corridor.config import Settings
from corridor.reports.html import Window, report_window
from corridor.storage.engine import Engine

#: the ranking's draws and seed: the API's defaults
DRAWS, SEED = 200, 1
T = TypeVar("T")


def cached(
    request: Request, engine: Engine, key: tuple[Any, ...], compute: Callable[[Engine], T]
) -> T:
    """``compute(engine)``, kept in the server's answer cache under ``key`` and the data
    version: published views are deterministic (the same cell publishes the same value), so a
    repeated page is served from memory until an import changes the warehouse; an import
    computes the most used ones again on its own connection (``AnswerCache.warm``). ``key``
    must hold the scope (and whatever else the answer depends on)."""
    return cached_in(hub_of(request).answers, engine, key, compute)


def cached_in(
    answers: Any, engine: Engine, key: tuple[Any, ...], compute: Callable[[Engine], T]
) -> T:
    """``cached`` with the server's answer cache given (``Hub.answers``)."""
    value: T = answers.get_or_compute(
        (*key, data_version(engine)), lambda: compute(engine), refresh=compute
    )
    return value


def window_for(engine: Engine, account: Account, period: str | None) -> Window:
    """``period`` (checked), else the 12 months ending with the latest data in the user's
    scope (raises ReportError, a CorridorError, when there is none)."""
    with scoped(engine, account.scope) as eng:
        return report_window(eng, period)


def ranking_for(request: Request, engine: Engine, account: Account, period: str) -> Any:
    """The spaces-of-vulnerability ranking (a HotspotResult) within the user's scope."""
    hub = hub_of(request)
    return read_hotspots(
        engine,
        account,
        hub.settings,
        period=period,
        country=None,
        draws=DRAWS,
        seed=SEED,
        channel="web",
        cache=hub.answers,
    )


def threshold_of(request: Request) -> int:
    """The workspace's suppression threshold (flows under it are not drawn)."""
    return int(hub_of(request).settings.suppression_threshold)


def disclosure_of(request: Request) -> Settings:
    """The workspace's settings, which the disclosure function reads (method, threshold, noise):
    the same as the API's, so the dashboard publishes exactly what the API publishes."""
    return hub_of(request).settings
