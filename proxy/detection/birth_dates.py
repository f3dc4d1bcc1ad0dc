"""Dates of birth, as DATE_OF_BIRTH: a date is personal only when it says when someone was born.

A bare date ("the release on 24 October", "the Moon landing on July 20, 1969") is not reported;
a date right after "DOB", "date of birth", "born" (or the German and French equivalents) is.
Policies can then protect birth dates without touching every deadline and changelog date, which
is what acting on Presidio's DATE_TIME would do.
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern, PatternRecognizer

_MONTHS = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    "oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    # French, German, Spanish, Italian, Dutch and Portuguese names not covered by the English ones
    "|janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre"
    "|januar|jänner|februar|märz|maerz|juni|juli|oktober|dezember"
    "|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre"
    "|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre"
    "|januari|februari|maart|mei|augustus"
    "|janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|dezembro"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
DATE = (
    rf"(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}|\d{{4}}-\d{{2}}-\d{{2}}|\d{{4}}年\d{{1,2}}月\d{{1,2}}日"
    rf"|(?:{_MONTHS})\.?[ \t]+{_DAY},?[ \t]+\d{{4}}"
    rf"|{_DAY}\.?[ \t]+(?:de[ \t]+)?(?:{_MONTHS})\.?,?[ \t]+(?:de[ \t]+)?\d{{4}})"
)
LEAD = (
    r"(?:\bd\.?o\.?b\.?|\bdate\s+of\s+birth|\bbirth\s?date|\bborn(?:\s+on)?|\bb\.|\bgeb(?:oren)?\.?(?:\s+am)?"
    r"|\bgeburtsdatum|\bnée?\s+le|\bdate\s+de\s+naissance|\bfecha\s+de\s+nacimiento|\bnacid[oa]\s+el"
    r"|\bf\.\s?nac\.?|\bnat[oa]\s+il|\bdata\s+di\s+nascita|\bdata\s+de\s+nascimento|\bnascid[oa]\s+em"
    r"|\bgeboren(?:\s+op)?|\bgeboortedatum|\burodzon[ya]|\bdata\s+urodzenia|生年月日|出生日期)"
)


class DateOfBirthRecognizer(PatternRecognizer):
    ENTITY = "DATE_OF_BIRTH"

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            name="DateOfBirthRecognizer",
            supported_language=supported_language,
            patterns=[Pattern("date after a birth word", rf"{LEAD}[ \t]*[:,：-]?[ \t]*\K{DATE}(?!\w)", 0.85)],
            global_regex_flags=re.IGNORECASE | re.MULTILINE,
        )
