"""Dates of birth, as DATE_OF_BIRTH: a date is personal only when it says when someone was born.

A bare date ("the release on 24 October", "the Moon landing on July 20, 1969") is not reported;
a date right after "DOB", "date of birth", "born", "born in <town> on" (or the equivalents in German,
French, Spanish, Italian, Dutch, Portuguese and Polish: "nato a Bari il", "ur.", "geboren op"), or
after the signs genealogists and clinics write for "born" ("* 03.07.1949", "(°17/08/1937)") is.
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
    # French abbreviations; Polish in the genitive of dates ("17 września") and the nominative
    "|janv|févr|fevr|avr|juil|déc"
    "|stycznia|lutego|marca|kwietnia|maja|czerwca|lipca|sierpnia|września|wrzesnia|października|pazdziernika"
    "|listopada|grudnia|styczeń|luty|marzec|kwiecień|maj|czerwiec|lipiec|sierpień|wrzesień|październik"
    "|listopad|grudzień"
)
# A day of the month, with an ordinal ending: "3rd", "1er", "1º", "3." ("3rd of March", "le 1er mars")
_DAY = r"\d{1,2}(?:st|nd|rd|th|er|re|e|º|°|ª)?"
DATE = (
    rf"(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}|\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{4}}/\d{{1,2}}/\d{{1,2}}|\d{{4}}\.\d{{1,2}}\.\d{{1,2}}|\d{{4}}年\d{{1,2}}月\d{{1,2}}日"
    rf"|\d{{1,2}}-(?:{_MONTHS})-\d{{2,4}}"
    rf"|(?:{_MONTHS})\.?[ \t]+{_DAY},?[ \t]+\d{{4}}"
    rf"|{_DAY}\.?[ \t]+(?:(?:de|of)[ \t]+)?(?:{_MONTHS})\.?,?[ \t]+(?:de[ \t]+)?\d{{4}})"
)
# "born in <town> on": the birthplace may sit between the cue and its date, in every language
_PLACE = r"(?:\s+(?:in|at|à|a|ad|en|em|w|te)\s+[\w'’.-]{1,30}(?:\s+[\w'’.-]{1,30}){0,2}?)?"
LEAD = (
    r"(?:\bd\.?o\.?b\.?|\bdate\s+of\s+birth|\bbirth\s?date|\bbirthday|\bborn" + _PLACE + r"(?:\s+on)?|\bb\."
    r"|\bgeb(?:oren)?\.?" + _PLACE + r"(?:\s+(?:am|op))?"
    r"|\bgeburtsdatum|\bnée?" + _PLACE + r"\s+le|\bdate\s+de\s+naissance|\bfecha\s+de\s+nacimiento"
    r"|\bnacid[oa]" + _PLACE + r"\s+el|\bnaci[óo]" + _PLACE + r"\s+el"
    r"|\bf\.\s?nac\.?|\bnat[oa]" + _PLACE + r"\s+il|\bdata\s+di\s+nascita"
    r"|\bdata\s+de\s+nascimento|\bnascid[oa]" + _PLACE + r"\s+(?:em|a|no\s+dia)|\bgeboortedatum"
    r"|\bgeb\.?-?datum|\bdata\s+nascita|\bnascimento|\bf[øö]dselsdato|\bf[öø]delsedatum|\bsyntym[äa]aika"
    r"|\bur\.|\burodzon[ya]" + _PLACE + r"(?:\s+dnia)?|\bdata\s+urodzenia|生年月日|出生日期"
    # the genealogists' signs after a name ("Schößler, Hans, * 03.07.1949", "(°17/08/1937)"), not a
    # list's bullet at the start of a line; Italian "n." (nato, nata) after a name's comma, not a
    # number's "n." ("fattura n. 12/03/2024")
    r"|(?<=[\w,;(][ \t]{0,2})[*°]|(?<=,[ \t]{0,2})n\.(?=[ \t]?\d))"
)

# words between the cue and its date: "dob is 04/07/85", "born on the 3rd of May", "geboren am"
_FILLER = r"(?:[ \t]+(?:is|was|on|the|ist|am|est|le|es|el|è|il|op|em|dnia)(?![\w.])){0,2}"
# a wrapped line may put the date at the start of the next one ("he's ..., born\n23/07/1949")
_WRAP = r"[ \t]*(?:\n[ \t]*)?"


class DateOfBirthRecognizer(PatternRecognizer):
    ENTITY = "DATE_OF_BIRTH"

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            name="DateOfBirthRecognizer",
            supported_language=supported_language,
            patterns=[Pattern("date after a birth word", rf"{LEAD}[ \t]*[:,：-]?{_FILLER}{_WRAP}\K{DATE}(?!\w)", 0.85)],
            global_regex_flags=re.IGNORECASE | re.MULTILINE,
        )
