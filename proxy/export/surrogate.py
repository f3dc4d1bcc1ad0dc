"""Surrogate content: every placeholder the proxy wrote becomes a realistic fake of its type.

A model trained on forwarded text learns to say `<PERSON_1>`; trained on surrogates it learns to
say names. Fakes come from Faker, seeded by the conversation and the token, so a conversation
keeps one fake per token across all its turns, and an export is reproducible. Nothing is derived
from the original values, which the export never reads in this mode.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from faker import Faker

from proxy.export.conversation import Conversation
from proxy.placeholders import json_escape

# <PERSON_1> (pseudonymize), <IP_ADDRESS#3f9a1c2b7d4e> (hash), <US_SSN> (redact)
TOKEN = re.compile(r"<([A-Z][A-Z0-9_]*?)(_\d+|#[0-9a-f]+)?>")

Fake = Callable[[Faker], str]
FAKES: dict[str, Fake] = {
    "PERSON": lambda f: f.name(),
    "EMAIL_ADDRESS": lambda f: f.email(),
    "PHONE_NUMBER": lambda f: f.phone_number(),
    "LOCATION": lambda f: f.city(),
    "ORGANIZATION": lambda f: f.company(),
    "DATE_TIME": lambda f: f.date(),
    "URL": lambda f: f.url(),
    "IP_ADDRESS": lambda f: f.ipv4_public(),
    "CREDIT_CARD": lambda f: f.credit_card_number(),
    "IBAN_CODE": lambda f: f.iban(),
    "US_BANK_NUMBER": lambda f: f.bban(),
    "US_SSN": lambda f: f.ssn(),
    "US_ITIN": lambda f: f.itin(),
    "US_PASSPORT": lambda f: f.passport_number(),
    "US_DRIVER_LICENSE": lambda f: f.bothify("?#######").upper(),
    "UK_NHS": lambda f: f.numerify("### ### ####"),
    "EMPLOYEE_ID": lambda f: f.numerify("EMP-######"),
    "MEDICAL_RECORD_NUMBER": lambda f: f.numerify("MRN-########"),
    "PROJECT_CODENAME": lambda f: f.word().title(),
}


def _generic(faker: Faker) -> str:
    """For types without a fake of their own (secrets, custom detectors): a plausible opaque value."""
    return faker.password(length=20, special_chars=False)


class Surrogates:
    """Replaces placeholders with fakes; one instance serves a whole export."""

    def __init__(self, locale: str = "en_US") -> None:
        self._faker = Faker(locale)

    def apply(self, conversation: Conversation, scope: str) -> tuple[Conversation, set[str]]:
        """The conversation with fakes in place of placeholders, and the fakes used (for the residual check)."""
        chosen: dict[str, str] = {}

        def content(text: str) -> str:
            return TOKEN.sub(lambda match: self._fake(match, scope, chosen) or match.group(0), text)

        def arguments(document: str) -> str:  # a JSON document: a fake must be escaped inside its strings
            return TOKEN.sub(lambda m: json_escape(self._fake(m, scope, chosen)) or m.group(0), document)

        return conversation.map_texts(content, arguments), set(chosen.values())

    def _fake(self, match: re.Match[str], scope: str, chosen: dict[str, str]) -> str:
        token, entity, suffix = match.group(0), match.group(1), match.group(2)
        if token in chosen:
            return chosen[token]
        if suffix is None and entity not in FAKES:
            return ""  # `<T>` in code or markup, not one of ours
        make = FAKES.get(entity, _generic)
        used = set(chosen.values())
        for attempt in range(8):  # two tokens of one conversation must not share a fake
            self._faker.seed_instance(_seed(scope, token, attempt))
            value = make(self._faker)
            if value not in used:
                break
        chosen[token] = value
        return value


def _seed(scope: str, token: str, attempt: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{scope}\x00{token}\x00{attempt}".encode(), digest_size=8).digest())
