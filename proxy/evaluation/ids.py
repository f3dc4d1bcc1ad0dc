"""Synthetic identifiers with valid check digits, for the evaluation set.

Faker covers most countries' identifiers; these fill its gaps (a German tax id, a British
National Insurance number from an allocated prefix, a US-style card from the 2-series range)
so that every generated identifier is one a real checksum-validating recognizer must accept.
"""

from __future__ import annotations

import random
import string


def luhn_digit(digits: str) -> str:
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char) * (2 if i % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def german_tax_id(rng: random.Random) -> str:
    """Steuerliche Identifikationsnummer: 11 digits, ISO 7064 MOD 11,10 check digit, first not 0."""
    while True:
        body = str(rng.randint(1, 9)) + "".join(rng.choice(string.digits) for _ in range(9))
        if max(body.count(d) for d in set(body)) in (2, 3):  # one digit repeats, as the rules require
            return body + mod11_10(body)


def mod11_10(body: str) -> str:
    product = 10
    for char in body:
        total = (int(char) + product) % 10 or 10
        product = (total * 2) % 11
    return str((11 - product) % 10)


def uk_nino(rng: random.Random) -> str:
    first = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    if first + second in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}:
        first, second = "A", "B"
    digits = "".join(rng.choice(string.digits) for _ in range(6))
    return f"{first}{second} {digits[:2]} {digits[2:4]} {digits[4:]} {rng.choice('ABCD')}"


def mastercard_2_series(rng: random.Random) -> str:
    body = str(rng.randint(2221, 2720)) + "".join(rng.choice(string.digits) for _ in range(11))
    return body + luhn_digit(body)


def group(number: str, size: int = 4, sep: str = " ") -> str:
    return sep.join(number[i : i + size] for i in range(0, len(number), size))
