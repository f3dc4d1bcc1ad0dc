"""The `transform` stage: rewrite detected values as their actions say.

Pseudonyms are issued by `proxy.placeholders` (numbered past any the client's own text holds);
putting them back into the answer is `proxy.response`'s job.
"""

from __future__ import annotations

from dataclasses import replace

from proxy.exchange import Resolution, Slot
from proxy.hashing import Hasher
from proxy.placeholders import PseudonymMap, hashed, redacted, reserved


def transform(slots: list[Slot], resolutions: list[Resolution], hasher: Hasher) -> tuple[dict[int, str], PseudonymMap]:
    """New text for every slot that changes, and the pseudonyms handed out."""
    # Only a request that issues pseudonyms needs to know which numbers its text already uses.
    issues = any(resolution.action == "pseudonymize" for resolution in resolutions)
    pseudonyms = PseudonymMap(reserved(slot.text for slot in slots) if issues else {})
    replacements: dict[int, list[tuple[int, int, str]]] = {}
    for resolution in sorted(resolutions, key=lambda r: (r.finding.slot, r.finding.start)):
        finding = resolution.finding
        value = slots[finding.slot].text[finding.start : finding.end]
        if resolution.action == "pseudonymize" and slots[finding.slot].user_id:
            resolution = replace(resolution, action="hash")  # stable across requests, like the id it replaces
        new = _replacement(resolution, value, pseudonyms, hasher)
        if new != value:
            replacements.setdefault(finding.slot, []).append((finding.start, finding.end, new))
    texts = {index: _splice(slots[index].text, spans) for index, spans in replacements.items()}
    return texts, pseudonyms


def _replacement(resolution: Resolution, value: str, pseudonyms: PseudonymMap, hasher: Hasher) -> str:
    entity = resolution.finding.entity_type
    match resolution.action:
        case "allow":
            return value
        case "mask":
            return mask(value, resolution.keep_last)
        case "pseudonymize":
            return pseudonyms.token_for(entity, value)
        case "hash":
            return hashed(entity, hasher.short(value))
        case _:  # redact, and block should a blocked request ever get here
            return redacted(entity)


def mask(value: str, keep_last: int) -> str:
    """Star every letter and digit but the last `keep_last`; separators stay, so a masked card
    number still reads as one: `****-****-****-1234`. A value too short to keep anything is
    starred whole: showing all of it would not be masking."""
    alnum_positions = [i for i, char in enumerate(value) if char.isalnum()]
    shown = keep_last if len(alnum_positions) > keep_last else 0
    hidden = set(alnum_positions[: len(alnum_positions) - shown])
    return "".join("*" if i in hidden else char for i, char in enumerate(value))


def _splice(text: str, spans: list[tuple[int, int, str]]) -> str:
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text
