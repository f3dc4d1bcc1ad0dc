"""The response guard: policy rules with `directions: [response]` applied to what the model
wrote, after pseudonyms are restored (a model can produce personal data on its own).

Each piece of text is scanned by the request's own `Scanner` (`proxy.scan`) in the "response"
direction, which acts as `redact` for `pseudonymize` (nothing in an answer is restored later)
and for `block` (the answer has already begun; it cannot be refused). In a stream, text waits
until a line or sentence ends, so a value is seen whole without holding the stream to its end.
Rules act on message text only, not on tool-call arguments (rewriting those would break the call).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from proxy.exchange import Resolution, Slot
from proxy.policy.bundle import entities_of
from proxy.response.process import Piece
from proxy.scan import Scanner

SEGMENT_END = re.compile(r"[\n]|[.!?](?=\s)")


@dataclass
class ResponseGuard:
    scanner: Scanner
    #: what was found in the answer, for the record: (slot, resolution)
    found: list[tuple[Slot, Resolution]] = field(default_factory=list)

    @classmethod
    def for_scanner(cls, scanner: Scanner) -> ResponseGuard | None:
        """A guard when any policy has response rules; None (no cost) otherwise."""
        return cls(scanner) if entities_of(scanner.policies, "response") else None

    def passes(self, text: str, kind: Piece) -> bool:
        """Tool-call arguments are never rewritten; any other text is scanned."""
        return kind.arguments

    def ready(self, held: str, kind: Piece, before: str) -> int:
        """Up to the last line or sentence end: a value is scanned whole, not cut in two."""
        if kind.arguments:
            return len(held)
        ends = [match.end() for match in SEGMENT_END.finditer(held)]
        return ends[-1] if ends else 0

    async def apply(self, pieces: list[Piece]) -> list[str]:
        """Each piece with the response rules applied, all scanned in one call."""
        chosen = [i for i, piece in enumerate(pieces) if not piece.arguments and piece.text.strip()]
        if not chosen:
            return [piece.text for piece in pieces]
        slots = [Slot(pieces[i].path, pieces[i].text) for i in chosen]
        result = await self.scanner.scan(slots, "response")
        self.found += [(slots[r.finding.slot], r) for r in [*result.decision.resolutions, *result.decision.monitored]]
        texts = [piece.text for piece in pieces]
        for index, text in result.texts.items():
            texts[chosen[index]] = text
        return texts
