"""Findings that are almost always false alarms in LLM traffic, dropped before any policy sees them.

Each filter is named and has a reason; a finding dropped here is not personal data in practice:
- `url-inside-email`: Presidio also reports the domain of an e-mail address as a URL.
- `reserved-domain`: example.com, *.test, *.invalid, ... are reserved for documentation (RFC 2606).
- `machine-sender`: a no-reply, bounce or notifications address (`noreply@...`, `MAIL_FROM=
  mailer-daemon@...`) is a system's, not a person's.
- `product-name`: a person whose word has a capital inside it as products write them ("GitHub",
  "PayPal", "LinkedIn"), not as names do ("McKenzie", "LaToya", "DeShawn").
- `non-public-ip`: loopback, unspecified, multicast and link-local addresses name no one, nor does a
  documentation address (RFC 5737) in a sentence about examples or docs. A private (RFC 1918) or
  documentation address elsewhere is read as a reader reads it: the address of someone's machine.
- `version-number`: "v1.2.3.4", "version 10.0.0.1", "Python 3.12.1.4" and "pkg==2.0.1.3" are
  versions, not addresses.
- `test-card`: a card number payment providers publish for testing (4242 4242 4242 4242) on a line
  that speaks of tests, a sandbox, examples or docs.
- `not-a-name`: spaCy calls a lone common word ("Convert", "Salary", "Mar") or an identifier
  (`order_id`, `SLACK_BOT_TOKEN`, "git log:") a person; names have no underscores, digits or line breaks.
- `not-a-phone`: fewer than seven digits (an order number), an amount like "6473.66", or a dotted
  quad (an IP address); `routing-number`: digits after "routing number", "ABA", "BSB" name a bank.
- `model-person-without-evidence`: a person the English model found that no word of supports: a
  lower-case word in it that is no particle ("la cuota", "pepe nero"), or, in English, only common
  English words that no name list holds ("Billing Admin", "Formula"); in a German, French, Spanish,
  Italian, Dutch, Portuguese or Polish text, no listed name that is not a function word of that
  language ("Die Lieferung") and not two or more words rare in that language and in English; in a
  text read as English, one unlisted word that is common in any of those languages ("Versicherung").
  A span whose words make an e-mail address of the text is supported ("Ned Leeds", ned.leeds@...).
- `street-name`: a name before "Street", "Road", "Avenue", ... ("Baker Street") names a street.
- `in-identifier`: a word joined to others by an underscore ("Jasmine_Index").
- `lone-common-word`: a lone capitalised word the name lists hold that is a common word of the
  text's language ("Dag", "Ville", "Pace") or a very common English one ("English", "Master").
- `model-slip`: one word the model calls a person in lower case ("mum") or as a short
  abbreviation ("DB"); `eponym`: a name inside a term ("Hodgkin lymphoma", "Broca's area").
- `public-figure`: a famous person, a character of fiction or a brand named after a person
  ("Einstein's relativity", "Sherlock Holmes", "Tommy Hilfiger"; `public_figures.py`), or a famous
  address ("221B Baker Street", "10 Downing Street") in a text
  that holds no other personal data (an e-mail, a phone number, an id: then a "Bill Gates" is a
  customer), unless a personal cue comes right before it ("my colleague Taylor Swift") or a call or
  message of theirs after it ("Bill Gates called"). So is a town or a country the model or the
  name lists call a person ("Porto", "Accra"; `places.py`); one that is also a given or family name
  ("Santiago") only after a word that leads to a place ("flights to Santiago") or among other places.
- `case-name`: parties of a cited case ("Marbury v. Madison", "Roe vs Wade") are public record.
- `placeholder`: the stock street addresses of forms and docs ("123 Main Street", "123 Fake St").
- `reference-number`: digits after `#` or an order, invoice, ticket or tracking label are that
  reference, not a phone number.
- `fallback-secret`: a generic secret or a password in prose where a recognizer of a known kind
  (an AWS key, a password assignment) reports the same value: one value, one finding.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace
from functools import cache

from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import SpacyRecognizer
from spacy.lang.en.stop_words import STOP_WORDS

from proxy.detection.language import LANGUAGES, language_of, stop_words
from proxy.detection.lexicon import is_common_in, zipf
from proxy.detection.names import LONE_NAME_SCORE, PARTICLES, RECOGNIZER, TITLE, TITLES, WORD, is_common, name_lists
from proxy.detection.person_cues import PersonCueRecognizer
from proxy.detection.places import PLACE_BEFORE, among_places, is_place
from proxy.detection.public_figures import is_public_figure
from proxy.detection.secrets import SECRET_ENTITIES
from proxy.exchange import Finding

#: the local part of an address no person reads: "noreply", "do-not-reply", "bounces+123", "notifications"
MACHINE_SENDER = re.compile(
    r"(?:[\w.+-]*=)?(?i:no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounces?|notifications?|alerts?)"
    r"(?:[.+_-][\w.+-]*)?@"
)
#: endings only nouns have, never names: German abstract nouns and the names of sciences
ABSTRACT_NOUN = re.compile(r"(?:ung|heit|keit|schaft|ität|ismus|ologie|ographie|pädie|iatrie|ologia|ología)$")
#: a French or Italian article or preposition elided before a word ("l'annonce", "dell'ufficio")
ELIDED = re.compile(r"(?:l|d|j|n|s|c|m|t|qu|dell|all|nell|sull|dall|un)['’](?P<word>[^\W\d_]+)$")
#: a word with a capital inside it as products write them; names that do so start with a particle
PRODUCT_WORD = re.compile(r"(?!(?:Mc|Mac|De|Di|Da|Du|La|Le|Van|Von|St|Fitz)[A-Z])[A-Z][a-z]+[A-Z][A-Za-z]*")
RESERVED_DOMAIN = re.compile(
    r"(?:^|[@./])(?:example\.(?:com|org|net)|[^@./\s]+\.(?:example|test|invalid|localhost))$", re.I
)
# RFC 5737 / RFC 3849: addresses reserved for examples in documentation
DOCUMENTATION_NETWORKS = [
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]
#: secret types that only say "some secret": dropped where a recognizer of a known kind reports the same value
FALLBACK_SECRETS = frozenset({"GENERIC_SECRET", "PASSWORD", "HTTP_CREDENTIALS"})
SPECIFIC_SECRETS = frozenset(SECRET_ENTITIES) - FALLBACK_SECRETS
SPACY = "SpacyRecognizer"
VERY_COMMON_ZIPF = 4.5  # "English" (5.2), "Master" (4.9); lone names this common are left to the model
DATE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./-]\d{1,2}[./-]\d{1,2}")
#: a medical term by its ending: "thyroiditis", "fibromatosis", "cardiomyopathy"
MEDICAL_TERM_AFTER = re.compile(r"(?:['’]s?)?[ \t]+[a-z]{3,}(?:itis|osis|oma|aemia|emia|pathy|ectomy|plasty|iasis)\b")
EPONYM_AFTER = re.compile(
    r"(?:['’]s?)?[ \t]+(?:area|aphasia|disease|syndrome|lymphoma|palsy|law|laws|theorem|principle|razor|paradox"
    r"|equation|constant|effect|rule|test|sign|reflex|method|algorithm|distribution|number|curve|correction"
    r"|respiration|breathing|scale|index|score|criteria|criterion|classification|maneuver|manoeuvre|procedure"
    r"|fracture|cells?|nodes?|duct|gland|canal|reaction|cycle|transform|series|function|inequality|lemma"
    r"|conjecture|hypothesis|process|filter|coefficient|ratio|equilibrium|machine|limit|space|matrix"
    r"|sampler|sampling|estimator|kernel|tree|graph|model|hierarchy|pyramid|sphere|triangle)\b",
    re.IGNORECASE,
)
#: the same terms in the languages that put the name after them: "maladie de Parkinson",
#: "tiroidite di Hashimoto", "síndrome de Down", "Morbus Crohn", "ziekte van Lyme", "Satz von Bayes"
EPONYM_BEFORE = re.compile(
    r"\b(?:maladie|syndrome|théorème|loi|principe|signe|lymphome|morbo|malattia|sindrome|tiroidite|teorema"
    r"|legge|principio|segno|linfoma|enfermedad|síndrome|ley|signo|morbus|krankheit|syndrom|satz|gesetz"
    r"|prinzip|zeichen|lymphom|ziekte|wet|stelling)"
    r"[ \t]+(?:de[ \t]+la|de|d['’]|di|del|della|von|van|of)?[ \t]*$",
    re.IGNORECASE,
)
#: a label's number after one word: "Ward 7B", "Bed 12", "Hosp No: ..." (a listed name that is a word)
CODE_AFTER = re.compile(r" (?:\d+[A-Za-z]?\b|(?:no|nr|n°)\.?(?:[ \t]|:|$))", re.IGNORECASE)
#: a term's letter after a word: "Hep B", "Vitamin D", "Plan B" (a name ends in a word or an initial's dot)
LETTER_LAST = re.compile(r"\S [A-Z]$")
AMOUNT = re.compile(r"\d+[.,]\d{2}")
#: an address with a prefix length: a network ("10.0.0.0/8"), nobody's address; a /32 or /128 is
#: one host, which may be someone's ("allow 81.2.69.160/32")
NETWORK = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}/(?:[12]?\d|3[01])|[0-9a-f:]+/(?:\d{1,2}|1[01]\d|12[0-7])", re.I)
#: a "person" whose last word is a street's kind is a street ("Abbey Road"); Lane, Way and Close are
#: left out, being family names too ("Lois Lane", "Rhodri Way")
STREET_LAST = re.compile(
    r"[ \t](?:street|st|road|rd|avenue|ave|boulevard|blvd|strasse|straße|allee|highway|hwy|motorway|freeway"
    r"|expressway|parkway|bridge|tunnel|station|airport)\.?$",
    re.I,
)
EMAIL_LOCAL = re.compile(r"[\w.+-]+(?=@[\w-]+\.)")
DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
ROUTING_BEFORE = re.compile(
    r"\b(?:(?:routing|aba|rtn|bsb)(?:[ \t]*(?:number|no\.?|nr\.?|code|#))?|sort[ \t-]*code)[ \t]*[:#]?[ \t]*$", re.I
)
VERSION_BEFORE = re.compile(
    r"(?:\b(?:v|version\s*|release\s*|build\s*)|==|>=|<=|~=|@|\b(?:python|node|nodejs|java|jdk|go|golang|ruby|php|perl"
    r"|rust|gcc|clang|openssl|nginx|apache|postgres|postgresql|mysql|mariadb|redis|kafka|spark|django|flask|rails"
    r"|kubernetes|k8s|kubectl|docker|helm|terraform|ansible|ubuntu|debian|centos|rhel|alpine|windows|macos|ios"
    r"|android|chrome|firefox|safari|edge|npm|pip|numpy|pandas|pytorch|torch|tensorflow|react|angular|vue|spring"
    r"|gradle|maven|jenkins|elasticsearch|mongodb|cuda|llvm|kernel|linux|bios|firmware)\s+)$",
    re.I,
)
#: software named like a person or a word a model reads as one ("Django", "Kafka", "Hugo", "Pandas")
TOOLS = frozenset(
    """django kafka hugo jenkins pandas numpy flask celery sphinx ansible grafana kibana jupyter hadoop cassandra
    jira kubernetes helm terraform laravel symfony kotlin scala clojure haskell erlang elixir fortran cobol bazel
    maven gradle jekyll gatsby rust ruby julia ada perl spring hibernate tomcat jetty jasmine jest mocha karma
    cypress selenium puppeteer storybook svelte ember angular react deno bun polars airflow dagster prefect
    streamlit gradio keras pytorch sklearn scipy matplotlib seaborn plotly bokeh dask ray nomad consul vault
    envoy istio zuul kong traefik caddy apache nginx redis mongo mongodb postgres mysql sqlite oracle bean""".split()
)
#: words of software around a tool's name: "deploy the Hugo site", "a Kafka consumer", "Django's ORM"
TECH_CUE = re.compile(
    r"\b(?:build|deploy|pipeline|language|framework|librar(?:y|ies)|package|install|plugin|server|theme|site"
    r"|version|code|compile|runtime|docker|repo|api|sdk|cli|jobs?|cluster|dataframe|query|config|yaml|json"
    r"|script|tests?|apps?|template|module|crate|gem|npm|pip|orm|consumer|producer|topic|broker|migration"
    r"|endpoint|release|upgrade|stack|sprint|ticket|backend|frontend|container|image|dependenc(?:y|ies)"
    r"|programming|developer|devops|python|java|javascript|typescript|bean|beans|maven|gradle)\w*",
    re.I,
)
#: words that make a published test card number a test card rather than someone's
TEST_CUE = re.compile(
    r"\b(?:test(?:ing|s)?|sandbox|staging|dummy|fake|examples?|docs?|documentation|sample|stripe|braintree|adyen"
    r"|paypal|luhn|checkout form|qa)\b",
    re.I,
)
#: card numbers published for testing by payment providers (Stripe, Braintree, Adyen, PayPal docs)
TEST_CARDS = frozenset(
    "4111111111111111 4242424242424242 4012888888881881 4000056655665556 4000000000000002 4000000000009995 "
    "5555555555554444 5105105105105100 5200828282828210 2223003122003222 378282246310005 371449635398431 "
    "6011111111111117 6011000990139424 3056930009020004 36227206271667 3566002020360505 6200000000000005 "
    "4917610000000000 4988438843884305 5454545454545454 4444333322221111 4000000000000077".split()
)
#: words that make a documentation address an example rather than someone's machine
EXAMPLE_CUE = re.compile(r"\b(?:examples?|docs?|documentation|rfc|placeholder|sample|tutorial|e\.g\.)", re.I)


#: a name before one of these is a street's ("Baker Street", "Abbey Road")
STREET_AFTER = re.compile(
    r"[ \t]+(?:street|st\.|road|rd\.|avenue|ave\.|lane|drive|close|crescent|boulevard|blvd|square|terrace"
    r"|highway|hwy|motorway|freeway|expressway|parkway|bridge|tunnel|station|airport)\b",
    re.I,
)
#: a famous name is a person's in a text that also holds personal data of these kinds
PERSONAL_CONTEXT = frozenset(
    "EMAIL_ADDRESS PHONE_NUMBER CREDIT_CARD IBAN_CODE US_SSN NATIONAL_ID DATE_OF_BIRTH STREET_ADDRESS POSTCODE "
    "MEDICAL_RECORD_NUMBER INSURANCE_ID CASE_NUMBER ACCOUNT_NUMBER TAX_ID PASSPORT_NUMBER DRIVER_LICENSE "
    "EMPLOYEE_ID PERSONAL_URL".split()
)
PERSONAL_AFTER = re.compile(r"[ \t]+(?:called|emailed|phoned|rang|texted|replied|complained|confirmed|booked)\b", re.I)
PERSONAL_CUE = re.compile(
    r"\b(?:my|our|your|his|her|their|colleague|co-?worker|customer|client|patient|employee|tenant|neighbou?r|friend"
    r"|boss|manager|mr|mrs|ms|miss|named|called)\.?[ \t]+(?:[^\W\d_]+[ \t]+)?$",
    re.I,
)
CASE_LAW_BEFORE = re.compile(r"\b(?:v|vs)\.?[ \t]+$", re.I)
CASE_LAW_AFTER = re.compile(r"[ \t]+(?:v|vs)\.?[ \t]+[A-Z]")
PLACEHOLDER_STREET = re.compile(r"(?:123|1234)\s+(?:main|fake|any)\s+(?:st|street|ave|avenue|road|rd)\.?", re.I)
#: the famous addresses of fiction and state: Sherlock Holmes's, the Simpsons', Harry Potter's, ...
FAMOUS_STREET = re.compile(
    r"221b\s+baker\s+street|742\s+evergreen\s+terrace|4\s+privet\s+drive|12\s+grimmauld\s+place"
    r"|1600\s+pennsylvania\s+avenue(?:\s+nw)?|10\s+downing\s+street|124\s+conch\s+street|31\s+spooner\s+street",
    re.I,
)
REFERENCE_BEFORE = re.compile(
    r"(?:#|\b(?:order|invoice|ticket|tracking|ref(?:erence)?|po|sku|item|shipment|bestell|rechnung|commande"
    r"|ordine|pedido|bestelling|sendungsnummer|sendung|tracciamento|spedizione|seguimiento|envío|suivi|colis"
    r"|factura|fattura|factuur|ids?[ \t]+like)"
    r"(?:[ \t]*(?:no\.?|nr\.?|n\.?|number|id|n°|nº))?[ \t]*[:#]?(?:[ \t]+[A-Z]{2,5})?)[ \t]*$",
    re.I,
)


def without_noise(findings: list[Finding], text: str) -> list[Finding]:
    emails = [f for f in findings if f.entity_type == "EMAIL_ADDRESS"]
    specific = [f for f in findings if f.entity_type in SPECIFIC_SECRETS]
    kept = [f for f in findings if not _noise(f, text, emails) and not _fallback_inside(f, specific)]
    famous = [f for f in kept if _public_figure(f, text) or _famous_street(f, text) or _a_place(f, text)]
    if famous and not any(f.entity_type in PERSONAL_CONTEXT and f.score >= 0.5 and f not in famous for f in kept):
        kept = [f for f in kept if f not in famous]
    if any(f.entity_type == "PERSON" and f.recognizer in (SPACY, RECOGNIZER) for f in kept):
        language = language_of(text)
        kept = [p for f in kept if (p := _supported(f, text, language)) is not None]
    return kept


def _supported(finding: Finding, text: str, language: str) -> Finding | None:
    """A person from the model narrowed to the words its words support, or None when none do; a
    lone listed name that is a common word dropped. Other findings as they are."""
    if finding.entity_type != "PERSON" or TITLE.search(text[max(0, finding.start - 12) : finding.start]):
        return finding  # "Frau Weißmüller", "Dr. Max": a title makes the next word a name
    if finding.recognizer == RECOGNIZER:
        value = text[finding.start : finding.end]
        lone = finding.score <= LONE_NAME_SCORE and _lone_common_word(value, language)
        return None if lone or _lower_case_prose(value, language) else finding
    if finding.recognizer != SPACY:
        return finding
    # already narrowed by `SupportedModelRecognizer` in the analyzer; again here for findings
    # that come from elsewhere (the same words give the same span)
    span = narrowed(text, finding.start, finding.end, language)
    return None if span is None else replace(finding, start=span[0], end=span[1])


def narrowed(text: str, start: int, end: int, language: str) -> tuple[int, int] | None:
    """A model person's span cut to the words that support it, or None when none do."""
    if TITLE.search(text[max(0, start - 12) : start]):
        return start, end  # "Frau Weißmüller", "Dr. Max": a title makes the next word a name
    words = _without_function_words(list(WORD.finditer(text, start, end)), language)
    if len(words) > 1 and words[0][0].casefold() in TITLES:
        return start, end  # the model's span starts with the title
    if not words:
        return None
    if _model_person_without_evidence([w[0] for w in words], language):
        words = _in_an_address(words, text)
        if not words:
            return None
    return words[0].start(), words[-1].end()


