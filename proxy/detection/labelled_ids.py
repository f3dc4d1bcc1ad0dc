"""Identifiers that only their label makes personal: "MRN 00482913", "Versichertennummer A123456780",
"numéro de dossier 2024/118", "SSN 536228841".

A medical record number, a member id or a claim number has no shape of its own: any run of digits
and capitals could be one. What gives it away is the word before it, in whatever language the
prompt is written. So one pass finds every label of a multilingual lexicon (EN, DE, FR, ES, NL,
IT) and, right after each, an identifier-shaped value (digits, optionally with capitals and
`-`, `/`, `.` or single spaces between digit groups, a few filler words such as "is" or "of the
patient" allowed in between). A label may be broken over two lines, and its value may start on the
next line when the label's line ends in a few words ("... his CURP\nGOMA..."): prose wraps anywhere.
The label decides the entity type; where a standard check digit exists (python-stdnum), a value
that passes it scores higher, and one that fails it is still reported: people mistype their own
numbers, and the value is theirs all the same.

Values that are plainly something else are not reported: dates, years, amounts, too few digits.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import groupby
from operator import itemgetter

import regex
from stdnum import iban
from stdnum.ar import cbu, cuit
from stdnum.ch import ssn as ch_ssn
from stdnum.eu import vat
from stdnum.mx import curp, rfc
from stdnum.us import ein, ssn

from proxy.detection.found import Found, SpanRecognizer

SCORE = 0.75  # a label and an identifier shape: strong evidence
CHECKED_SCORE = 0.9  # ... whose check digits are right
WEAK_SCORE = 0.55  # a label that also names things other than people ("reference", "ticket")

# entity type -> labels (regular-expression fragments, matched case-insensitively on word bounds)
LABELS: dict[str, tuple[str, ...]] = {
    "MEDICAL_RECORD_NUMBER": (
        r"utente",
        r"カルテ番号",
        r"診察券番号",
        r"患者番号",
        r"mrn",
        r"medical[ -]record(?:s)?",
        r"patient(?:[ -]?(?:id|number|no|nr|identifier|ref))",
        r"chart(?:[ -]?(?:number|no|#|id))",
        r"hospital[ -]number",
        r"health[ -]record[ -]number",
        r"ehr[ -]?id",
        r"patienten(?:nummer|-?id)",
        r"patientennr",
        r"krankenakte",
        r"dossier m[ée]dical",
        r"ipp",
        r"num[ée]ro (?:de )?patient",
        r"historia cl[íi]nica",
        r"nhc",
        r"n[úu]mero de paciente",
        r"pati[ëe]nt(?:nummer|nr|-id)",
        r"cartella clinica",
        r"codice paziente",
        r"numero paziente",
        r"nosologico",
        r"hosp(?:ital)?\.?[ -]?(?:number|no|nr|#|id)",
        r"uhid",
        r"n[úu]mero de historia",
        r"nhi(?:[ -]number)?",
        r"ziekenhuisnummer",
        r"(?:numer|nr\.?) pacjenta",
        r"(?:numer|nr\.?) historii choroby",
        r"n[úu]mero (?:de|do) utente",
        r"processo cl[íi]nico",
        r"(?:n[úu]mero (?:de|do) )?prontu[áa]rio",
    ),
    "INSURANCE_ID": (
        r"vers\.?-?nr\.?",
        r"versicherung",
        r"afiliaci[óo]n",
        r"member(?:ship)?",
        r"member(?:ship)?[ -]?(?:id|number|no)",
        r"subscriber[ -]?(?:id|number)",
        r"insurance[ -]?(?:id|number|no)",
        r"insured[ -]id",
        r"policy[ -]?(?:number|no|#|id)",
        r"health[ -]?plan[ -]?(?:id|number)",
        r"medicare(?:[ -]number)?",
        r"medicaid(?:[ -](?:id|number))?",
        r"group[ -]number",
        r"versicherten(?:nummer|-?nr\.?)",
        r"versicherungs(?:nummer|schein(?:nummer)?)",
        r"policen?nummer",
        r"mitgliedsnummer",
        r"krankenversicherungsnummer",
        r"num[ée]ro d['’]adh[ée]rent",
        r"num[ée]ro de police",
        r"carte vitale",
        r"mutuelle",
        r"n[úu]mero de p[óo]liza",
        r"p[óo]liza",
        r"n[úu]mero de afiliad[oa]",
        r"tarjeta sanitaria(?: individual)?",
        r"cip(?:[ -]?(?:auton[óo]mico|sns))?",
        r"c[óo]digo (?:de )?identificaci[óo]n personal",
        r"polisnummer",
        r"verzekerings?nummer",
        r"lidnummer",
        r"numero di polizza",
        r"polizza",
        r"(?:codice (?:della )?)?tessera sanitaria",
        r"(?:elektronische )?(?:gesundheitskarte|versichertenkarte)",
        r"ehic",
        r"insurance",
        r"insurer",
        r"health[ -]insurance[ -]?(?:id|number|no|card)",
        r"num[ée]ro d['’]assur[ée]",
        r"(?:numer|nr\.?) polisy",
        r"polisa",
        r"(?:numer|nr\.?) ubezpieczenia",
        r"ap[óo]lice",
        r"n[úu]mero (?:da|de) ap[óo]lice",
        r"n[úu]mero de benefici[áa]rio",
        r"cart[ãa]o de sa[úu]de",
        r"versicherungs-?nr\.?",
    ),
    "CASE_NUMBER": (
        r"beschikkingsnummer",
        r"betalingskenmerk",
        r"verbale(?: n\.?)?",
        r"case",
        r"ticket",
        r"dossier",
        r"procedimiento",
        r"proc[ée]dure",
        r"pnr",
        r"booking[ -](?:ref(?:erence)?|code|number)",
        r"scheme[ -]ref(?:erence)?",
        r"case[ -]?(?:number|no|#|id|ref)",
        r"claim(?:[ -]?(?:number|no|#|id|ref))?",
        r"docket(?:[ -]?(?:number|no))?",
        r"file[ -](?:number|no)",
        r"matter[ -](?:number|no)",
        r"incident[ -](?:number|no|id)",
        r"aktenzeichen",
        r"az\.",
        r"gesch[äa]ftszeichen",
        r"schadens?nummer",
        r"vorgangsnummer",
        r"fallnummer",
        r"num[ée]ro de (?:dossier|sinistre|r[ée]clamation)",
        r"n[úu]mero de (?:expediente|siniestro|caso)",
        r"expediente",
        r"zaaknummer",
        r"dossiernummer",
        r"schadenummer",
        r"numero di (?:pratica|sinistro)",
        r"numero pratica",
        r"ruolo generale",
        r"r\.g\.",
        r"receipt[ -]?(?:number|no|nr|#)",
        r"complaint[ -]?(?:number|no|ref(?:erence)?)",
        r"ticket[ -]?(?:number|no|#|id)",
        r"(?:mandate|mandat)[ -]?ref(?:erence)?",
        r"mandatsreferenz",
        r"ticketnummer",
        r"schadenfall",
        r"r[ée]f[ée]rence (?:unique )?du mandat",
        r"rum",
        r"sinistre",
        r"num[ée]ro d['’](?:incident|affaire)",
        r"incidencia",
        r"n[úu]mero de incidencia",
        r"siniestro",
        r"referencia (?:[úu]nica )?del mandato",
        r"sinistro",
        r"pratica",
        r"riferimento (?:del )?mandato",
        r"kenmerk",
        r"machtigingskenmerk",
        r"rolnummer",
        r"schadenummer",
        r"szkod[ay]",
        r"(?:numer|nr\.?) szkody",
        r"sygn(?:atura|\.) akt",
        r"(?:numer|nr\.?) sprawy",
        r"(?:numer|nr\.?) zg[łl]oszenia",
        r"n[úu]mero do (?:processo|sinistro)",
        r"protocolo",
        r"refer[êe]ncia do mandato",
        r"rg",
        r"(?:num[ée]ro|n[°º]) (?:de )?r[ôo]le",
        r"(?:numero di )?protocollo",
        r"denuncia",
        r"(?:police|crime)[ -](?:report|reference)(?:[ -]?(?:number|no|#))?",
        r"(?:num[ée]ro de )?(?:d[ée]p[ôo]t de )?plainte",
        r"strafanzeige",
    ),
    "ACCOUNT_NUMBER": (
        r"contract(?:[ -]?(?:number|no))?",
        r"contrat",
        r"contrato",
        r"vertrag(?:snummer)?",
        r"account(?:[ -]?(?:number|no|#|ref|id))?",
        r"acct\.?(?:[ -]?(?:number|no|#))?",
        r"a/c",
        r"sort[ -]code",
        r"routing[ -]number",
        r"bsb",
        r"customer[ -]?(?:number|no|id|ref)",
        r"client[ -]?(?:number|no|id)",
        r"kontonummer",
        r"konto(?:-?nr\.?)?",
        r"kundennummer",
        r"kunden-?nr\.?",
        r"bankleitzahl",
        r"blz",
        r"num[ée]ro de compte",
        r"num[ée]ro (?:de )?client",
        r"n[úu]mero de cuenta",
        r"n[úu]mero de cliente",
        r"rekeningnummer",
        r"klantnummer",
        r"numero di conto",
        r"vertragskonto(?:nummer)?",
        r"cbu",
        r"cvu",
        r"clabe(?: interbancaria)?",
        r"conto corrente",
        r"codice cliente",
        r"klantnr\.?",
        r"loyalty[ -]?(?:id|number|no|card)",
        r"(?:numer|nr\.?) (?:klienta|konta|rachunku)",
        r"n[úu]mero (?:de|do) cliente",
        r"n[úu]mero da conta",
    ),
    "TAX_ID": (
        r"rfc",
        r"tax[ -]?(?:id|number|no|code|identification number|file number|reference|ref)",
        r"tin",
        r"ein",
        r"itin",
        r"vat(?:[ -]?(?:id|number|no|reg(?:istration)?(?: number)?))?",
        r"utr",
        r"abn",
        r"gst(?:in)?",
        r"steuer(?:nummer|-?id|identifikationsnummer|-?nr\.?)",
        r"ust-?id(?:nr\.?)?",
        r"umsatzsteuer-?id",
        r"num[ée]ro fiscal",
        r"num[ée]ro de tva",
        r"tva intracommunautaire",
        r"siren",
        r"siret",
        r"nif",
        r"cif",
        r"n[úu]mero de identificaci[óo]n fiscal",
        r"btw(?:-?nummer)?",
        r"fiscaal nummer",
        r"rsin",
        r"partita iva",
        r"p\.\s?iva",
        r"codice fiscale",
        r"nip",
        r"regon",
        r"(?:n[úu]mero de )?contribuinte",
        r"cnpj",
        r"cuit",
        r"cuil",
        r"rut",
    ),
    "DRIVER_LICENSE": (
        r"licen[cs]e",
        r"driver['’]?s?[ -]licen[cs]e(?:[ -]?(?:number|no|#))?",
        r"driving[ -]licen[cs]e(?:[ -]?(?:number|no))?",
        r"dl(?:[ -]?(?:number|no|#))",
        r"licen[cs]e[ -]?(?:number|no|#)",
        r"f[üu]hrerschein(?:nummer)?",
        r"permis de conduire",
        r"carn[ée]t? de conducir",
        r"permiso de conducir",
        r"licencia de (?:conducir|manejo)",
        r"f[üu]hrerschein-?nr\.?",
        r"rijbewijs(?:nummer)?",
        r"patente(?: di guida)?",
        r"prawo jazdy",
        r"carta de condu[çc][ãa]o",
        r"carteira de motorista",
        r"cnh",
    ),
    "NATIONAL_ID": (
        r"curp",
        r"رقم الهوية",
        r"national[ -]id(?:entity)?(?:[ -]?(?:card|number|no))?",
        r"id[ -]card(?:[ -]?(?:number|no))?",
        r"identity[ -]card(?:[ -]?(?:number|no))?",
        r"identity[ -]number",
        r"personal[ -]id(?:[ -]number)?",
        r"national insurance(?:[ -]number)?",
        r"ni number",
        r"pps(?:n| number)?",
        r"sin",
        r"personalausweis(?:nummer)?",
        r"ausweis(?:nummer|-?nr\.?)?",
        r"sozialversicherungsnummer",
        r"rentenversicherungsnummer",
        r"carte d['’]identit[ée]",
        r"cni",
        r"num[ée]ro de s[ée]curit[ée] sociale",
        r"dni",
        r"nie",
        r"documento de identidad",
        r"c[ée]dula",
        r"n[úu]mero de la seguridad social",
        r"nuss",
        r"bsn",
        r"burgerservicenummer",
        r"identiteitskaart",
        r"carta d['’]identit[àa]",
        r"aadhaar",
        r"a-?number",
        r"alien[ -](?:registration[ -])?number",
        r"uscis[ -](?:number|no|#)",
        r"pesel",
        r"dow[óo]d osobist(?:y|ego)",
        r"(?:numer|nr\.?) dowodu",
        r"cart[ãa]o de cidad[ãa]o",
        r"bilhete de identidade",
        r"cpf",
        r"nhs(?:[ -](?:number|no|nr|#))?",
        r"(?:n[°º]|no) de s[ée]curit[ée] sociale",
        r"s[ée]curit[ée] sociale",
        r"nir",
        r"ahv(?:-?(?:nummer|nr\.?))?",
        r"(?:num[ée]ro )?avs",
        r"brp",
        r"(?:biometric )?residence[ -]permit(?:[ -]?(?:card|number|no))?",
        r"aufenthalts(?:titel|erlaubnis)(?:nummer)?",
        r"titre de s[ée]jour",
        r"permesso di soggiorno",
        r"verblijfs(?:vergunning|document)(?:nummer)?",
    ),
    "IBAN_CODE": (r"iban",),
    "US_SSN": (r"ssn", r"social[ -]security(?:[ -]?(?:number|no|#))?", r"ss#"),
    "PASSPORT_NUMBER": (
        r"جواز السفر",
        r"旅券番号",
        r"passport(?:[ -]?(?:number|no|#))?",
        r"reisepass(?:nummer)?",
        r"passnummer",
        r"passeport",
        r"pasaporte",
        r"paspoort(?:nummer)?",
        r"passaporto",
        r"paszport(?:u)?",
        r"passaporte",
    ),
    "EMPLOYEE_ID": (
        r"employee",
        r"staff",
        r"sicil",
        r"employee[ -]?(?:id|number|no|#)",
        r"staff[ -]?(?:id|number|no)",
        r"personnel[ -]number",
        r"payroll[ -](?:id|number)",
        r"badge(?:[ -]?(?:id|number|no))?",
        r"personalnummer",
        r"personal-?nr\.?",
        r"mitarbeiternummer",
        r"matricule",
        r"n[úu]mero de empleado",
        r"personeelsnummer",
        r"matricola",
        r"(?:numer|nr\.?) pracownika",
        r"n[úu]mero de funcion[áa]rio",
        r"emp\.?(?:[ -]?(?:id|no|#))?",
    ),
}
WEAK_LABELS = frozenset(
    "account claim badge patente polizza expediente tin sin ein nie case ticket dossier licence license member "
    "membership versicherung contract contrat contrato vertrag employee staff insurance insurer pratica "
    "protocolo protocollo kenmerk sinistre sinistro siniestro incidencia rg denuncia plainte rut".split()
)


def _wrappable(label: str) -> str:
    """`label` with its spaces also matching a line break: prose wraps between a label's words."""
    return label.replace("[ -]", r"[\s-]").replace(" ", r"\s+")


