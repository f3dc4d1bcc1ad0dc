"""Named groups of entity types, so a policy can say `detect: [group:secrets]`.

A group is a promise to compliance staff ("every kind of secret we can find"): when a new
secret recognizer is added, every policy naming the group covers it without an edit.
"""

from __future__ import annotations

from collections.abc import Iterable

from proxy.detection.national_ids import NATIONAL_ID_ENTITIES
from proxy.detection.secrets import SECRET_ENTITIES

PREFIX = "group:"

GROUPS: dict[str, tuple[str, ...]] = {
    "secrets": SECRET_ENTITIES,
    "contact": ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "PERSONAL_URL"),
    "financial": ("CREDIT_CARD", "IBAN_CODE", "US_BANK_NUMBER", "CRYPTO", "ACCOUNT_NUMBER"),
    "government_ids": (
        "US_SSN", "US_ITIN", "US_PASSPORT", "US_DRIVER_LICENSE", "UK_NHS", *NATIONAL_ID_ENTITIES,
        "NATIONAL_ID", "TAX_ID", "DRIVER_LICENSE",
    ),
    "health": ("MEDICAL_LICENSE", "UK_NHS", "MEDICAL_RECORD_NUMBER", "INSURANCE_ID"),
    "case_numbers": ("CASE_NUMBER",),
    "network": ("IP_ADDRESS", "MAC_ADDRESS", "URL"),
    "location": ("LOCATION", "STREET_ADDRESS", "POSTCODE", "RESIDENCE"),
}  # fmt: skip


def expand(names: Iterable[str]) -> set[str]:
    """Entity types for a rule's `detect` list, groups expanded."""
    result: set[str] = set()
    for name in names:
        result |= set(GROUPS[name.removeprefix(PREFIX)]) if name.startswith(PREFIX) else {name}
    return result


def group_names() -> list[str]:
    return [PREFIX + name for name in GROUPS]