class SupportedModelRecognizer(SpacyRecognizer):
    """Presidio's spaCy recognizer, each PERSON narrowed (`narrowed`) before Presidio resolves
    overlaps. Presidio keeps the higher-scored of two nested findings of one type: the model's
    "mi abuelo Ramiro" hid the cue's "Ramiro" inside it, and was then dropped as lower-case
    prose, so the name reached the vendor. Narrowed first, the model's span is the name or nothing."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = super().analyze(text, entities, nlp_artifacts)
        if not any(result.entity_type == "PERSON" for result in results):
            return results
        language = language_of(text)
        kept = []
        for result in results:
            if result.entity_type != "PERSON":
                kept.append(result)
                continue
            if _not_a_name(text[result.start : result.end]):
                continue  # "df.groupby(...)": code around the words says what they are, before narrowing
            if _model_slip(text[result.start : result.end]):
                continue  # dropped anyway; dropped here, it no longer hides a cue's "hi ngozi" beneath it
            span = narrowed(text, result.start, result.end, language)
            if span is None:
                continue
            result.start, result.end = span
            kept.append(result)
        return kept


def _in_an_address(words: list[re.Match[str]], text: str) -> list[re.Match[str]]:
    """The span's last words that an e-mail address of the text is made of ("Copy Ned Leeds ...
    ned.leeds@..." gives "Ned Leeds"): a name someone's address is made of is a name, common
    words or not. Two words at least, or the span's only one."""
    for local in (m.casefold() for m in EMAIL_LOCAL.findall(text)):
        inside = [w for w in words if len(w[0]) > 1 and w[0].casefold() in local]
        if inside and inside == words[len(words) - len(inside) :] and (len(inside) >= 2 or len(words) == 1):
            return inside
    return []