def first_letters(pattern: str) -> list[str]:
    """The characters, lower-cased, a case-insensitive match of `pattern` may start with
    (`(?:numero di )?protocollo`: n and p)."""
    compiled = regex.compile(pattern, regex.IGNORECASE)
    alphabet = set(pattern + pattern.upper() + pattern.lower() + string.ascii_letters + string.digits)
    letters = sorted({char.lower() for char in alphabet if compiled.match(char, partial=True)})
    assert letters and all(len(letter) == 1 for letter in letters), pattern
    return letters


def by_first_letter(alternatives: Iterable[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """(key, pattern) pairs bucketed by the letters each pattern may start with, each bucket in order."""
    buckets: dict[str, list[tuple[str, str]]] = {}
    for key, pattern in alternatives:
        for letter in first_letters(pattern):
            buckets.setdefault(letter, []).append((key, pattern))
    return buckets


def first_letter_alternation(alternatives: Iterable[str]) -> str:
    """`'|'.join(alternatives)` (to match case-insensitively) as an alternation that tries at a
    position only the alternatives that may start with its letter, in their order: the same
    matches, but `re` no longer tries every word of a long alternation at every word of a text."""
    buckets = by_first_letter((pattern, pattern) for pattern in alternatives)
    return "(?:" + "|".join(rf"(?={re.escape(c)})(?:{'|'.join(p for p, _ in b)})" for c, b in buckets.items()) + ")"


def _label_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    """Every label in one pattern, bucketed by first letter, and the entity type each group names.

    One alternation of the ~400 labels cost 1.5 ms of CPU on a 1.5 KB request: `re` tried every label
    at every word. Here a word first picks its letter's bucket, whose labels keep their order in
    `LABELS`, so the label found at a position, and its entity type, are those of the one alternation.
    """
    labels = ((entity, _wrappable(label)) for entity, labels in LABELS.items() for label in labels)
    entities: dict[str, str] = {}
    branches = []
    for letter, bucket in by_first_letter(labels).items():
        groups = []
        for entity, run in groupby(bucket, key=itemgetter(0)):
            name = f"g{len(entities)}"
            entities[name] = entity
            groups.append(rf"(?P<{name}>(?:{'|'.join(label for _, label in run)})(?!\w))")
        branches.append(rf"(?={re.escape(letter)})(?:{'|'.join(groups)})")
    return re.compile(rf"(?<![\w-])(?:{'|'.join(branches)})", re.IGNORECASE), entities


_LABEL, _LABEL_ENTITY = _label_pattern()
# After the label, the first identifier-shaped value among the next few words of the same line
# ("MRN 00482913", "policy no. 77-1190", "member ID on the back of the card: HMX-5528-1104"): a
# letter or digit, then letters and digits joined by `-`, `/`, `.` or a space between two digit
# groups; or an IBAN in groups of four, a German or Polish court file number ("12 O 345/21",
# "I C 1234/25"), a US federal docket ("1:26-cv-04412"), a Dutch one
# with its roll number ("C/15/3418 / HA ZA 26-51"), a German pension insurance number with its
# spaces ("12 345678 A 123"), or a letter prefix before digit groups
# ("ABCD 1234 5678 9012", a US alien number "A 123 456 789").
_VALUE = re.compile(
    r"(?<![\w-])(?:[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![\w-])"  # IBAN
    r"|(?:\d{1,3}|[IVX]{1,4}) [A-Z]{1,3}[a-z]{0,2} \d{1,6}/\d{2,4}\b"
    r"|\d:\d{2}-[a-z]{2}-\d{3,6}\b"  # US federal docket: 1:26-cv-04412
    r"|[A-Z]/\d{2}/\d{4,8} / [A-Z]{2} [A-Z]{2} \d{2}-\d{1,6}\b"
    r"|[A-Z]{1,6}(?: \d{3,4}){2,5}(?![\w-])"
    r"|\d{2} \d{6} [A-Z] \d{3}\b"  # German pension insurance number: 12 345678 A 123
    r"|[A-Za-z0-9](?:[A-Za-z0-9]|[-/.](?=[A-Za-z0-9])|(?<=\d) (?=\d{2}))*)"
)
WINDOW = 48  # characters after a label in which its value may start
MAX_WORDS_BEFORE = 8  # tokens between a label and its value ("ID on the back of the card:")
_DATE = re.compile(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{4}|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}")
_AMOUNT = re.compile(r"\d{1,3}(?:[.,]\d{3})*[.,]\d{2}")
_YEAR = re.compile(r"(?:19|20)\d{2}")
_DOTTED = re.compile(r"\d{1,3}(?:\.\d{1,3}){2,}")  # an IP address or a version, not an identifier
_AGE = re.compile(r"\d{1,3}(?:-[a-z]{2,})+")  # "67-year-old", "3-day": a number and words, not an identifier
# A number in thousands groups ("38.447.219"): how Latin America writes a DNI or a cédula, so an
# identifier after a national-id label, though elsewhere it may be an amount.
_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3}){2,3}")
GROUPED_ENTITIES = frozenset({"NATIONAL_ID"})
# Staff numbers of four digits count after a label that says number ("número de empleado 3318",
# "emp 4021"), not after the bare word ("a staff of 1200").
SHORT_ENTITIES = frozenset({"EMPLOYEE_ID"})
BARE_LABELS = frozenset({"employee", "staff", "badge", "sicil"})
# The rest of a label's line when the line was merely wrapped: a colon, comma or semicolon and a few
# words, no sentence end.
_WRAPPED = re.compile(r"[^\S\n]*[:#;,]?(?:[^\S\n]+[\w'’]+){0,3}[^\S\n]*\n")


