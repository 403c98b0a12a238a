"""Rewrites of portable SQL for one engine, applied inside the engine layer.

Domain code writes one statement for every engine; an engine may reshape it where its planner
needs help. :func:`prune_ctes` drops the ``WITH`` steps that nothing reads: PostgreSQL counts a
reference from an unused step too, and a step read twice is materialised (a single-threaded
scan into a work file) instead of being folded into the query that reads it.

The scanner only has to understand the shape of a ``WITH`` list: names, optional column lists,
bodies in balanced parentheses, string literals, quoted identifiers and comments. Whatever it
does not understand is left exactly as written (the function returns its input).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

_NAME: Final = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+")\s*')
_AS: Final = re.compile(r"AS\s+(?:NOT\s+MATERIALIZED\s+|MATERIALIZED\s+)?(?=\()", re.IGNORECASE)
_WITH: Final = re.compile(r"\s*WITH\s+", re.IGNORECASE)
_RECURSIVE: Final = re.compile(r"RECURSIVE\b", re.IGNORECASE)
_WORD: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_QUERY: Final = re.compile(r"[\s(]*(SELECT|VALUES|TABLE)\b", re.IGNORECASE)
_STEP_BODY: Final = re.compile(r"\bAS\s+(?:NOT\s+)?(?:MATERIALIZED\s+)?\(", re.IGNORECASE)


#: a string literal, a quoted identifier, a comment, a parenthesis or a word; an unclosed
#: literal or comment matches the last alternatives (a lone quote) so that scans can stop there
_TOKEN: Final = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|([()])|([A-Za-z_][A-Za-z0-9_$]*)|(['\"]|/\*)",
    re.DOTALL,
)


def _close(sql: str, i: int) -> int:
    """The index after the parenthesis that closes the one at ``i``; -1 when unbalanced."""
    depth = 0
    for m in _TOKEN.finditer(sql, i):
        paren, _word, broken = m.groups()
        if broken:
            return -1
        if paren == "(":
            depth += 1
        elif paren == ")":
            depth -= 1
            if depth == 0:
                return m.end()
    return -1


def _words(sql: str) -> set[str]:
    """Identifiers in ``sql`` outside string literals and comments (lower case); quoted
    identifiers count too (lower-cased: a false reference only keeps a step)."""
    out: set[str] = set()
    for m in _TOKEN.finditer(sql):
        word = m.group(2)
        if word is not None:
            out.add(word.lower())
        elif m.group(0).startswith('"') and len(m.group(0)) > 1:
            out.add(m.group(0)[1:-1].replace('""', '"').lower())
    return out


def _steps(sql: str) -> tuple[int, list[tuple[str, int, int]], int] | None:
    """(start of the list, [(name, start, end) of each step], start of the final statement) of
    a statement that begins with a plain ``WITH`` list; None for anything else."""
    m = _WITH.match(sql)
    if m is None or _RECURSIVE.match(sql, m.end()):
        return None
    i, first = m.end(), m.end()
    steps: list[tuple[str, int, int]] = []
    while True:
        name = _NAME.match(sql, i)
        if name is None:
            return None
        start, i = name.start(1), name.end()
        if sql.startswith("(", i):  # a column list
            i = _close(sql, i)
            if i < 0:
                return None
            while i < len(sql) and sql[i].isspace():
                i += 1
        as_ = _AS.match(sql, i)
        if as_ is None:
            return None
        end = _close(sql, as_.end())
        if end < 0:
            return None
        steps.append((name.group(1).strip('"').replace('""', '"').lower(), start, end))
        i = end
        while i < len(sql) and sql[i].isspace():
            i += 1
        if not sql.startswith(",", i):
            return first, steps, i
        i += 1


def _reached(
    steps: list[tuple[str, int, int]], sql: str, final: int
) -> Iterator[tuple[str, int, int]]:
    names = {s[0] for s in steps}
    if len(names) != len(steps):  # a repeated name: not a valid list, leave it alone
        yield from steps
        return
    uses = {s[0]: _words(sql[s[1] : s[2]]) & names - {s[0]} for s in steps}
    todo = list(_words(sql[final:]) & names)
    seen: set[str] = set()
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(uses[n] - seen)
    yield from (s for s in steps if s[0] in seen)


def prune_ctes(sql: str) -> str:
    """``sql`` without the steps of its leading ``WITH`` list that the final statement does not
    read, directly or through other steps. Anything else is returned unchanged."""
    parsed = _steps(sql)
    if parsed is None:
        return sql
    first, steps, final = parsed
    kept = list(_reached(steps, sql, final))
    if len(kept) == len(steps):
        return sql
    if not kept:
        return sql[:first].rstrip()[: -len("WITH")] + sql[final:]
    body = ",\n".join(sql[s:e] for _n, s, e in kept)
    return sql[:first] + body + "\n" + sql[final:]


def is_plain_query(sql: str) -> bool:
    """Whether ``sql`` only reads: a SELECT (or VALUES, TABLE), or a plain ``WITH`` list of
    such steps followed by one. A statement that changes data anywhere, or one this module
    cannot read, is not (callers then run it as written)."""
    if _QUERY.match(sql):
        return True
    parsed = _steps(sql)
    if parsed is None:
        return False
    _first, steps, final = parsed
    for _name, start, end in steps:
        body = _STEP_BODY.search(sql, start, end)
        if body is None or not _QUERY.match(sql, body.end()):
            return False
    return _QUERY.match(sql, final) is not None