@cache
def _function_words(language: str) -> frozenset[str]:
    return stop_words()[language] | STOP_WORDS


def _without_function_words(words: list[re.Match[str]], language: str) -> list[re.Match[str]]:
    """The words of a span without the lower-case function words at its edges ("ik ben Joost")."""
    function_words = _function_words(language)
    while words and words[0][0].islower() and words[0][0] in function_words:
        words = words[1:]
    while words and words[-1][0].islower() and words[-1][0] in function_words:
        words = words[:-1]
    return words


def _model_person_without_evidence(words: list[str], language: str) -> bool:
    """See `model-person-without-evidence` above."""
    core = [w for w in words if w.casefold() not in PARTICLES]
    if not core or (len(core) == 1 and core[0].casefold().rstrip(".") in TITLES):
        return True
    given, family = name_lists()
    if any(w.islower() and is_common_in(w, language) and w not in given and w not in family for w in core):
        return True  # "la cuota", "su hijo", "devo dire": the model reading lower-case prose
    if core[0].islower() and is_common_in(core[0], language) and core[0] not in given:
        return True  # "mee van max": a common word first, listed only as somebody's family name
    if any(w.islower() and (e := ELIDED.match(w)) and is_common_in(e["word"], language, "en") for w in core):
        return True  # "l'annonce bien", "dell'ufficio": an article elided before a common word
    if len(core) == 1 and core[0] not in given and core[0] not in family and ABSTRACT_NOUN.search(core[0]):
        return True  # "Orthopädie", "Abteilung", "Kardiologie": a noun by its ending, whatever the language
    listed = [w for w in core if w.casefold() in given or w.casefold() in family]
    if language == "en":
        if not listed and len(core) == 1 and is_common_in(core[0], *LANGUAGES):
            return True  # "Versicherung", "Rozpoznanie": a word of a short message in another language
        return not listed and all(is_common_in(w, "en") for w in core)
    if [w for w in listed if w.casefold() not in stop_words()[language]]:
        return False
    # no listed name: two or more capitalised words that neither language uses ("Jarosław Dąbrowski"),
    # not one ("Nierenkomplikationen": German compounds are rare words too)
    return len(core) < 2 or any(not w[:1].isupper() or is_common_in(w, language, "en") for w in core)


