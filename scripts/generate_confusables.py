"""Regenerate service/policy/confusables.py: non-ASCII characters that look like one ASCII character.

The data is Unicode's confusables list (UTS #39) as shipped by the `confusable-homoglyphs` package
(a dev dependency). Only characters that NFKC does not already turn into ASCII are kept, so the
table stays small (a few hundred entries) and the guard needs no data file at run time.

    .venv/bin/python scripts/generate_confusables.py
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "service" / "policy" / "confusables.py"

HEADER = '''"""Non-ASCII characters that look like one ASCII character (generated: scripts/generate_confusables.py).

Source: Unicode confusables (UTS #39, Unicode License v3) via the confusable-homoglyphs package.
Characters that NFKC already maps to ASCII (fullwidth, mathematical letters) are left out.
"""

# fmt: off
CONFUSABLES: dict[str, str] = {
'''


def table() -> dict[str, str]:
    """Every confusable non-ASCII character and the ASCII character it passes for."""
    from confusable_homoglyphs import confusables

    out: dict[str, str] = {}
    for ch, homoglyphs in sorted(confusables.confusables_data.items()):
        if len(ch) != 1 or ch.isascii() or unicodedata.normalize("NFKC", ch).isascii():
            continue
        ascii_like = [h["c"] for h in homoglyphs if len(h["c"]) == 1 and h["c"].isascii() and h["c"].isprintable()]
        ascii_like = [c for c in ascii_like if c != " "]
        if not ascii_like:
            continue
        cat = unicodedata.category(ch)
        # Keep the case (and digit-ness) of the original where the list offers it.
        same_kind = [
            c
            for c in ascii_like
            if (cat == "Ll" and c.islower()) or (cat == "Lu" and c.isupper()) or (cat == "Nd" and c.isdigit())
        ]
        out[ch] = (same_kind or ascii_like)[0]
    return out


def render(mapping: dict[str, str]) -> str:
    """The module source for `mapping`."""
    lines = [HEADER]
    for ch, target in mapping.items():
        lines.append(f"    {ch!a}: {target!r},\n")
    lines.append("}\n# fmt: on\n")
    return "".join(lines)


def main() -> int:
    """Write the table module."""
    OUT.write_text(render(table()), encoding="utf-8")
    print(f"wrote {OUT} ({len(table())} characters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
