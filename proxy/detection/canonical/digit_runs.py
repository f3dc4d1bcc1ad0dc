"""Separators inside numbers: `4111.1111.1111.1111`, `4111_1111_...`, `4 1 1 1 ...`, SSNs with
dots or spaces. A run of digit groups with one and the same separator throughout is also read as
the number it spells: 13 to 19 digits in a card's grouping (equal groups, or Amex's 4-6-5)
without separators, nine digits grouped 3-2-4 or written digit by digit as an SSN `123-45-6789`
(other groupings of nine digits are phone numbers far more often: `1 23 45 67 89`).

The run itself stays as written, and its reading is added right after it, standing for the
whole run: an IP address followed by a date, or a version stamp, must still be seen as itself.
Separators do not cross a line break, and a run with mixed separators is not one number."""

from __future__ import annotations

import re

from proxy.detection.canonical.offsets import Edit

RUN = re.compile(r"(?<![\w.])\d+(?:[ \t._\-\u2010-\u2015/\\|]{1,3}\d+)+(?![\w]|\.\d)")
GROUP = re.compile(r"\d+")
CARD_DIGITS = range(13, 20)
CARD_SHAPES = ([4, 6, 5], [4, 6, 4])  # Amex, Diners
NATIVE_CARD = [4, 4, 4, 4]  # with single spaces or dashes: the card recognizer reads it as written
SSN_DIGITS = 9
SSN_SHAPE = [3, 2, 4]


def edits(text: str) -> list[Edit]:
    found = []
    for run in RUN.finditer(text):
        groups, separators = GROUP.findall(run[0]), set(GROUP.split(run[0])[1:-1])
        digits, shape = "".join(groups), [len(group) for group in groups]
        if len(separators) != 1 or (separators == {"."} and len(shape) == 4 and max(shape) <= 3):
            continue  # mixed separators: several numbers side by side; or an IPv4 address
        reading = _reading(digits, shape)
        if reading is not None and reading != run[0] and not (shape == NATIVE_CARD and separators <= {" ", "-"}):
            found.append(Edit(run.end(), run.end(), " " + reading, (run.start(), run.end())))
    return found


def _reading(digits: str, shape: list[int]) -> str | None:
    """The number a run of groups spells, when it is grouped like a card or an SSN."""
    if len(digits) in CARD_DIGITS and (_even(shape) or shape in CARD_SHAPES):
        return digits
    if len(digits) == SSN_DIGITS and (shape == SSN_SHAPE or max(shape) == 1):
        return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"
    return None


def _even(shape: list[int]) -> bool:
    """Groups of one length (at most four), the last one possibly shorter: 4-4-4-4, 1-1-1-..."""
    return shape[0] <= 4 and all(size == shape[0] for size in shape[:-1]) and shape[-1] <= shape[0]