def _lower_case_prose(value: str, language: str) -> bool:
    """Lower-case words of another language, one of them common in it ("mio amico romano")."""
    return language != "en" and value.islower() and any(is_common_in(w, language) for w in WORD.findall(value))


def _lone_common_word(word: str, language: str) -> bool:
    """See `lone-common-word` above."""
    return zipf(word, "en") >= VERY_COMMON_ZIPF or (language != "en" and is_common_in(word, language))


def _eponym(finding: Finding, text: str) -> bool:
    """A name that is part of a term: Hodgkin lymphoma, Broca's area, Bayes' theorem, maladie de
    Parkinson, and a family name before a medical term's ending (Hashimoto's thyroiditis; "Maria's
    arthritis" is Maria's)."""
    before = EPONYM_BEFORE.search(text[max(finding.start - 24, 0) : finding.start])
    if before or EPONYM_AFTER.match(text, finding.end):
        return True
    if not MEDICAL_TERM_AFTER.match(text, finding.end):
        return False
    return not any(word.casefold() in name_lists()[0] for word in text[finding.start : finding.end].split())


def _famous_street(finding: Finding, text: str) -> bool:
    """221B Baker Street, 10 Downing Street: an address everyone knows, whose it is."""
    return finding.entity_type == "STREET_ADDRESS" and bool(FAMOUS_STREET.match(text[finding.start : finding.end]))


