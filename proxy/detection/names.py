"""People's names the statistical model misses: written in lower or upper case, as "Last, First",
after a title, or from cultures the small English model barely saw.

`NameListRecognizer` knows the given names and family names Faker ships for some fifty
Latin-script locales (tens of thousands of names). It reports, as PERSON:
- a run of two to four name words whose first is a given name and whose last is a family name,
  in one consistent case ("maria gonzalez", "NGUYEN VAN MINH", "Siobhan O'Reilly");
- "Last, First" ("Kowalczyk, Anna");
- any capitalised word after a title ("Dr. Adeyemi", "Frau Weißmüller", "Mme Dubois-Lefèvre");
- a lone capitalised given or family name, not at the start of a sentence, that spaCy does not
  call an organisation, a place, a nationality or a product ("... and Fujii, staff number ..."). (It once also
  had to be tagged as a proper noun; detection no longer loads spaCy's tagger, see spacy_model.py.)
Words common in English ("will", "may", "green") never count as a name on their own, so a
sentence in lower case is not read as a list of names.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from functools import lru_cache

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.lang.en.stop_words import STOP_WORDS

from proxy.detection.common_words import COMMON_WORDS
from proxy.detection.lexicon import is_common_in

# Locales whose Faker name lists are in Latin script (the text a prompt in English carries).
NAME_LOCALES = (
    "en_US en_GB en_IE en_NZ en_IN en_NG de_DE de_AT de_CH fr_FR fr_CA es_ES es_MX it_IT nl_NL nl_BE pl_PL "
    "pt_BR pt_PT sv_SE no_NO da_DK fi_FI et_EE lv_LV lt_LT cs_CZ sk_SK sl_SI hr_HR hu_HU ro_RO tr_TR az_AZ "
    "id_ID vi_VN sw yo_NG zu_ZA tw_GH ga_IE ja_JP zh_CN"
).split()
RECOGNIZER = "NameListRecognizer"
LONE_NAME_SCORE = 0.5  # one word alone is weaker evidence than a full name or a title
TITLES = (
    "mr mrs ms miss mx dr prof sir dame herr frau fr hr mme mlle monsieur madame sr sra srta don doña "
    "sig sig.ra dott dott.ssa signor signora pan pani dhr mevr shri smt"
).split()
PARTICLES = frozenset(
    "van von der den de da das do dos del della di du le la bin binti bint ibn al el ter ten y e "
    "ó ní nic ua ap af zu dela delos".split()
)
_LATIN = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ɏḀ-ỿ'’ -]+$")
WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
TITLE = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(t) for t in TITLES) + r")\.?[ \t]+$", re.IGNORECASE)


@lru_cache(maxsize=1)
def name_lists() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, family names), case-folded, from Faker's person providers; common words left out."""
    given, family = _all_names()
    return given - COMMON_WORDS, family - COMMON_WORDS


@lru_cache(maxsize=1)
def word_given_names() -> frozenset[str]:
    """Given names that are also common words ("will", "grace", "hope"): a name only beside another."""
    return _all_names()[0] & COMMON_WORDS


#: English short forms Faker's lists lack, written by hand; ones that are also words or abbreviations
#: ("Pat", "Rich", "Ed", "Al", "Kit") are left out, except "Will", which stays a name only beside
#: another or after a strong cue, as "Grace" and "Hope" do
NICKNAMES = "will matt jen lizzie jess freddie ollie alfie stevie maddie gabby izzy lexi lottie trish walt".split()


@lru_cache(maxsize=1)
def _all_names() -> tuple[frozenset[str], frozenset[str]]:
    given: set[str] = set(NICKNAMES)
    family: set[str] = set()
    for locale in NAME_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attribute in dir(provider):
            target = given if attribute.startswith("first_") else family if attribute.startswith("last_") else None
            if target is None or not attribute.endswith(("names", "names_male", "names_female", "_romanized")):
                continue
            values = getattr(provider, attribute)
            for name in values if isinstance(values, list | tuple | dict) else ():
                if isinstance(name, str) and _LATIN.match(name):
                    target.update(part.casefold() for part in name.split() if len(part) > 1)
    return frozenset(given), frozenset(family)


def is_common(word: str) -> bool:
    folded = word.casefold()
    return folded in COMMON_WORDS or folded in STOP_WORDS


