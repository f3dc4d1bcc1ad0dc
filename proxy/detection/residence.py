"""Where a person lives: POSTCODE and RESIDENCE.

A town is personal when it is someone's home ("lives in Tauranga", "wohnhaft in Leverkusen",
"risiede a Frosinone", "10117 Berlin" in an address block), not when a prompt asks about it
("best time to visit Kyoto"). So a place is reported only after a residence cue, in the
languages prompts are written in (also when the line breaks between the cue and the town), before
"... and still lives there" or "..., where she lives", as a birthplace next to a numeric date (a
form or a court document: "nato a Bari il 03/04/1981"), after a relative and their name ("her
brother Kian in Leeds"), as "a Leeds-based cousin", or after a postcode; a postcode right after
such a town ("in Kormangala, Bengaluru 560034") is one too. Postcodes are reported after their label
(`postcode`, `PLZ`, `code postal`, `CAP`, `zip`) in the shape of any country, and without one only
in shapes that are hard to mistake: British and Canadian codes, Dutch `1234 AB`, a US state and
ZIP, an Australian state and code, five digits before a town.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from proxy.detection.found import Found, SpanRecognizer
from proxy.detection.labelled_ids import first_letter_alternation
from proxy.detection.names import is_common, name_lists

_UPPER = "A-ZÀ-ÖØ-ÞĀ-Žİ"
_WORD = rf"[{_UPPER}][\w'’-]*"
_LINK = r"(?:de|del|di|da|la|le|les|am|an|der|im|upon|on|sur|en|op|aan|ter|van)"
PLACE = rf"(?P<place>{_WORD}(?:[ \t](?:{_LINK}[ \t])?{_WORD}){{0,2}})"
_GAP = r"(?:[ \t]*\n[ \t]*|[ \t]+)"  # blanks, or a line break where prose was wrapped

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
    # at home in a town: "viel thuis in Mechelen", "zu Hause in Gera", "a casa a Lecce", "en casa en Soria"
    r"(?:thuis|zu[ \t]+hause|zuhause|daheim|a[ \t]+casa|en[ \t]+casa|chez[ \t]+(?:elle|lui|eux|moi))"
    r"[ \t]+(?:in|a|à|en)",
    r"(?:mieszka|mieszkam|zamieszka[łl][aey]?|zamieszkał[ay])[ \t]+w",
    # a labelled place of residence: "Wohnort: Bamberg", "woonplaats Zwolle", "lieu de résidence : Metz"
    # ... also with a few words before its colon: "Wohnort laut Meldebescheinigung: Offenbach"
    r"(?:wohnort|woonplaats|place[ \t]+of[ \t]+residence|lieu[ \t]+de[ \t]+r[ée]sidence|domicilio[ \t]+en"
    r"|luogo[ \t]+di[ \t]+residenza|miejsce[ \t]+zamieszkania|local[ \t]+de[ \t]+resid[êe]ncia)"
    r"(?:(?:[ \t]+\w{1,20}){1,3}[ \t]*:|[ \t]*:?)",
)
_AT = r"(?i:in|at|à|a|en|te|em)"  # "in" in the six languages (and Portuguese)
_STILL_THERE = (
    r"(?:(?i:and(?:[ \t]+\w+){0,2}?[ \t]+(?:still[ \t]+)?(?:lives?|resides?)[ \t]+there"
    r"|(?:where|wo|où|donde|dove|waar|onde)(?:[ \t]+\w+){0,4}?[ \t]+(?:still[ \t]+)?"
    r"(?:lives?|resides?|lebt|wohnt|vit|habite|vive|abita|risiede|woont|mora))(?!\w)"
    # "e vive ancora lì", "y vive allí", "et habite toujours là", "und wohnt noch dort", "en woont daar nog"
    r"|(?i:(?:e|y|et|und|en)(?:[ \t]+\w+){0,2}?[ \t]+(?:vive|abita|vit|habite|lebt|wohnt|woont|mora)"
    r"(?:[ \t]+(?:ancora|todavía|todavia|toujours|immer[ \t]+noch|noch|nog|ainda))?"
    r"[ \t]+(?:lì|li|là|ahí|allí|alli|allá|dort|daar|ali|lá))(?!\w))"
)
_BORN = r"(?i:born|nat[oa]|n[ée]e?|nacid[oa]|geboren|nascid[oa])"
_ON = r"(?:(?i:on|il|le|el|am|op|em)[ \t]+)?"
_NUMERIC_DATE = r"\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})(?!\d)"
_KIN = (
    r"brother|sister|mother|father|mum|mom|dad|son|daughter|cousin|aunt|auntie|uncle|niece|nephew|grandma|grandmother"
    r"|grandpa|grandfather|granny|wife|husband|partner|boyfriend|girlfriend|friend|roommate|flatmate"
    r"|bruder|schwester|mutter|vater|sohn|tochter|cousine|tante|onkel|oma|opa|freundin|freund"
    r"|frère|sœur|soeur|mère|père|fils|fille|oncle|amie?|copain|copine"
    r"|herman[oa]|madre|padre|hij[oa]|prim[oa]|tí[oa]|abuel[oa]|amig[oa]"
    r"|fratello|sorella|figli[oa]|cugin[oa]|zi[oa]|nonn[oa]|amic[oa]"
    r"|broer|zus|zuster|moeder|vader|zoon|dochter|neef|nicht|oom|vriendin|vriend"
)
_PEOPLE = (
    r"friend|cousin|brother|sister|mother|father|mum|mom|dad|aunt|uncle|son|daughter|grandmother|grandfather|wife"
    r"|husband|partner|boyfriend|girlfriend|family|couple|parents|tenant|landlord|client|customer|patient"
)
# Where someone lives, by the words around the town; each pattern names the town `place`, and a
# person's name before it `given` (a listed given name) or `name` (any capitalised word). Cues and
# relatives are tried by their first letter (`first_letter_alternation`): as one alternation each,
# `re` tried every word of them at every word of a text, 0.5 ms of CPU on a 1.5 KB request.
RESIDENCES = {
    "after a residence cue": rf"(?<![\w-])(?i:{first_letter_alternation(_CUES)}){_GAP}{PLACE}",
    "before 'still lives there'": rf"(?<![\w-]){_AT}{_GAP}{PLACE},?{_GAP}{_STILL_THERE}",
    "a birthplace before a date": rf"(?<![\w-]){_BORN}[ \t]+{_AT}{_GAP}{PLACE},?[ \t]+{_ON}{_NUMERIC_DATE}",
    "a birthplace after a date": rf"(?<![\w-]){_BORN}[ \t]+{_ON}{_NUMERIC_DATE}{_GAP}{_AT}{_GAP}{PLACE}",
    "after a relative's name": rf"(?<![\w-])(?i:{first_letter_alternation(_KIN.split('|'))}){_GAP}(?P<name>{_WORD})"
    rf"{_GAP}(?i:in|à|en|a){_GAP}{PLACE}",
    "a person based there": rf"(?<![\w-])(?P<place>{_WORD}(?:[ \t]{_WORD})?)-based[ \t]+(?i:{_PEOPLE})s?(?!\w)",
    "someone based there": rf"(?<![\w-])(?i:i'm|i[ \t]+am|we're|we[ \t]+are|he's|she's|they're|is|are)"
    rf"(?:[ \t]+now)?[ \t]+(?P<place>{_WORD}(?:[ \t]{_WORD})?)-based(?!\w)",
}
# Where a named person is from: "Anna Kowal aus Jena", "Jan Smit uit Zwolle", "Ana Ruiz, de Lugo",
# "Piotr Nowak z Radomia". The first word must be a listed given name; "de" and "di" (also parts of
# surnames: "Juan de la Cruz") only after a comma.
_ORIGIN = (
    rf"(?<![\w-])(?P<given>{_WORD})[ \t]+{_WORD}(?:[ \t]+{_WORD})?(?:,?[ \t]+(?:aus|uit|z|ze)|,[ \t]+(?:de|di|from))"
    rf"[ \t]+{PLACE}"
)
_RESIDENCES = [(why, re.compile(pattern)) for why, pattern in {**RESIDENCES, "after a person's name": _ORIGIN}.items()]
# Common words that begin names of towns: "New York", "Bad Homburg", "Great Yarmouth", "Den Haag".
_PLACE_HEADS = frozenset(
    "new bad the great little north south east west upper lower port fort mount lake den saint st san santa "
    "le la el los las".split()
)
# Subjects and languages, capitalised after "in" though no town: "my daughter Mia in French class".
_NOT_TOWNS = frozenset(
    "english french german spanish italian dutch portuguese polish chinese japanese arabic latin greek russian "
    "maths math science history art music reception kindergarten".split()
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
    # looks ahead for the digits first: the start's dozen lookbehinds cost 0.2 ms of CPU, tried at every position
    "five digits before a town": (
        rf"(?=[ \t]*(?:[A-Z]-)?\d){_ADDRESS_START}(?:[A-Z]-)?(?P<code>\d{{5}})[ \t]+{PLACE}",
        0.6,
    ),
}
_POSTCODES = [(name, re.compile(pattern, re.MULTILINE), score) for name, (pattern, score) in POSTCODES.items()]
RESIDENCE_SCORE = 0.7
# Postcodes, and birthplaces next to a numeric date, have a digit: a text without one skips their
# patterns, which cost 0.35 ms of CPU on a 1.5 KB request (half of whose messages have no digit).
_DIGIT = re.compile(r"\d")
_DATED = frozenset({"a birthplace before a date", "a birthplace after a date"})
# After a home town: a six-digit PIN, a five-digit code (or ZIP+4), a Dutch or British code; not
# four digits alone, which after a town is more often a year.
_CODE_AFTER_TOWN = re.compile(
    rf"(?:,[ \t]*{PLACE})?,?[ \t]+(?P<code>\d{{3}}[ \t]?\d{{3}}|\d{{5}}(?:-\d{{4}})?|\d{{4}}[ \t]?[A-Z]{{2}}"
    r"|[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[A-Z]{2})(?![\w-])"
)
POSTCODE_AFTER_TOWN_SCORE = 0.6


def _town(place: str) -> str | None:
    """The place without trailing words that are no part of a name; None when it is a common word,
    unless that word heads a longer name of a town ("New York", "Bad Homburg", "The Hague")."""
    words = place.split()
    while words and is_common(words[-1].strip(".")):
        words.pop()
    if not words or (is_common(words[0].strip(".")) and (len(words) < 2 or words[0].casefold() not in _PLACE_HEADS)):
        return None
    return " ".join(words).rstrip(".")


def residences(text: str) -> Iterator[Found]:
    """Every postcode and place of residence in `text`."""
    digits = _DIGIT.search(text) is not None
    for why, pattern in _RESIDENCES:
        if why in _DATED and not digits:
            continue
        for match in pattern.finditer(text):
            if _named(match) and match["place"].casefold() not in _NOT_TOWNS:
                yield from _place(match, RESIDENCE_SCORE, why)
                yield from _postcode_after(text, match.end("place"))
    if not digits:
        return
    for name, pattern, score in _POSTCODES:
        for match in pattern.finditer(text):
            yield Found("POSTCODE", match.start("code"), match.end("code"), score, name)
            if match.groupdict().get("place"):
                yield from _place(match, score, "after a postcode")


def _named(match: re.Match[str]) -> bool:
    """Whether the person before the town, if the pattern has one, is named: a listed given name
    (`given`), or a capitalised word that is no common word (`name`)."""
    groups = match.groupdict()
    if groups.get("given") is not None and not _given_name(groups["given"]):
        return False
    return groups.get("name") is None or not is_common(groups["name"])


def _postcode_after(text: str, position: int) -> Iterator[Found]:
    """A postcode right after a home town, perhaps after its city: "in Kormangala, Bengaluru 560034"."""
    match = _CODE_AFTER_TOWN.match(text, position)
    if match is None:
        return
    yield Found("POSTCODE", match.start("code"), match.end("code"), POSTCODE_AFTER_TOWN_SCORE, "after a home town")
    if match["place"]:
        yield from _place(match, POSTCODE_AFTER_TOWN_SCORE, "before a postcode")


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