def _in_identifier(finding: Finding, text: str) -> bool:
    """A word joined to an identifier by an underscore ("Jasmine_Index", "get_Kowalski")."""
    return text[finding.end : finding.end + 1] == "_" or text[max(finding.start - 1, 0) : finding.start] == "_"


def _someone_in_the_conversation(finding: Finding, text: str) -> bool:
    """A personal cue right before the name ("my colleague ..."), or a call or message of theirs
    after it ("Peter Parker called"): someone the user deals with, whatever their name."""
    return bool(PERSONAL_CUE.search(text[max(finding.start - 30, 0) : finding.start])) or bool(
        PERSONAL_AFTER.match(text, finding.end)
    )


def _a_place(finding: Finding, text: str) -> bool:
    """A person found by the model or the name lists that is the name of a town or a country
    (`places.py`), with no personal cue before it; one that is also a given or family name
    ("Santiago", "Florence") only after a word that leads to a place, or among other places."""
    if finding.entity_type != "PERSON" or finding.recognizer not in (SPACY, RECOGNIZER):
        return False
    value = text[finding.start : finding.end]
    if not is_place(value) or _someone_in_the_conversation(finding, text):
        return False
    if not any(word.casefold() in names for word in value.split() for names in name_lists()):
        return True
    return bool(PLACE_BEFORE.search(text[max(finding.start - 24, 0) : finding.start])) or among_places(text, value)


