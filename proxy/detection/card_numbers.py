"""Card numbers a reader takes for one, whatever their check digit.

Presidio's card recognizer requires the Luhn check, which a real card always passes. People
mistype, and texts invent numbers: "Card was 4916 3382 0917 5521" is someone's card to any reader,
and the vendor should not get it because its last digit is off. A number grouped as cards are
printed (four groups of four, or Amex's 4-6-5) with a card word shortly before it on the same line
is a card number. Published test numbers on a line about testing stay (`noise.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from proxy.detection.found import Found, SpanRecognizer

SCORE = 0.6
#: words for a payment card in the languages the proxy reads, and the schemes' names
_CUE = (
    r"card|cards|carte|cartes|carta|karte|kreditkarte|tarjeta|kaart|creditcard|bankpas|pinpas|cartão"
    r"|visa|mastercard|maestro|amex|american express|discover|diners|jcb|cb|pan"
)
_NUMBER = (
    r"(?<![\w-])(?:[2-6]\d{3}(?P<sep>[ -]?)\d{4}(?P=sep)\d{4}(?P=sep)\d{4}(?:(?P=sep)\d{1,3})?"
    r"|3\d{3}(?P<amex>[ -]?)\d{6}(?P=amex)\d{5})(?![\w-])"
)
#: a card word, then at most 40 characters on the same line, then the number
_CARD = re.compile(rf"(?i:\b(?:{_CUE})\b)[^\n]{{0,40}}?(?P<number>{_NUMBER})")


def cued_cards(text: str) -> Iterator[Found]:
    for match in _CARD.finditer(text):
        yield Found("CREDIT_CARD", *match.span("number"), SCORE, "grouped like a card number after a card word")


class CardCueRecognizer(SpanRecognizer):
    """CREDIT_CARD by shape and a nearby card word (see the module docstring)."""

    NAME = "CardCueRecognizer"
    ENTITIES = ("CREDIT_CARD",)

    def find(self, text: str) -> Iterator[Found]:
        return cued_cards(text)