class NameListRecognizer(EntityRecognizer):
    """PERSON from name lists, titles and "Last, First" (see the module docstring)."""

    ENTITY = "PERSON"

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(supported_entities=[self.ENTITY], name=RECOGNIZER, supported_language=supported_language)

    def load(self) -> None:
        name_lists()

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if self.ENTITY not in entities:
            return []
        given, family = name_lists()
        words = [(m.start(), m.end(), m[0]) for m in WORD.finditer(text)]
        found: dict[tuple[int, int], tuple[float, str]] = {}
        for start, end, score, why in self._spans(text, words, given, family, nlp_artifacts):
            if found.get((start, end), (0.0, ""))[0] < score:
                found[(start, end)] = (score, why)
        return [
            RecognizerResult(
                self.ENTITY, start, end, score, AnalysisExplanation(RECOGNIZER, score, textual_explanation=why),
                recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: RECOGNIZER},
            )
            for (start, end), (score, why) in sorted(found.items())
        ]  # fmt: skip

    def _spans(
        self,
        text: str,
        words: list[tuple[int, int, str]],
        given: frozenset[str],
        family: frozenset[str],
        nlp_artifacts: NlpArtifacts | None,
    ) -> Iterator[tuple[int, int, float, str]]:
        for i, (start, end, word) in enumerate(words):
            if TITLE.search(text[max(0, start - 12) : start]) and _capitalised(word):
                stop = _title_run_end(words, i, text)
                yield start, words[stop][1], 0.85, "a capitalised word after a title"
            run = _full_name(words, i, text, given, family)
            if run is not None:
                yield start, words[run][1], 0.85, "a given name followed by a family name"
            if i + 1 < len(words) and _last_first(text, words[i], words[i + 1], given, family):
                yield start, words[i + 1][1], 0.85, "Last, First"
            # These two do not ask spaCy: it calls many foreign names an organisation or a place.
            elif i + 1 < len(words) and _unknown_last_first(text, words[i], words[i + 1], given):
                yield start, words[i + 1][1], 0.6, "a capitalised word, a comma and a given name"
            elif i + 1 < len(words) and _caps_last_first(text, words[i], words[i + 1], given):
                stop = _title_run_end(words, i + 1, text)
                yield start, words[stop][1], 0.6, "a family name in capitals, a comma and a given name"
            if run is None and i + 1 < len(words) and _given_then_unknown(text, words[i], words[i + 1], given):
                yield start, words[i + 1][1], 0.6, "a given name followed by a capitalised word"
            elif run is None and i + 1 < len(words) and _unknown_then_family(text, words[i], words[i + 1], family):
                yield start, words[i + 1][1], 0.6, "a rare capitalised word followed by a family name"
            if (
                _style(word) == "title"
                and len(word) > 2
                and (word.casefold() in given or word.casefold() in family)
                and not is_common(word)
            ):
                if not sentence_start(text, start) and _spacy_sees_no_place(nlp_artifacts, start, end):
                    yield start, end, LONE_NAME_SCORE, "a known given or family name, capitalised mid-sentence"


def _capitalised(word: str) -> bool:
    return word[:1].isupper()


def _style(word: str) -> str:
    if word.isupper() and len(word) > 1:
        return "upper"
    if word.islower():
        return "lower"
    return "title" if word[:1].isupper() else "mixed"


def _adjacent(text: str, left: tuple[int, int, str], right: tuple[int, int, str]) -> bool:
    return text[left[1] : right[0]] in (" ", "\u00a0")


def _full_name(
    words: list[tuple[int, int, str]], i: int, text: str, given: frozenset[str], family: frozenset[str]
) -> int | None:
    """Index of the last word of a given-name ... family-name run starting at `i`, if there is one."""
    first = words[i][2]
    if first.casefold() not in given:
        return None
    style = _style(first)
    best = None
    j = i
    while j + 1 < len(words) and j - i < 3 and _adjacent(text, words[j], words[j + 1]):
        word = words[j + 1][2]
        folded = word.casefold()
        if folded in PARTICLES:
            j += 1
            continue
        if _style(word) != style and not (style == "title" and _style(word) == "mixed"):
            break
        if folded not in given and folded not in family:
            after_particle = j > i and words[j][2].casefold() in PARTICLES
            if style == "title" and (best is not None or after_particle) and rare_word(word):
                best = j + 1  # "Ana Ramírez Quispe", "Declan Ó Briain": a family name no list holds
            break
        j += 1
        if folded in family:
            best = j
    if best is None:
        return None
    run = [w for _, _, w in words[i : best + 1]]
    if style == "lower" and any(is_common(w) for w in run):
        return None
    return best