def _public_figure(finding: Finding, text: str) -> bool:
    """A famous person, a character of fiction or a brand (`public_figures.py`), with no personal cue
    right before it ("my colleague Mary Berry" stays) and no call or message of theirs after it."""
    if finding.entity_type != "PERSON" or _someone_in_the_conversation(finding, text):
        return False
    words = text[finding.start : finding.end].split()
    family = name_lists()[1]
    while words and not is_public_figure(" ".join(words), text, family):
        if len(words) == 1 or not is_common_in(words[0], "en"):
            return False
        words = words[1:]  # "Explain Einstein's": the model took the verb into the name
    return bool(words)


def _case_party(finding: Finding, text: str) -> bool:
    """A party of a cited case: the name right before or after "v." / "vs"."""
    before = CASE_LAW_BEFORE.search(text[max(finding.start - 6, 0) : finding.start])
    return bool(before or CASE_LAW_AFTER.match(text, finding.end))


def _fallback_inside(finding: Finding, specific: list[Finding]) -> bool:
    """A generic secret or a password told in prose that a specific recognizer also found."""
    return finding.entity_type in FALLBACK_SECRETS and any(
        s.start < finding.end and finding.start < s.end for s in specific
    )


def _noise(finding: Finding, text: str, emails: list[Finding]) -> bool:
    value = text[finding.start : finding.end]
    if finding.entity_type == "URL":
        inside_email = any(e.start <= finding.start and finding.end <= e.end for e in emails)
        return inside_email or bool(RESERVED_DOMAIN.search(_host(value)))
    if finding.entity_type == "EMAIL_ADDRESS":
        return bool(RESERVED_DOMAIN.search(value) or MACHINE_SENDER.match(value))
    if finding.entity_type == "PERSON":
        return (
            _not_a_name(value, cued=finding.recognizer == PersonCueRecognizer.NAME)
            or _eponym(finding, text)
            or _case_party(finding, text)
            or (finding.recognizer == SPACY and _model_slip(value))
            or _in_identifier(finding, text)
            or bool(STREET_AFTER.match(text, finding.end) or STREET_LAST.search(value))
            or _a_tool(finding, value, text)
            or (finding.recognizer == RECOGNIZER and finding.score <= LONE_NAME_SCORE and _labels_a_code(finding, text))
            or (finding.recognizer == SPACY and bool(LETTER_LAST.search(value)))
            or any(PRODUCT_WORD.fullmatch(word) for word in value.split())
        )
    if finding.entity_type == "STREET_ADDRESS":
        return bool(PLACEHOLDER_STREET.match(value.strip()))
    if finding.entity_type in ("PHONE_NUMBER", "US_BANK_NUMBER") and ROUTING_BEFORE.search(
        text[max(finding.start - 24, 0) : finding.start]
    ):
        return True  # a bank's routing number is the bank's, public
    if finding.entity_type == "PHONE_NUMBER":
        return (
            sum(c.isdigit() for c in value) < 7
            or bool(AMOUNT.fullmatch(value) or DATE.fullmatch(value) or DOTTED_QUAD.fullmatch(value))
            or bool(NETWORK.fullmatch(value))
            or bool(REFERENCE_BEFORE.search(text[max(finding.start - 24, 0) : finding.start]))
        )
    if finding.entity_type == "CREDIT_CARD":
        published = "".join(c for c in value if c.isdigit()) in TEST_CARDS
        return published and bool(TEST_CUE.search(_sentence(text, finding)))
    if finding.entity_type == "US_DRIVER_LICENSE":
        return len(value) < 6
    if finding.entity_type == "IP_ADDRESS":
        if NETWORK.fullmatch(value):
            return True
        return _nobodys_address(value, _sentence(text, finding)) or bool(
            VERSION_BEFORE.search(text[max(finding.start - 12, 0) : finding.start])
        )
    return False