def identifier_shaped(value: str, grouped: bool = False, short: bool = False) -> bool:
    """Whether `value` could be an identifier: five digits or more (four when `short`: a staff
    number after a label that says number), or letters with two digits or more in at least five
    characters; never a date, a year, an amount or an age ("67-year-old"), and a number in
    thousands groups only when `grouped` (after a national-id label)."""
    compact = re.sub(r"[-/. ]", "", value)
    digits = sum(c.isdigit() for c in compact)
    if grouped and _THOUSANDS.fullmatch(value):
        return True
    if any(p.fullmatch(value) for p in (_DATE, _AMOUNT, _YEAR, _DOTTED, _AGE)) or len(compact) > 34:
        return False
    if compact.isdigit():
        return digits >= (4 if short else 5)
    return digits >= 2 and len(compact) >= 5


def find_labelled_ids(text: str) -> Iterator[Found]:
    """Every labelled identifier in `text`, with the entity type its label names."""
    for label in _LABEL.finditer(text):
        entity = _LABEL_ENTITY.get(label.lastgroup or "")
        short = entity in SHORT_ENTITIES and label[0].lower() not in BARE_LABELS
        value = _value_after(text, label.end(), entity in GROUPED_ENTITIES, short)
        if entity is None or value is None:
            continue
        found = text[value[0] : value[1]]
        weak = label[0].lower() in WEAK_LABELS
        score = CHECKED_SCORE if _checks(entity, found) else WEAK_SCORE if weak else SCORE
        yield Found(entity, value[0], value[1], score, f"after the label {label[0]!r}")


