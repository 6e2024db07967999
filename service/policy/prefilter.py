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
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import product
from re import _compiler as sre_compiler  # type: ignore[attr-defined]
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

# A run of literals is expanded to at most this many alternative words (e.g. "tumou?rs?").
_MAX_WORDS = 64
# Words per clause, and per pattern, worth checking (see _needs).
_MAX_CLAUSE_WORDS = 64
_MAX_NEED_WORDS = 96
# A branch keeps at most this many clauses (the most selective).
_MAX_CLAUSES = 4
# A character class of at most this many characters counts as a literal ("[01]", "[- ]").
_MAX_CLASS = 8
# Non-ASCII characters that `re.IGNORECASE` matches to an ASCII letter which `str.lower` does not
# give (dotless i, long s); tests/policy/test_prefilter.py checks this list against `re` itself.
_IGNORECASE_EXTRA = str.maketrans({"\u0131": "i", "\u017f": "s"})


def lowered(text: str) -> str:
    """The text lowercased, with the non-ASCII letters a case-insensitive pattern takes for ASCII ones folded."""
    low = text.lower()
    return low if low.isascii() else low.translate(_IGNORECASE_EXTRA)


def words_view(text: str) -> str | None:
    """The ASCII text lowercased, each run of non-word characters one space, with a space at each end
    (a word boundary is a space next to a word); None for other text."""
    if not text.isascii():
        return None
    return " " + " ".join(text.lower().translate(_NON_WORD).split()) + " "


def view(text: str, ends: bool = False) -> str:
    """The text as `Need.met` reads it: `lowered`, every run of whitespace one space (as `\\s+` sees it).

    With `ends`, marked at its start and end (for `needs_whole`).
    """
    low = lowered(text)
    squeezed = " ".join(low.split())
    if low[:1].isspace():
        squeezed = " " + squeezed
    if low[-1:].isspace() and squeezed != " ":
        squeezed += " "
    return _START + squeezed + _END if ends else squeezed


@dataclass(frozen=True)
class Need:
    """Every match contains, for each clause, at least one of its words (lowercase).

    A clause's words are split by how they are looked for: `(plain, bounded)`. Plain words are looked for
    in `view(text)`; bounded ones, which carry a word boundary (r"\\b" in the pattern), in
    `words_view(text)` where every run of non-word characters and every boundary is one space. On
    non-ASCII text (where r"\\w" is not ASCII's) `plain` holds every word with its boundaries dropped.
    """

    clauses: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]
    plain: tuple[tuple[str, ...], ...]

    def met(self, low: str, words: str | None = None) -> bool:
        """False when the text of `low = view(text)` and `words = words_view(text)` cannot hold a match."""
        has = low.__contains__  # map() keeps the loop over words in C: this runs for every rule and window
        if words is None:
            return all(any(map(has, clause)) for clause in self.plain)
        in_words = words.__contains__
        for plain, bounded in self.clauses:
            if not any(map(has, plain)) and not any(map(in_words, bounded)):
                return False
        return True


@dataclass
class _Info:
    exact: frozenset[str] | None  # every string the node can match, when few and all plain literals
    clauses: list[frozenset[str]]


_ZERO_WIDTH = _Info(frozenset({""}), [])
# Marks of the start and end of a text in `view(text, ends=True)`: "$" also matches before a final
# newline, which the view shows as a space.
_START, _END = "\x01", "\x00"
_EDGE = "\x02"  # a word boundary, r"\b"
_BOUNDARY = _Info(frozenset({_EDGE}), [])
# ASCII characters that are not word characters (and the marks above) -> space.
_NON_WORD = str.maketrans({chr(c): " " for c in range(128) if not (chr(c).isalnum() or chr(c) == "_")})
_AT_START = _Info(frozenset({_START}), [])
_AT_END = _Info(frozenset({_END, " " + _END}), [])
_SPACE = frozenset({" "})
_UNKNOWN = _Info(None, [])


# By id: hashing a compiled pattern hashes its whole program (~10 us for the big ones) on every call.
# The pattern is kept in the value, so its id cannot be reused while cached.
_NEEDS: dict[int, tuple[re.Pattern[str], Need]] = {}


def needs(pattern: re.Pattern[str]) -> Need:
    """The words every match of `pattern` contains (no clauses: nothing known, always met)."""
    hit = _NEEDS.get(id(pattern))
    if hit is None:
        if len(_NEEDS) > 512:  # configured terms of many policies: keep the cache bounded
            _NEEDS.clear()
        hit = _NEEDS[id(pattern)] = (pattern, _needs(pattern))
    return hit[1]


def needs_whole(pattern: re.Pattern[str]) -> Need:
    """Like `needs`, for reading `view(text, ends=True)` of the very text searched: "^" and "$" are words too."""
    hit = _NEEDS_WHOLE.get(id(pattern))
    if hit is None:
        hit = _NEEDS_WHOLE[id(pattern)] = (pattern, _needs(pattern, ends=not pattern.flags & re.MULTILINE))
    return hit[1]


