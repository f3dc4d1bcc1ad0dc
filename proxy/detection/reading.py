"""What detection reads: each slot's canonical text (`canonical`), then the seams between
adjacent slots (`seams`); and the way back, from a finding on what was read to the span of the
slot the client sent. `proxy.scan` composes it with detection and the policies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from proxy.detection.canonical import Canonical, canonicalise
from proxy.detection.seams import Seam, crossing, seams
from proxy.exchange import Finding, Slot


@dataclass(frozen=True)
class Reading:
    """The slots as detection reads them, the seams read besides them, and the maps back."""

    views: list[Canonical]
    slots: list[Slot]  # the extracted slots with their canonical text
    joins: list[Seam]

    @property
    def texts(self) -> list[Slot]:
        """Everything detection analyses: the slots, then the seams."""
        return [*self.slots, *(join.slot for join in self.joins)]

    def slot_findings(self, findings: list[Finding]) -> list[Finding]:
        """Findings on `texts` as findings on the slots: a value found across a seam becomes its
        two halves, one in each slot (still on canonical text)."""
        own = [f for f in findings if f.slot < len(self.slots)]
        for index, join in enumerate(self.joins):
            own += crossing(join, [f for f in findings if f.slot == len(self.slots) + index])
        return own

    def original(self, finding: Finding) -> Finding:
        """A finding on a slot's canonical text as the span of the original it comes from."""
        start, end = self.views[finding.slot].original(finding.start, finding.end)
        return replace(finding, start=start, end=end)


def read(slots: list[Slot], pairs: Sequence[tuple[int, int]] = ()) -> Reading:
    """Canonicalise every slot and join the adjacent `pairs` into seams."""
    views = [canonicalise(slot.text) for slot in slots]
    readable = [
        slot if view.text == slot.text else replace(slot, text=view.text)
        for slot, view in zip(slots, views, strict=True)
    ]
    return Reading(views, readable, seams([view.text for view in views], list(pairs)))
