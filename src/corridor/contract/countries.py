"""Country codes: ISO 3166-1 alpha-3, and the reason (with the nearest codes) another is refused.

The contract's country codes (a place's ``country_code``, the countries of an account, a sharing
agreement or a query's country filter) are ISO 3166-1 alpha-3 codes, checked against the copy of
the standard that ``pycountry`` ships (offline), not only for their shape: a typo such as ``KNE``
for Kenya has three letters too. Also accepted everywhere:

- ``XKX``, Kosovo: a user-assigned code outside ISO 3166-1, but the one that the European
  Commission, the World Bank and many humanitarian data sets use for Kosovo.

Each caller may accept some codes of its own besides (``known``): the intake and an account
that reads every country, the country codes that the warehouse's places already have (a
warehouse imported before places' codes were checked can hold a withdrawn code, ``SCG``); an
account that reads some countries only, its own countries (``corridor.access.countries``).

A refusal names each value (the first five, then how many more) and the reason, with the nearest
accepted codes when there are some
(``KNE is not an ISO 3166-1 alpha-3 country code (did you mean KEN for Kenya, ...?)``). This
module reads no database; pure functions of their arguments and the standard.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Final

#: codes outside ISO 3166-1 alpha-3 that are accepted anyway (lower-case -> name)
USER_ASSIGNED: Final[Mapping[str, str]] = {"xkx": "Kosovo"}
ISO3: Final = re.compile(r"^[a-z]{3}$")
#: why a code is refused (the value comes before it: ``KNE is not ...``)
REASON: Final = "not an ISO 3166-1 alpha-3 country code"
_SHOWN = 32  # the longest value repeated in a message
_LISTED = 5  # the most values named in one message
_SUGGESTED = 3  # the most suggestions for one value


@functools.cache
def country_names() -> Mapping[str, str]:
    """Every code accepted everywhere: ISO 3166-1 alpha-3 (lower-case) and ``USER_ASSIGNED``
    -> a short name (ISO's common name where it gives one)."""
    import pycountry

    names = {
        c.alpha_3.lower(): str(getattr(c, "common_name", None) or c.name)
        for c in pycountry.countries
    }
    return {**names, **USER_ASSIGNED}


def _shown(text: str) -> str:
    text = text.strip().upper()
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _swaps(code: str) -> set[str]:
    """``code`` with two neighbouring letters swapped."""
    return {code[:i] + code[i + 1] + code[i] + code[i + 2 :] for i in range(len(code) - 1)}


def _near(code: str, valid: Iterable[str]) -> list[str]:
    """Valid codes one letter off ``code`` (a letter changed, or two neighbours swapped)."""
    swaps = _swaps(code)
    return [
        v
        for v in valid
        if v != code
        and (
            v in swaps
            or (len(v) == len(code) and sum(a != b for a, b in zip(v, code, strict=True)) == 1)
        )
    ]


def country_reason(code: str, used: Iterable[str] = ()) -> str:
    """Why ``code`` (as typed, any case) is not accepted, without the value itself
    (``not an ISO 3166-1 alpha-3 country code (did you mean KEN for Kenya?)``), with the
    nearest accepted codes: the codes ``used`` (the caller's own ``known`` codes) first, then
    swapped letters, then a changed letter (a later one first); for text of another shape,
    the country it names (``Kenya``, ``KE``); for a withdrawn code, when it was withdrawn."""
    import pycountry

    names = country_names()
    used = set(used)
    value = code.strip().lower()
    if ISO3.match(value):
        old = pycountry.historic_countries.get(alpha_3=value.upper())
        if old is not None:
            withdrawn = str(getattr(old, "withdrawal_date", ""))[:4]
            return f"{REASON} (withdrawn in {withdrawn}: {old.name})"
        swaps = _swaps(value)

        def rank(v: str) -> tuple[bool, bool, int, str]:
            # a first letter is seldom the one mistyped: the later the difference, the nearer
            first = next(i for i, (a, b) in enumerate(zip(v, value, strict=True)) if a != b)
            return (v not in used, v not in swaps, -first, v)

        near = sorted(_near(value, set(names) | used), key=rank)[:_SUGGESTED]
    else:  # a name, an alpha-2 or numeric code: the country it names, if it names one
        try:
            found = pycountry.countries.lookup(code.strip())
        except LookupError:
            return f"{REASON} (three letters, such as KEN)"
        near = [found.alpha_3.lower()]
    if not near:
        return REASON
    named = [f"{v.upper()} for {names[v]}" if v in names else v.upper() for v in near]
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " or " + named[-1]
    return f"{REASON} (did you mean {listed}?)"


def country_problem(code: str, used: Iterable[str] = ()) -> str:
    """``code`` as typed (upper-case, shortened) and :func:`country_reason`:
    ``KNE is not an ISO 3166-1 alpha-3 country code (did you mean KEN for Kenya, ...?)``."""
    return f"{_shown(code)} is {country_reason(code, used)}"


def countries_refused(bad: list[str], used: Iterable[str] = ()) -> str:
    """The message refusing ``bad`` codes: each one's problem (the first few, then a count)."""
    used = set(used)
    said = [country_problem(c, used) for c in bad[:_LISTED]]
    if len(bad) > _LISTED:
        said.append(f"and {len(bad) - _LISTED} more")
    return "; ".join(said)


def refused_countries(
    codes: Iterable[str], known: Callable[[], Collection[str]]
) -> tuple[list[str], Collection[str]]:
    """The distinct ``codes`` (lower-case) that are neither ISO 3166-1 alpha-3, nor
    ``USER_ASSIGNED``, nor ``known()`` (called only when some code is not ISO), in order; and
    what ``known()`` gave (empty when not called), for :func:`countries_refused`."""
    names = country_names()
    other = [c for c in dict.fromkeys(codes) if c not in names]
    if not other:
        return [], ()
    accepted = known()
    return [c for c in other if c not in accepted], accepted