def _last_first(
    text: str, left: tuple[int, int, str], right: tuple[int, int, str], given: frozenset[str], family: frozenset[str]
) -> bool:
    return (
        text[left[1] : right[0]] == ", "
        and left[2].casefold() in family
        and right[2].casefold() in given
        and _style(left[2]) in ("title", "upper")
        and _style(right[2]) in ("title", "upper")
        and not is_common(left[2])
        and not is_common(right[2])
    )


def _unknown_last_first(
    text: str, left: tuple[int, int, str], right: tuple[int, int, str], given: frozenset[str]
) -> bool:
    """ "Gamrat, Antoni": a family name the lists lack, before a given name they know."""
    return (
        text[left[1] : right[0]] == ", "
        and right[2].casefold() in given
        and _style(left[2]) == _style(right[2]) in ("title", "upper")
        and len(left[2]) > 2
        and not is_common(left[2])
        and not is_common(right[2])
    )


def _caps_last_first(text: str, left: tuple[int, int, str], right: tuple[int, int, str], given: frozenset[str]) -> bool:
    """ "OKONKWO-REYES, Adaeze": the form convention of a family name in capitals, then the given
    name capitalised, neither a common word (not "NOTE, Please")."""
    return (
        text[left[1] : right[0]] == ", "
        and _style(left[2]) == "upper"
        and _style(right[2]) == "title"
        and len(left[2]) > 2
        and not is_common(left[2])
        and not is_common_in(left[2], "en")
        and (right[2].casefold() in given or rare_word(right[2]))
    )


def _given_then_unknown(
    text: str, left: tuple[int, int, str], right: tuple[int, int, str], given: frozenset[str]
) -> bool:
    """ "Ignacy Mosur", "ALEX STANIASZEK": a known given name, then a capitalised word that is no
    common word (family names are far more varied than any list)."""
    folded = left[2].casefold()
    return (
        _adjacent(text, left, right)
        and (
            folded in given or (folded in word_given_names() and rare_word(right[2]))
        )  # "Will Tuilagi", not "Will Deploy"
        and _style(left[2]) == _style(right[2]) in ("title", "upper")
        and len(right[2]) > 2
        and not is_common(right[2])
    )


def _unknown_then_family(
    text: str, left: tuple[int, int, str], right: tuple[int, int, str], family: frozenset[str]
) -> bool:
    """ "Bongani Khumalo", "Kenji Watanabe": a capitalised word English hardly uses, then a known family name."""
    return (
        _adjacent(text, left, right)
        and right[2].casefold() in family
        and _style(left[2]) == _style(right[2]) in ("title", "upper")
        and rare_word(left[2])
        and not is_common_in(right[2], "en")  # not "Scrum Master"
    )


def rare_word(word: str) -> bool:
    """A word English text hardly uses: no common word, so a capitalised one is likely a name."""
    return len(word) > 2 and not is_common(word) and not is_common_in(word, "en")


def _title_run_end(words: list[tuple[int, int, str]], i: int, text: str) -> int:
    """After a title, the name is this word and at most one more capitalised, uncommon word."""
    following = words[i + 1] if i + 1 < len(words) else None
    if following and _adjacent(text, words[i], following) and _capitalised(following[2]):
        return i + 1 if not is_common(following[2]) else i
    return i


def sentence_start(text: str, start: int) -> bool:
    before = text[max(0, start - 8) : start].rstrip(" \t\"'(")  # a window: the whole prefix would be quadratic
    return (not before and start <= 8) or (bool(before) and before[-1] in ".!?\n")


def _spacy_sees_no_place(nlp_artifacts: NlpArtifacts | None, start: int, end: int) -> bool:
    """spaCy has read the text and calls this word none of `PLACES`."""
    return nlp_artifacts is not None and nlp_artifacts.tokens is not None and not _place(nlp_artifacts, start, end)


PLACES = ("ORG", "GPE", "LOC", "FAC", "PRODUCT", "NORP")  # organisations, places, products, nationalities


def _place(nlp_artifacts: NlpArtifacts | None, start: int, end: int) -> bool:
    """spaCy calls a word of this span one of `PLACES` ("Paris Gare du Nord")."""
    if nlp_artifacts is None or nlp_artifacts.tokens is None:
        return False
    span = nlp_artifacts.tokens.char_span(start, end, alignment_mode="expand")
    return span is not None and any(t.ent_type_ in PLACES for t in span)
