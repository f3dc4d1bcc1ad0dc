"""Street addresses, as STREET_ADDRESS: the small English model has no such label, and a street
line plus a postcode pins a person to a door.

One pattern per way countries write a street line, from the street-type words of each
language (USPS suffixes for English, prefixes for Romance languages and Polish, compound
suffixes for German and Dutch), each optionally followed by a flat or suite number and a
"postcode town" or "town, ST zip" tail in the country's order. A flat or unit may come first
("appart 5B, 23 rue ...", "Wohnung 3, ..."), a postcode and town may follow without a comma, and an
Italian address may name its town first ("Milano, Viale Monza 44, 20127"). A street word alone is
not enough: a house number must sit on the expected side, so "Avenue Q" or "the High Street" pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import regex
from faker.providers.address.en_US import Provider as UsAddresses
from faker.providers.address.es_ES import Provider as SpanishAddresses
from faker.providers.address.it_IT import Provider as ItalianAddresses
from faker.providers.address.pt_BR import Provider as BrazilianAddresses
from presidio_analyzer import Pattern, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from proxy.detection.found import GatedPatternRecognizer

_UPPER = "A-ZÀ-ÖØ-ÞĀ-Ž"
# A capitalised word of a street or town name ("O'Connell", "Saint-Denis", "D'Oro").
NAME = rf"[{_UPPER}][\w'’-]*"
PARTICLE = r"(?:de|del|della|delle|dei|di|da|das|do|dos|du|des|la|le|les|van|von|der|den|am|an|im|e|y|of|the)"
STREET_NAME = rf"{NAME}(?:[ \t]+(?:{PARTICLE}[ \t]+)*{NAME}){{0,4}}"
PARTICLES = rf"(?:{PARTICLE}[ \t]+)*"
# 12, 12a, 88-2, 14/3, and a Dutch floor in Roman numerals or "hs" (ground floor): 412-III, 7-hs
NUMBER = r"\d{1,5}[A-Za-z]?(?:[-/](?:\d{1,4}[A-Za-z]?|[IVX]{1,4}\b|hs\b|huis\b))?"


def _words(words: Iterable[object]) -> str:
    return "|".join(sorted({re.escape(str(w)) for w in words if isinstance(w, str)}, key=len, reverse=True))


# USPS suffixes and the British ones USPS lacks ("Larkspur Close", "Primrose Rise")
_EN_SUFFIXES = _words(
    [*UsAddresses.street_suffixes, *"St Rd Ave Ln Dr Ct Pl Blvd Sq Cres Gdns Ter Hwy Close Rise Parade".split()]
)
_ROMANCE_PREFIXES = _words(
    [
        *SpanishAddresses.street_prefixes, *ItalianAddresses.street_suffixes, *BrazilianAddresses.street_prefixes,
        "Calle", "C/", "Avda.", "Av.", "Paseo", "Carrer", "Rua", "Travessa", "Largo", "Corso", "Vicolo",
        "Ulica", "ulica", "ul.", "Aleja", "aleja", "al.", "Plac", "plac", "pl.", "Osiedle", "os.",
        "Cuesta", "Pátio", "Morro",
        # Italian and Spanish street words as they are written in running text, in lower case
        "via", "viale", "piazza", "piazzale", "corso", "vicolo", "largo", "strada", "calle", "avda.", "paseo",
    ]
)  # fmt: skip
# A German street type written apart from its name, after an adjective of a place or a quality
# ("Venloer Str.", "Lange Straße", "Alter Weg").
_GERMAN_TYPES = r"(?:Straße|Strasse|Str\.|Gasse|Platz|Weg|Allee|Ring|Damm|Ufer|Chaussee|Steig|Pfad|Markt)"
# ... but not an article or a pronoun ("Der Weg 12 ist lang", "Jeder Platz 3")
_DETERMINERS = (
    r"(?:Die|Das|Dies|Jen|Jed|Ein|Kein|Mein|Dein|Sein|Ihr|Unser|Euer|Ander|Nächst|Erst|Letzt|Viel|Welch)"
    r"(?:e[rnms]?|es)?"
)
_FRENCH_TYPES = "rue|avenue|boulevard|bd|chemin|allée|place|impasse|route|quai|cours|square|passage|faubourg"
_COMPOUND_SUFFIXES = (
    "straße|strasse|str\\.|gasse|platz|weg|allee|ring|damm|ufer|chaussee|steig|pfad|markt|"
    "boulevard|straat|laan|gracht|plein|kade|singel|dreef|baan|hof|pad|steeg|plantsoen"
)
# A flat, suite or floor after the house number: "Apt. 636", "m. 14" (Polish), "int. 5" (Italian),
# "bus 3" (Belgian), or a Spanish floor and door ("3º izq", "5ºA", "2.º dcha").
UNIT = (
    r"(?:,?[ \t]+(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|Appartamento|Piano|Piso|Apto\.?|Bloco|Casa|m\.|lok\.|int\.|"
    r"interno|scala|bus|Whg\.|Wohnung|Puerta|Portal|Escalera|Esc\.|Depto\.?|Dpto\.?)[ \t]*\w{1,5}"
    r"|[ \t]+(?:hs|huis|bis|ter)\b"
    rf"|,[ \t]*(?:Col\.|Colonia|Bairro|Barrio)[ \t]+{NAME}(?:[ \t]+{NAME}){{0,3}}"
    r"|,[ \t]*\d{1,2}\.?[º°ª](?:[ \t]?[A-Z](?!\w))?"
    r"(?:[ \t]+(?i:izq(?:da|uierda)?|dcha|dch|der(?:echa)?|centro|esq|dto|drt)\.?)?)?"
)
POSTCODE = (
    r"(?:\d{5}-\d{3}|\d{5}(?:-\d{4})?|\d{4}-\d{3}|\d{2}-\d{3}|\d{4}[ \t]?[A-Z]{2}|\d{8}|\d{4}"
    r"|[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}|[AC-FHKNPRTV-Y]\d{2}[ \t]?[AC-FHKNPRTV-Y0-9]{4})"
)
# a town, with a postal district ("Dublin 8") or a province ("(MI)")
TOWN = rf"{NAME}(?:[ \t]+(?:{PARTICLE}[ \t]+)?{NAME}){{0,3}}(?:[ \t]+\d{{1,2}}(?=,))?(?:[ \t]+\([A-Z]{{2}}\))?"
TAIL = (
    rf"(?:[ \t]+{POSTCODE}[ \t]+{TOWN}|[ \t]?,[ \t]*(?:{POSTCODE},?[ \t]+{TOWN}|{TOWN},[ \t]*[A-Z]{{2}}[ \t]+{POSTCODE}"
    rf"|{TOWN},?[ \t]+{POSTCODE}|{TOWN}(?=[ \t]*[.;)\n]|$)))?"
)
# A flat or unit written before the street line: "Flat 2, ", "appart 5B, ", "Wohnung 3, ". Looked for
# back from a street line found, not as an optional start of every pattern: a pattern that may begin
# with anything is tried at every position of the text, which cost 1.5 ms of CPU on a 1.5 KB request.
FLAT_BEFORE = re.compile(
    r"\b(?i:flat|apartment|apt\.?|unit|suite|appart(?:ement)?\.?|app\.|wohnung|whg\.|appartamento|interno|"
    r"piso|apto\.?|depto\.?|dpto\.?)[ \t]+\w{1,5},[ \t]+\Z"
)
# `regex`'s digit, as the patterns' (Python's `re` knows fewer of Unicode's digits)
_DIGIT = regex.compile(r"\d")
_FLAT_REACH = 32  # the longest flat word ("appartamento"), its number, the comma and spaces
STREET_LINES = {
    # 221B Baker Street / 391 Johnson Burg Apt. 636
    "number, name, street type": rf"\b{NUMBER}[ \t]+{STREET_NAME}[ \t]+(?:{_EN_SUFFIXES})\b\.?",
    # Calle de Ema Abril 44 / Via Roma, 5 / ul. Pocztowa 867 / Rua das Flores, 12
    "street type, name, number": rf"(?<!\w)(?:{_ROMANCE_PREFIXES})[ \t]+{PARTICLES}{STREET_NAME},?[ \t]+{NUMBER}\b",
    # rue Pascal, 22673 Diaz: a French street without a number needs its postcode
    "French street type, name, postcode": rf"(?<!\w)(?:{_FRENCH_TYPES})[ \t]+{PARTICLES}{STREET_NAME}"
    rf"(?=,[ \t]*\d{{5}}[ \t]+{NAME})",
    # 20, avenue Jean Robert / 12 rue de la Paix
    "number, French street type, name": rf"\b\d{{1,4}}(?:[ \t]?(?:bis|ter))?,?[ \t]+(?:{_FRENCH_TYPES})[ \t]+"
    rf"(?:{PARTICLE}[ \t]+)*{STREET_NAME}",
    # Lindenstraße 23 / Evibaan 743 / Karl-Marx-Allee 7 / Van Eeghenstraat 88-2
    # (each capitalised word first looks ahead, past one more, for the house number: trying every suffix at
    # every letter of every capitalised word cost 0.1 ms of CPU on a 1.5 KB request)
    "compound street name, number": rf"\b(?=[{_UPPER}][\w'.-]*+[ \t]+(?:[{_UPPER}][\w'.-]*+[ \t]+)?\d)"
    rf"(?:[{_UPPER}][\w'-]*[ \t]+)?[{_UPPER}][\w'-]*(?i:{_COMPOUND_SUFFIXES})(?!\w)[ \t]+{NUMBER}\b",
    # Venloer Str. 241 / Lange Straße 5
    "adjective, German street type, number": rf"\b(?!{_DETERMINERS}\b)[{_UPPER}][\w'-]{{2,}}(?:er|e|en)[ \t]+"
    rf"{_GERMAN_TYPES}(?!\w)[ \t]+{NUMBER}\b",
    # Am Markt 3 / An der Kirche 12a
    "German preposition street, number": rf"\b(?:Am|An der|Auf dem|Im|In der|Zum|Zur)[ \t]+{NAME}[ \t]+{NUMBER}\b",
    # Studio 7, Pearson Court / Flat 3, Wilson Alley
    "flat, street name, type": rf"\b(?:Flat|Studio|Apartment|Unit)[ \t]+\d{{1,4}}[A-Za-z]?,[ \t]+{STREET_NAME}[ \t]+"
    rf"(?:{_EN_SUFFIXES})\b\.?",
    # Milano, Viale Monza 44, 20127: the town first, the postcode last
    "town, street type, name, number, postcode": rf"\b{NAME},[ \t]+(?:{_ROMANCE_PREFIXES})[ \t]+{PARTICLES}"
    rf"{STREET_NAME},?[ \t]+{NUMBER},[ \t]*\d{{5}}\b",
}


class StreetAddressRecognizer(GatedPatternRecognizer):
    """STREET_ADDRESS: a street line in one of several countries' orders, with its town when given."""

    ENTITY = "STREET_ADDRESS"
    CONTEXT = ["address", "street", "lives", "living", "resides", "residing", "ship", "deliver", "delivery", "home"]

    def __init__(self, supported_language: str = "en") -> None:
        patterns = [Pattern(name, line + UNIT + TAIL, 0.6) for name, line in STREET_LINES.items()]
        super().__init__(
            supported_entity=self.ENTITY,
            name="StreetAddressRecognizer",
            supported_language=supported_language,
            patterns=patterns,
            context=self.CONTEXT,
            global_regex_flags=re.MULTILINE,  # not Presidio's default IGNORECASE: capitals mark names
        )

    def may_match(self, text: str) -> bool:
        """Every street line has a house number or a postcode, so a text without a digit has none:
        half the bench body's messages, spared the patterns' 0.7 ms of CPU per 1.5 KB."""
        return _DIGIT.search(text) is not None

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """The street lines, each widened to a flat or unit written before it."""
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for result in results:
            flat = FLAT_BEFORE.search(text, max(0, result.start - _FLAT_REACH), result.start)
            if flat:
                result.start = flat.start()
        return results
