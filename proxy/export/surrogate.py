"""Surrogate content: every placeholder the proxy wrote becomes a realistic fake of its type.

A model trained on forwarded text learns to say `<PERSON_1>`; trained on surrogates it learns to
say names. Fakes come from Faker (identifiers with valid check digits, phone numbers valid for
the locale's country: see `identifiers`), seeded by the conversation and the token, so a
conversation keeps one fake per token across all its turns and an export is reproducible. A date
of birth is seeded by the data subject and the value's keyed hash, so one person keeps one
birthday in every conversation.

A redacted value is written as a bare `<PERSON>`, the same for every person. The record's
findings keep a keyed hash of each redacted value, in order: the n-th `<PERSON>` of the request
gets the fake of the n-th redacted person's hash, so two people stay two fakes and one person
mentioned twice stays one. Occurrences past the findings (an answer that repeats a token) each
get a fake of their own. Nothing is derived from the original values, which this mode never reads.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field

from faker import Faker

from proxy.export.conversation import Conversation
from proxy.export.identifiers import IDENTIFIERS, Make, phone
from proxy.placeholders import WRITTEN, json_escape

TOKEN = WRITTEN  # <PERSON_1> (pseudonymize), <IP_ADDRESS#3f9a1c2b7d4e> (hash), <US_SSN> (redact)
_DIGITS = re.compile(r"(\d+)")

FAKES: dict[str, Make] = {
    "PERSON": lambda f: f.name(),
    "EMAIL_ADDRESS": lambda f: f.email(),
    "STREET_ADDRESS": lambda f: f.street_address(),
    "LOCATION": lambda f: f.city(),
    "ORGANIZATION": lambda f: f.company(),
    "NRP": lambda f: f.random_element(("Canadian", "Brazilian", "Kenyan", "Norwegian", "Korean", "Chilean")),
    "DATE_TIME": lambda f: f.date(),
    "DATE_OF_BIRTH": lambda f: f.date_of_birth(minimum_age=18, maximum_age=90).isoformat(),
    "URL": lambda f: f.url(),
    "IP_ADDRESS": lambda f: f.ipv4_public(),
    "MAC_ADDRESS": lambda f: f.mac_address(),
    "IBAN_CODE": lambda f: f.iban(),
    "US_BANK_NUMBER": lambda f: f.bban(),
    "US_SSN": lambda f: f.ssn(),
    "US_ITIN": lambda f: f.itin(),
    "US_PASSPORT": lambda f: f.passport_number(),
    "PASSPORT_NUMBER": lambda f: f.bothify("??#######", "ABCDEFGHJKLMNPRSTUVWXYZ"),
    "US_DRIVER_LICENSE": lambda f: f.bothify("?#######", "ABCDEFGHJKLMNPRSTUVWXYZ"),
    "UK_NINO": lambda f: f.bothify("??######", "ABCEGHJKLMNPRSTWXYZ") + f.random_element("ABCD"),
    "MEDICAL_LICENSE": lambda f: f.bothify("??#######", "ABCDEFGHJKLMNPRSTUVWXYZ"),
    "CRYPTO": lambda f: "1" + f.pystr_format("?" * 33, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789"),
    "EMPLOYEE_ID": lambda f: f.numerify("EMP-######"),
    "MEDICAL_RECORD_NUMBER": lambda f: f.numerify("MRN-########"),
    "PROJECT_CODENAME": lambda f: f.word().title(),
    **IDENTIFIERS,
}
PER_SUBJECT = {"DATE_OF_BIRTH"}  # one value per person, whatever the conversation


def _generic(faker: Faker) -> str:
    """For types without a fake of their own (secrets, custom detectors): a plausible opaque value."""
    return faker.password(length=20, special_chars=False)


@dataclass
class _Record:
    """One record's context: its scope, its subject and the hashes behind its redacted values."""

    scope: str
    subject: str | None
    redacted: dict[str, list[str]]  # entity type -> value hashes, in text order
    seen: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # bare tokens met so far
    chosen: dict[str, str] = field(default_factory=dict)  # token (or type + value hash) -> fake


class Surrogates:
    """Replaces placeholders with fakes; one instance serves a whole export."""

    def __init__(self, locale: str = "en_US") -> None:
        self._faker = Faker(locale)
        region = locale.rpartition("_")[2] or "US"
        self._fakes = {**FAKES, "PHONE_NUMBER": phone(region)}

    def apply(
        self, conversation: Conversation, scope: str, subject: str | None = None, redacted: str | None = None
    ) -> tuple[Conversation, set[str]]:
        """The conversation with fakes in place of placeholders, and the fakes used (for the residual check).

        `redacted` is the record's redacted findings, "TYPE\\tslot\\tstart\\thash" per line."""
        record = _Record(scope, subject, _hashes(redacted))

        def content(text: str) -> str:
            return TOKEN.sub(lambda match: self._fake(match, record) or match.group(0), text)

        def arguments(document: str) -> str:  # a JSON document: a fake must be escaped inside its strings
            return TOKEN.sub(lambda m: json_escape(self._fake(m, record)) or m.group(0), document)

        return conversation.map_texts(content, arguments), set(record.chosen.values())

    def _fake(self, match: re.Match[str], record: _Record) -> str:
        token, entity, suffix = match.group(0), match.group(1), match.group(2)
        if suffix is None:  # redacted: which value this occurrence stands for, if the findings say
            if entity not in record.redacted and entity not in self._fakes:
                return ""  # `<T>` in code or markup, not one of ours
            index = record.seen[entity]
            record.seen[entity] += 1
            hashes = record.redacted.get(entity, [])
            token = f"{entity}#{hashes[index]}" if index < len(hashes) else f"{entity}@{index}"
        if token in record.chosen:
            return record.chosen[token]
        make = self._fakes.get(entity, _generic)
        scope = f"subject:{record.subject}" if entity in PER_SUBJECT and record.subject else record.scope
        used = set(record.chosen.values())
        for attempt in range(8):  # two tokens of one conversation must not share a fake
            self._faker.seed_instance(_seed(scope, token, attempt))
            value = make(self._faker)
            if value not in used:
                break
        record.chosen[token] = value
        return value


def has_stand_in(text: str) -> bool:
    """Whether `text` holds a placeholder of the proxy's: numbered, hashed, or a known type's name
    (a bare `<T>` in code is not one; an unknown `<SOME_TYPE>` is taken to be one, to be safe)."""
    for match in TOKEN.finditer(text):
        entity, suffix = match.group(1), match.group(2)
        if suffix or entity in FAKES or "_" in entity:
            return True
    return False


def _hashes(redacted: str | None) -> dict[str, list[str]]:
    """Value hashes per entity type, in the order the values stood in the request's slots."""
    findings: dict[str, list[tuple[tuple[object, ...], int, str]]] = defaultdict(list)
    for line in (redacted or "").splitlines():
        entity, slot, start, value_hash = line.split("\t")
        findings[entity].append((_slot_order(slot), int(start), value_hash))
    return {entity: [h for *_, h in sorted(found)] for entity, found in findings.items()}


def _slot_order(slot: str) -> tuple[object, ...]:
    """System text first (Anthropic's `system`, Responses' `instructions`), then numbered paths in number order."""
    first = 0 if slot.startswith(("system", "instructions")) else 1
    return (first, *(int(part) if part.isdigit() else part for part in _DIGITS.split(slot) if part))


def _seed(scope: str, token: str, attempt: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{scope}\x00{token}\x00{attempt}".encode(), digest_size=8).digest())