_NEEDS_WHOLE: dict[int, tuple[re.Pattern[str], Need]] = {}


def _needs(pattern: re.Pattern[str], ends: bool = False) -> Need:
    info = _sequence(list(sre_parse.parse(pattern.pattern, pattern.flags)), ends)
    # A clause costs one `in` per word: clauses of many words (weak and slow to check) are left out, and
    # the most selective ones kept up to a budget. Fewer clauses only make the condition weaker.
    shrunk = (_shrink(_simplify(c)) for c in _clauses(info))
    useful = (c for c in shrunk if len(c) <= _MAX_CLAUSE_WORDS and not any(_trivial(w) for w in c))
    clauses = sorted(useful, key=_score, reverse=True)
    kept: list[frozenset[str]] = []
    for clause in clauses:
        if sum(map(len, kept)) + len(clause) <= _MAX_NEED_WORDS:
            kept.append(clause)

    def ordered(words: Iterable[str]) -> tuple[str, ...]:
        return tuple(sorted(set(words), key=lambda w: (len(w), w)))  # the likeliest to be found first

    return Need(
        tuple((ordered(w for w in c if _EDGE not in w), ordered(_words_of(w) for w in c if _EDGE in w)) for c in kept),
        tuple(ordered(w.replace(_EDGE, "") for w in c) for c in kept),
    )


def _trivial(word: str) -> bool:
    """A word every text has (a space, a boundary): its clause says nothing."""
    return (_words_of(word) if _EDGE in word else word) in ("", " ")


def _words_of(word: str) -> str:
    """A bounded word as `words_view` shows it (a boundary or non-word characters at an end: one space)."""
    return _squeeze(word.translate(_NON_WORD))


def _shrink(clause: frozenset[str]) -> frozenset[str]:
    """A clause of many words as fewer, shorter ones: a word's beginning is in the text whenever the word is.

    Not below five characters: shorter beginnings are in most texts.
    """
    for keep in (12, 10, 8, 6, 5):
        if len(clause) <= _MAX_CLAUSE_WORDS:
            break
        clause = _simplify(frozenset(w[:keep] for w in clause))
    return clause


def _clauses(info: _Info) -> list[frozenset[str]]:
    out = list(info.clauses)
    if info.exact is not None and "" not in info.exact:
        out.append(info.exact)
    return [c for c in out if c and "" not in c]


def _simplify(clause: frozenset[str]) -> frozenset[str]:
    """Drop words that contain another word of the clause ("patients" when "patient" is there)."""
    return frozenset(w for w in clause if not any(v != w and v in w for v in clause))


def _squeeze(word: str) -> str:
    """Adjacent whitespace in a pattern ("\\s*\\s+") is one space in the view."""
    while "  " in word:
        word = word.replace("  ", " ")
    while _EDGE + _EDGE in word:
        word = word.replace(_EDGE + _EDGE, _EDGE)
    return word


def _score(clause: frozenset[str]) -> tuple[int, int]:
    """Longer words are rarer in ordinary text; fewer of them are cheaper to look for."""
    return min(len(w) for w in clause), -len(clause)


def _best(info: _Info) -> frozenset[str] | None:
    clauses = _clauses(info)
    return max(clauses, key=_score) if clauses else None


def _literal(code: int) -> frozenset[str] | None:
    ch = chr(code)
    if ch.isspace():
        return _SPACE  # part of a run of whitespace: one space in the view
    if not ch.isascii():
        return None
    return frozenset({ch.lower()})


def _node(op: Any, av: Any, ends: bool) -> _Info:
    if op is sre.LITERAL:
        word = _literal(av)
        return _Info(word, []) if word is not None else _UNKNOWN
    if op is sre.IN:
        return _char_class(av)
    if op is sre.AT and ends and av in (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING):
        return _AT_START
    if op is sre.AT and ends and av is sre.AT_END:
        return _AT_END
    if op is sre.AT and ends and av is sre.AT_END_STRING:
        return _Info(frozenset({_END}), [])
    if op is sre.AT and av is sre.AT_BOUNDARY:
        return _BOUNDARY
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return _ZERO_WIDTH  # consumes nothing: literals on both sides are adjacent in the text
    if op is sre.SUBPATTERN:
        return _sequence(list(av[-1]), ends)
    if op is sre.ATOMIC_GROUP:
        return _sequence(list(av), ends)
    if op is sre.BRANCH:
        return _branch([_sequence(list(b), ends) for b in av[1]])
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, high, item = av
        inner = _sequence(list(item), ends)
        if inner.exact == _SPACE:  # \s+, \s*, [ ]{1,3}: any run of whitespace is one space in the view
            return _Info(_SPACE if low > 0 else _SPACE | {""}, [])
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
        elif op is sre.CATEGORY and av in (sre.CATEGORY_SPACE, sre.CATEGORY_UNI_SPACE) and len(items) == 1:
            chars |= _SPACE
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
    # A match is a match of one alternative: each clause of alternative i, or the best clause of another.
    clauses: set[frozenset[str]] = set()
    for i, alternative in enumerate(branches):
        others = frozenset().union(*(c for j, c in enumerate(best) if j != i and c is not None))
        clauses.update(c | others for c in _clauses(alternative))
    return _Info(None, sorted(clauses, key=_score, reverse=True)[:_MAX_CLAUSES])