def _a_tool(finding: Finding, value: str, text: str) -> bool:
    """Software named like a person in a sentence about software ("deploy the Hugo site", "Django's
    ORM"), unless a cue named them ("ask Hugo", "Hugo from billing")."""
    name = re.sub(r"['’]s$", "", value.strip()).casefold()
    return (
        name in TOOLS
        and finding.recognizer != PersonCueRecognizer.NAME
        and bool(TECH_CUE.search(_sentence(text, finding)))
    )


def _labels_a_code(finding: Finding, text: str) -> bool:
    """One listed word before a number or "No": a label ("Ward 7B", "Hosp No"), not a person."""
    return " " not in text[finding.start : finding.end] and bool(CODE_AFTER.match(text, finding.end))


def _not_a_name(value: str, cued: bool = False) -> bool:
    """Digits or code characters; or one common word, unless a cue named it ("Hope from accounts":
    the cue recognizer weighs common words itself). A cued value with digits is a login name
    ("username anwachukwu2"): the cues' names are letters only."""
    if any(c in "_\n:/@=" for c in value) or (not cued and any(c.isdigit() for c in value)):
        return True
    words = value.split()
    return len(words) == 1 and not cued and is_common(words[0].strip(".,;'\""))


def _model_slip(value: str) -> bool:
    """One word the model calls a person that a name never is: lower case ("mum", "lorem") or an
    abbreviation in capitals ("DB", "ID")."""
    words = value.split()
    return len(words) == 1 and (value.islower() or (value.isupper() and len(value) <= 4))


def _host(url: str) -> str:
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url, flags=re.I)
    return re.split(r"[/:?#]", host, maxsplit=1)[0]


def _nobodys_address(value: str, sentence: str) -> bool:
    """Loopback, unspecified, multicast and link-local addresses; a documentation one among examples."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    if address.is_loopback or address.is_unspecified or address.is_multicast or address.is_link_local:
        return True
    documentation = any(address in network for network in DOCUMENTATION_NETWORKS)
    return documentation and bool(EXAMPLE_CUE.search(sentence))


def _sentence(text: str, finding: Finding) -> str:
    """The line around a finding, where an "example" or "docs" cue would be."""
    start = text.rfind("\n", 0, finding.start) + 1
    end = text.find("\n", finding.end)
    return text[start : end if end >= 0 else len(text)]
