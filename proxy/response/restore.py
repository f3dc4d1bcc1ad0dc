"""The restore filter: pseudonyms this request issued go back to their original values.

In a stream, a placeholder can be split across any number of chunks, so a tail is held back
only while more text could still complete a placeholder; any other text goes on at once.
"""

from __future__ import annotations

from typing import Any

from proxy.dialects import Answers
from proxy.placeholders import Forms, count_unrestored
from proxy.response.process import Piece


class Restore:
    """Restores the placeholders in `originals` (token -> value), in whatever form the model wrote them."""

    def __init__(self, originals: dict[str, str]) -> None:
        self.forms = Forms(originals)
        self._marks, self._notable = self.forms.marks, self.forms.notable

    def passes(self, text: str, kind: Piece) -> bool:
        """Text where no placeholder form can begin is neither held nor changed."""
        # `Forms.may_begin` inlined: this runs on every delta
        return self._marks(text) is None or self._notable(text) is None

    def ready(self, held: str, kind: Piece, before: str) -> int:
        """How much of the held text can go on: all but a possible placeholder's beginning."""
        return self.forms.hold_from(held, before)

    async def apply(self, pieces: list[Piece]) -> list[str]:
        """Each piece restored; a raw JSON string (streamed tool arguments) gets escaped values."""
        return [self.forms.restore(piece.text, piece.escaped, piece.before) for piece in pieces]


def restore_text(text: str, originals: dict[str, str]) -> str:
    """A complete text restored; placeholders not in `originals` are left as they are."""
    return Forms(originals).restore(text)


def unknown_placeholders(dialect: Answers, returned: dict[str, Any]) -> int:
    """Placeholder-shaped tokens still in the answer the client got (made up or mangled by the
    model, or the client's own text repeated back)."""
    return sum(count_unrestored(slot.text) for slot in dialect.response_slots(returned))
