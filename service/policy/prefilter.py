"""Necessary conditions for a pattern to match, read from the compiled pattern itself.

`needs(pattern)` walks the pattern's syntax tree and returns the literal words every match must
contain: one of each clause ("patient" or "survivor"; and "diagnos"). A rule can then skip a
regular-expression scan when the (lowercased) text contains none of a clause's words, which is
much cheaper than the scan. Being derived from the pattern, the condition cannot drift from it.

Only ASCII literals without whitespace become words: a word is then also found in any blanked
copy of the text (blanking writes spaces) and in any slice that holds a match. Case is always
ignored (a superset for case-sensitive parts); `lowered` folds the few non-ASCII characters that
a case-insensitive pattern matches to ASCII letters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

# A run of literals is expanded to at most this many alternative words (e.g. "tumou?rs?").
_MAX_WORDS = 64
# A character class of at most this many characters counts as a literal ("[01]", "[- ]").
_MAX_CLASS = 8
# Non-ASCII characters that `re.IGNORECASE` matches to an ASCII letter which `str.lower` does not
# give (dotless i, long s); tests/policy/test_prefilter.py checks this list against `re` itself.
_IGNORECASE_EXTRA = str.maketrans({"\u0131": "i", "\u017f": "s"})


def lowered(text: str) -> str:
    """The text as the conditions read it: lowercase, with case-insensitive look-alikes of ASCII letters folded."""
    low = text.lower()
    return low if low.isascii() else low.translate(_IGNORECASE_EXTRA)


@dataclass(frozen=True)
class Need:
    """Every match contains, for each clause, at least one of its words (lowercase)."""

    clauses: tuple[frozenset[str], ...]

    def met(self, low: str) -> bool:
        """False when `low` (see `lowered`) cannot hold a match: some clause has none of its words in it."""
        return all(any(w in low for w in clause) for clause in self.clauses)


@dataclass
class _Info:
    exact: frozenset[str] | None  # every string the node can match, when few and all plain literals
    clauses: list[frozenset[str]]


_ZERO_WIDTH = _Info(frozenset({""}), [])
_UNKNOWN = _Info(None, [])


@lru_cache(maxsize=512)
def needs(pattern: re.Pattern[str]) -> Need:
    """The words every match of `pattern` contains (no clauses: nothing known, always met)."""
    info = _sequence(list(sre_parse.parse(pattern.pattern, pattern.flags)))
    return Need(tuple(_simplify(c) for c in _clauses(info)))


def _clauses(info: _Info) -> list[frozenset[str]]:
    out = list(info.clauses)
    if info.exact is not None and "" not in info.exact:
        out.append(info.exact)
    return [c for c in out if c and "" not in c]


def _simplify(clause: frozenset[str]) -> frozenset[str]:
    """Drop words that contain another word of the clause ("patients" when "patient" is there)."""
    return frozenset(w for w in clause if not any(v != w and v in w for v in clause))


def _score(clause: frozenset[str]) -> tuple[int, int]:
    """Longer words are rarer in ordinary text; fewer of them are cheaper to look for."""
    return min(len(w) for w in clause), -len(clause)


def _best(info: _Info) -> frozenset[str] | None:
    clauses = _clauses(info)
    return max(clauses, key=_score) if clauses else None


def _literal(code: int) -> frozenset[str] | None:
    ch = chr(code)
    if not ch.isascii() or ch.isspace():
        return None
    return frozenset({ch.lower()})


def _node(op: Any, av: Any) -> _Info:
    if op is sre.LITERAL:
        word = _literal(av)
        return _Info(word, []) if word is not None else _UNKNOWN
    if op is sre.IN:
        return _char_class(av)
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return _ZERO_WIDTH  # consumes nothing: literals on both sides are adjacent in the text
    if op is sre.SUBPATTERN:
        return _sequence(list(av[-1]))
    if op is sre.ATOMIC_GROUP:
        return _sequence(list(av))
    if op is sre.BRANCH:
        return _branch([_sequence(list(b)) for b in av[1]])
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, high, item = av
        inner = _sequence(list(item))
        if low == 0:
            if high == 1 and inner.exact is not None:
                return _Info(inner.exact | {""}, [])
            return _UNKNOWN
        if low == high == 1:
            return inner
        return _Info(None, _clauses(inner))  # at least one copy of the item
    return _UNKNOWN  # any character, categories, back-references, conditionals


def _char_class(items: Any) -> _Info:
    chars: set[str] = set()
    for op, av in items:
        if op is sre.LITERAL:
            word = _literal(av)
            if word is None:
                return _UNKNOWN
            chars |= word
        elif op is sre.RANGE and av[1] - av[0] < _MAX_CLASS:
            for code in range(av[0], av[1] + 1):
                word = _literal(code)
                if word is None:
                    return _UNKNOWN
                chars |= word
        else:
            return _UNKNOWN  # negated classes, categories, long ranges
    return _Info(frozenset(chars), []) if 0 < len(chars) <= _MAX_CLASS else _UNKNOWN


def _branch(branches: list[_Info]) -> _Info:
    if all(b.exact is not None for b in branches):
        words = frozenset().union(*(b.exact for b in branches if b.exact is not None))
        if len(words) <= _MAX_WORDS:
            return _Info(words, [])
    best = [_best(b) for b in branches]
    if any(c is None for c in best):
        return _UNKNOWN  # one alternative needs nothing known
    return _Info(None, [frozenset().union(*(c for c in best if c is not None))])


def _sequence(items: list[tuple[Any, Any]]) -> _Info:
    clauses: list[frozenset[str]] = []
    run: frozenset[str] | None = frozenset({""})  # the literal words ending here, None after a non-literal
    whole = True  # the sequence so far is one run of literals

    def flush() -> None:
        if run is not None and "" not in run:
            clauses.append(run)

    for op, av in items:
        info = _node(op, av)
        if info.exact is not None:
            if run is None:
                run = info.exact
            elif len(run) * len(info.exact) <= _MAX_WORDS:
                run = frozenset(a + b for a, b in product(run, info.exact))
            else:
                flush()
                run, whole = info.exact, False
        else:
            flush()
            clauses.extend(info.clauses)
            run, whole = None, False
    if whole and run is not None:
        return _Info(run, clauses)
    flush()
    return _Info(None, clauses)
