"""Where a person lives: POSTCODE and RESIDENCE.

A town is personal when it is someone's home ("lives in Tauranga", "wohnhaft in Leverkusen",
"risiede a Frosinone", "10117 Berlin" in an address block), not when a prompt asks about it
("best time to visit Kyoto"). So a place is reported only after a residence cue, in the
languages prompts are written in, or after a postcode. Postcodes are reported after their label
(`postcode`, `PLZ`, `code postal`, `CAP`, `zip`) in the shape of any country, and without one only
in shapes that are hard to mistake: British and Canadian codes, Dutch `1234 AB`, a US state and
ZIP, an Australian state and code, five digits before a town.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from proxy.detection.found import Found, SpanRecognizer
from proxy.detection.names import is_common, name_lists

_UPPER = "A-ZÀ-ÖØ-ÞĀ-Žİ"
_WORD = rf"[{_UPPER}][\w'’-]*"
_LINK = r"(?:de|del|di|da|la|le|les|am|an|der|im|upon|on|sur|en|op|aan|ter|van)"
PLACE = rf"(?P<place>{_WORD}(?:[ \t](?:{_LINK}[ \t])?{_WORD}){{0,2}})"

_CUES = (
    r"(?:lives?|living|lived|resides?|residing|resident|based|moved|relocated|relocating|settled|homeowner|"
    r"home|house|flat|apartment|stays?|staying|grew up)(?:[ \t]+[\w]{1,12}){0,2}?[ \t]+(?:in|to|at|near|outside)",
    r"(?:wohnt|wohne|wohnhaft|lebt|lebe|ansässig|umgezogen|gezogen|zieht|ziehen)(?:[ \t]+[\w]{1,12}){0,2}?"
    r"[ \t]+(?:in|nach|bei)",
    r"(?:habite|habitons|habitant|vit|vis|réside|résidant|demeurant|domiciliée?|installée?)"
    r"(?:[ \t]+[\w]{1,12}){0,2}?[ \t]+(?:à|a|au|en)",
    r"(?:vive|vivo|vivimos|reside|resido|residente|domiciliad[oa]|mudó|mudé)(?:[ \t]+[\w]{1,12}){0,2}?"
    r"[ \t]+(?:en|a)",
    r"(?:abita|abito|vive|vivo|risiede|risiedo|residente|domiciliat[oa]|trasferit[oa])"
    r"(?:[ \t]+[\w]{1,12}){0,2}?[ \t]+(?:a|ad|in)",
    r"(?:woont|woon|woonachtig|wonende?|verhuisd)(?:[ \t]+[\w]{1,12}){0,2}?[ \t]+(?:in|te|naar)",
    r"(?:mora|moro|moramos|residente|reside|vive)(?:[ \t]+[\w]{1,12}){0,2}?[ \t]+(?:em|no|na)",
    r"(?:bor|bodde)[ \t]+i",
    r"(?:mieszka|mieszkam|zamieszka[łl][aey]?|zamieszkał[ay])[ \t]+w",
    # a labelled place of residence: "Wohnort: Bamberg", "woonplaats Zwolle", "lieu de résidence : Metz"
    r"(?:wohnort|woonplaats|place[ \t]+of[ \t]+residence|lieu[ \t]+de[ \t]+r[ée]sidence|domicilio[ \t]+en"
    r"|luogo[ \t]+di[ \t]+residenza|miejsce[ \t]+zamieszkania|local[ \t]+de[ \t]+resid[êe]ncia)[ \t]*:?",
)
_RESIDENCE = re.compile(rf"(?<![\w-])(?i:{'|'.join(_CUES)})[ \t]+{PLACE}")
# Where a named person is from: "Anna Kowal aus Jena", "Jan Smit uit Zwolle", "Ana Ruiz, de Lugo",
# "Piotr Nowak z Radomia". The first word must be a listed given name; "de" and "di" (also parts of
# surnames: "Juan de la Cruz") only after a comma.
_ORIGIN = re.compile(
    rf"(?<![\w-])(?P<given>{_WORD})[ \t]+{_WORD}(?:[ \t]+{_WORD})?(?:,?[ \t]+(?:aus|uit|z|ze)|,[ \t]+(?:de|di|from))"
    rf"[ \t]+{PLACE}"
)

_LABEL = (
    r"(?i:post[ -]?code|postal[ -]code|zip(?:[ -]?code)?|plz|postleitzahl|code[ -]postal|c\.?p\.|"
    r"c[óo]digo[ -]postal|cap|eircode|pin[ -]?code|postnummer|kod pocztowy)"
)
_ANY_SHAPE = (
    r"[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d|[A-Z]\d{2}[ \t]?[A-Z0-9]{4}"
    r"|\d{4}[ \t]?[A-Z]{2}|\d{5}(?:-\d{4})?|\d{3}[ \t]?\d{3}|\d{2}-\d{3}|\d{3}[ \t]\d{2}|\d{4}"
)
# Where the "postcode town" of an address starts: a line, a cell or field, or after "in", "to", "à"...
_ADDRESS_START = (
    r"(?:^|(?<=[,:;(|])|"
    + "|".join(rf"(?<=\b{word}[ \t])" for word in "in to at nach aus à en a te from de".split())
    + r")[ \t]*"
)
POSTCODES = {
    "labelled": (rf"(?<![\w-]){_LABEL}[ \t]*[:#]?[ \t]*(?P<code>{_ANY_SHAPE})(?![\w-])", 0.85),
    "British": (r"(?<![\w-])(?P<code>[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[A-Z]{2})(?![\w-])", 0.6),
    "Canadian": (r"(?<![\w-])(?P<code>[A-Z]\d[A-Z][ \t]\d[A-Z]\d)(?![\w-])", 0.6),
    "Dutch, before a town": (rf"(?<![\w-])(?P<code>\d{{4}}[ \t]?[A-Z]{{2}})[ \t]+{PLACE}", 0.7),
    "US state and ZIP": (r"(?<=,[ \t])[A-Z]{2}[ \t]+(?P<code>\d{5}(?:-\d{4})?)(?![\w-])", 0.75),
    "Australian state and code": (r"(?<![\w-])(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT)[ \t]+(?P<code>\d{4})(?![\w-])", 0.7),
    "five digits before a town": (rf"{_ADDRESS_START}(?:[A-Z]-)?(?P<code>\d{{5}})[ \t]+{PLACE}", 0.6),
}
_POSTCODES = [(name, re.compile(pattern, re.MULTILINE), score) for name, (pattern, score) in POSTCODES.items()]
RESIDENCE_SCORE = 0.7


def _town(place: str) -> str | None:
    """The place without trailing words that are no part of a name; None when it is a common word."""
    words = place.split()
    while words and is_common(words[-1].strip(".")):
        words.pop()
    if not words or is_common(words[0].strip(".")):
        return None
    return " ".join(words).rstrip(".")


def residences(text: str) -> Iterator[Found]:
    """Every postcode and place of residence in `text`."""
    for match in _RESIDENCE.finditer(text):
        yield from _place(match, RESIDENCE_SCORE, "after a residence cue")
    for match in _ORIGIN.finditer(text):
        if _given_name(match["given"]):
            yield from _place(match, RESIDENCE_SCORE, "after a person's name")
    for name, pattern, score in _POSTCODES:
        for match in pattern.finditer(text):
            yield Found("POSTCODE", match.start("code"), match.end("code"), score, name)
            if match.groupdict().get("place"):
                yield from _place(match, score, "after a postcode")


def _given_name(word: str) -> bool:
    """Whether `word` is a listed given name, also without its accents ("Kévin")."""
    given = name_lists()[0]
    folded = word.casefold()
    plain = "".join(c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c))
    return folded in given or plain in given


def _place(match: re.Match[str], score: float, why: str) -> Iterator[Found]:
    town = _town(match["place"])
    if town is not None:
        yield Found("RESIDENCE", match.start("place"), match.start("place") + len(town), score, why)


class ResidenceRecognizer(SpanRecognizer):
    """POSTCODE and RESIDENCE (see the module docstring)."""

    NAME = "ResidenceRecognizer"
    ENTITIES = ("POSTCODE", "RESIDENCE")

    def find(self, text: str) -> Iterator[Found]:
        return residences(text)