def _value_after(text: str, position: int, grouped: bool = False, short: bool = False) -> tuple[int, int] | None:
    """The span of the first identifier-shaped token within the window after a label: on the
    label's line, or on the next one when the label's line was only wrapped."""
    window = text[position : position + WINDOW]
    wrapped = _WRAPPED.match(window)
    lines = window.split("\n", 2)
    window = "\n".join(lines[:2]) if wrapped else lines[0]
    for words, token in enumerate(_VALUE.finditer(window)):
        if words > MAX_WORDS_BEFORE:
            break
        if identifier_shaped(token[0], grouped, short):
            return position + token.start(), position + token.end()
    return None


def _checks(entity: str, value: str) -> bool:
    """Whether `value` passes a standard check for its entity type (python-stdnum)."""
    checks: tuple[Callable[[str], bool], ...] = CHECKS.get(entity, ())
    return any(check(value) for check in checks)


CHECKS: dict[str, tuple[Callable[[str], bool], ...]] = {
    "TAX_ID": (vat.is_valid, ein.is_valid, partial(rfc.is_valid, validate_check_digits=True), cuit.is_valid),
    "US_SSN": (ssn.is_valid,),
    "ACCOUNT_NUMBER": (iban.is_valid, cbu.is_valid),
    "NATIONAL_ID": (ch_ssn.is_valid, curp.is_valid),
}


class LabelledIdRecognizer(SpanRecognizer):
    """Identifiers named by the word before them, one entity type per kind of label."""

    NAME = "LabelledIdRecognizer"
    ENTITIES = tuple(LABELS)

    def find(self, text: str) -> Iterator[Found]:
        return find_labelled_ids(text)