def _sequence(items: list[tuple[Any, Any]], ends: bool = False) -> _Info:
    items = _distribute_boundaries(items)
    clauses: list[frozenset[str]] = []
    run: frozenset[str] | None = frozenset({""})  # the literal words ending here, None after a non-literal
    whole = True  # the sequence so far is one run of literals

    def flush() -> None:
        if run is not None and "" not in run:
            clauses.append(run)

    for op, av in items:
        info = _node(op, av, ends)
        if info.exact is not None:
            if run is None:
                run = info.exact
            elif len(run) * len(info.exact) <= _MAX_WORDS:
                run = frozenset(_squeeze(a + b) for a, b in product(run, info.exact))
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


def _distribute_boundaries(items: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """r"\b(?:a|b)" as r"(?:\ba|\bb)", so that each alternative's words carry the boundary."""
    out: list[tuple[Any, Any]] = []
    i = 0
    while i < len(items):
        op, av = items[i]
        if op is sre.AT and av is sre.AT_BOUNDARY and i + 1 < len(items):
            branch = _as_branch(items[i + 1])
            if branch is not None:
                out.append((sre.BRANCH, (None, [[(op, av), *alt] for alt in branch])))
                i += 2
                continue
        out.append((op, av))
        i += 1
    return out


def _as_branch(item: tuple[Any, Any]) -> list[list[tuple[Any, Any]]] | None:
    """The alternatives of a branch, or of a group holding only a branch (None otherwise)."""
    op, av = item
    if op is sre.SUBPATTERN and len(av[-1]) == 1:
        return _as_branch(next(iter(av[-1])))
    if op is sre.BRANCH:
        return [list(alt) for alt in av[1]]
    return None


def first_chars(patterns: tuple[re.Pattern[str], ...]) -> re.Pattern[str] | None:
    """One character class that every match of any of `patterns` starts with (None: any character may).

    `first_chars(ps).match(text, i)` failing means no pattern of `ps` can match at i. Case is ignored.
    """
    items: list[tuple[Any, Any]] = []
    for pattern in patterns:
        first, nullable = _first(list(sre_parse.parse(pattern.pattern, pattern.flags)))
        if first is None or nullable:
            return None  # may start with anything, or match the empty string anywhere
        items.extend(first)
    holder = sre_parse.parse("[a]", re.IGNORECASE)
    holder.data = [(sre.IN, items)]
    return sre_compiler.compile(holder, re.IGNORECASE)


def _first(items: list[tuple[Any, Any]]) -> tuple[list[tuple[Any, Any]] | None, bool]:
    """The class items a match of the sequence may start with (None: unknown), and whether it may be empty."""
    out: list[tuple[Any, Any]] = []
    for op, av in items:
        if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue  # zero width: the next item gives the first character
        if op is sre.LITERAL:
            return [*out, (sre.LITERAL, av)], False
        if op is sre.IN:
            if any(o is sre.NEGATE for o, _ in av):
                return None, False
            return out + list(av), False
        if op in (sre.SUBPATTERN, sre.ATOMIC_GROUP, sre.BRANCH):
            alternatives = [av[-1]] if op is sre.SUBPATTERN else [av] if op is sre.ATOMIC_GROUP else av[1]
            empty = False
            for alt in alternatives:
                first, nullable = _first(list(alt))
                if first is None:
                    return None, False
                out.extend(first)
                empty = empty or nullable
            if not empty:
                return out, False
            continue  # an alternative may match empty: the next item may come first too
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, _, item = av
            first, nullable = _first(list(item))
            if first is None:
                return None, False
            out.extend(first)
            if low > 0 and not nullable:
                return out, False
            continue
        return None, False  # any character, back-references, conditionals
    return out, True


def literal_alternatives(pattern: re.Pattern[str]) -> frozenset[str]:
    """The alternatives of a case-insensitive `a|b|c` pattern that are plain words, lowercase.

    On ASCII text, `pattern.search(text)` finds something whenever `lowered(text)` contains one of
    them (a `str` search instead of the pattern's own, which tries every alternative at every position).
    """
    if not pattern.flags & re.IGNORECASE:
        return frozenset()
    tree = list(sre_parse.parse(pattern.pattern, pattern.flags))
    if len(tree) != 1 or tree[0][0] is not sre.BRANCH:
        return frozenset()
    words: set[str] = set()
    for alternative in tree[0][1][1]:
        exact = _sequence(list(alternative)).exact
        if exact is not None and "" not in exact and not any(_EDGE in w for w in exact):
            words |= exact
    return frozenset(words)
