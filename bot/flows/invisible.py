"""Characters that take no room on screen, and what warroom does about them.

Two kinds matter in what people type:

- bidi controls (embeddings, overrides, isolates) reorder the text around them, so
  `INC-1 ‮gnilaF` can display as something it is not (Trojan Source, CVE-2021-42574).
  Nothing warroom posts needs them, so they are removed from all public text.
- zero-width characters: alone they make a string that looks empty but is not. Inside
  text they are kept (U+200D joins emoji such as 👩‍💻), but a title made only of them,
  bidi controls and whitespace is no title.
"""

from __future__ import annotations

# U+202A–U+202E: LRE, RLE, PDF, LRO, RLO; U+2066–U+2069: LRI, RLI, FSI, PDI.
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
# The marks U+200E/U+200F and U+061C change direction too but reorder nothing on their own;
# they only count as invisible, like the zero-width space, joiners, word joiner and BOM.
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u061c")

_NO_BIDI = str.maketrans(dict.fromkeys(BIDI_CONTROLS))


def strip_bidi_controls(text: str) -> str:
    """`text` without embedding, override and isolate characters."""
    return text.translate(_NO_BIDI)


def is_blank(text: str) -> bool:
    """True when nothing visible is left: only whitespace, zero-width and bidi characters."""
    return all(char.isspace() or char in ZERO_WIDTH or char in BIDI_CONTROLS for char in text)


def tidy_line(text: str) -> str:
    """What a single-line field such as a title is stored as: no bidi controls, and no
    whitespace or zero-width characters at either end."""
    stripped = strip_bidi_controls(text)
    invisible = "".join(ZERO_WIDTH)
    previous = None
    while previous != stripped:  # `\u200b x \u200b` needs both strips, in turn
        previous = stripped
        stripped = stripped.strip().strip(invisible)
    return stripped
