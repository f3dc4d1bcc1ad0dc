"""Generate the labelled evaluation set, deterministically: `python -m proxy.evaluation.generate`.

Seeded Faker in eleven locales fills prompt templates of ten kinds (support tickets, clinical
notes, HR, banking, legal, code and logs, pasted JSON/CSV/YAML, multi-turn chats, tool results
and system prompts, hard negatives). Each personal value is recorded with its exact offsets as it
is written into the text, so the gold spans cannot drift from the text. Running it again writes
the identical file (a test checks this); change a template and the diff shows what changed.

Phone numbers are drawn until `phonenumbers` calls them valid for their country: real prompts
carry assigned numbers, and Faker also produces impossible ones.
"""

from __future__ import annotations

import argparse
import random
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import phonenumbers
from faker import Faker
from faker.providers.address.it_IT import Provider as ItalianAddresses

from proxy.evaluation import ids
from proxy.evaluation.cases import GENERATED, Case, Span, dump_cases

SEED = 20261127
# "Today" for every date the set holds. Faker counts birth dates back from the real today, so the
# set would change with the calendar; counted from a fixed day it regenerates identically on any day.
REFERENCE_DATE = date(2026, 11, 28)
PER_CATEGORY = 55
LOCALES = {  # locale -> phone region
    "en_US": "US", "en_GB": "GB", "de_DE": "DE", "fr_FR": "FR", "es_ES": "ES", "it_IT": "IT",
    "nl_NL": "NL", "pl_PL": "PL", "pt_BR": "BR", "en_IN": "IN", "ja_JP": "JP",
}  # fmt: skip


@dataclass(frozen=True)
class Pii:
    type: str
    value: str


Value = str | Pii
_SLOT = re.compile(r"\[\[(\w+)\]\]")


def fill(template: str, values: Mapping[str, Value]) -> tuple[str, list[tuple[int, int, str, str]]]:
    """The template with `[[name]]` slots filled, and (start, end, type, value) for each Pii."""
    out, spans, position = [], [], 0
    for i, piece in enumerate(_SLOT.split(template)):
        if i % 2:
            value = values[piece]
            piece = value.value if isinstance(value, Pii) else value
            if isinstance(value, Pii):
                spans.append((position, position + len(piece), value.type, piece))
        out.append(piece)
        position += len(piece)
    return "".join(out), spans


class Chat:
    """Messages under construction, with their gold spans."""

    def __init__(self) -> None:
        self.messages: list[dict[str, object]] = []
        self.spans: list[Span] = []

    def say(self, role: str, template: str, **values: Value) -> Chat:
        text, spans = fill(template, values)
        index = len(self.messages)
        self.messages.append({"role": role, "content": text})
        self.spans += [Span(message=index, start=s, end=e, type=t, value=v) for s, e, t, v in spans]
        return self

    def tool(self, name: str, arguments: str, template: str, **values: Value) -> Chat:
        call_id = f"call_{len(self.messages):03d}"
        call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        self.messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        text, spans = fill(template, values)
        index = len(self.messages)
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": text})
        self.spans += [Span(message=index, start=s, end=e, type=t, value=v) for s, e, t, v in spans]
        return self


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


class World:
    """One locale's Faker plus the helpers that make realistic values from it."""

    def __init__(self, locale: str, rng: random.Random) -> None:
        self.locale = locale
        self.rng = rng
        self.fake = Faker(locale)
        self.fake.seed_instance(rng.randrange(2**32))

    def first(self) -> str:
        name = self.fake.first_romanized_name() if self.locale == "ja_JP" else self.fake.first_name()
        return str(name)

    def last(self) -> str:
        name = self.fake.last_romanized_name() if self.locale == "ja_JP" else self.fake.last_name()
        return str(name)

    def person(self) -> tuple[str, str]:
        return self.first(), self.last()

    def name_forms(self) -> tuple[str, str]:
        """(how the name is written, form label): the ways names appear in real prompts."""
        first, last = self.person()
        form = self.rng.choice(["full", "full", "full", "last_first", "lower", "upper", "titled"])
        written = {
            "full": f"{first} {last}",
            "last_first": f"{last}, {first}",
            "lower": f"{first} {last}".lower(),
            "upper": f"{first} {last}".upper(),
            "titled": last,
        }[form]
        return written, form

    def email(self, first: str, last: str) -> str:
        local = self.rng.choice(
            [f"{first}.{last}", f"{first[0]}{last}", f"{last}.{first}", f"{first}{self.rng.randint(1, 99)}"]
        )
        local = re.sub(r"[^a-z0-9.]", "", ascii_fold(local).lower())
        domain = self.rng.choice([self.fake.free_email_domain(), ascii_fold(self.fake.domain_name()).lower()])
        return f"{local}@{domain}"

    def phone(self) -> str:
        region = LOCALES[self.locale]
        for _ in range(100):
            number = re.sub(r"\s*(x|ext\.?)\s*\d+$", "", self.fake.phone_number())
            try:
                if phonenumbers.is_valid_number(phonenumbers.parse(number, region)):
                    return number
            except phonenumbers.NumberParseException:
                continue
        raise RuntimeError(f"no valid phone number for {self.locale}")

    def card(self) -> str:
        kind = self.rng.choice(["visa", "visa", "mastercard", "amex", "discover", "2-series"])
        number = ids.mastercard_2_series(self.rng) if kind == "2-series" else self.fake.credit_card_number(kind)
        style = self.rng.choice(["plain", "spaced", "dashed"])
        if kind == "amex" and style != "plain":
            sep = " " if style == "spaced" else "-"
            return f"{number[:4]}{sep}{number[4:10]}{sep}{number[10:]}"
        return {"plain": number, "spaced": ids.group(number), "dashed": ids.group(number, sep="-")}[style]

    def iban(self) -> str:
        fake = self.fake
        if self.locale in ("en_US", "en_IN", "ja_JP"):  # no IBANs there (and Faker makes GB ones of the wrong length)
            fake = Faker("en_GB")
            fake.seed_instance(self.rng.randrange(2**32))
        iban = str(fake.iban())
        return ids.group(iban) if self.rng.random() < 0.5 else iban

    def national_id(self) -> tuple[str, str]:
        """(the identifier, how people call it in this country)."""
        f, loc = self.fake, self.locale
        if loc == "en_US":
            return str(f.ssn()), self.rng.choice(["SSN", "social security number"])
        if loc == "en_GB":
            return ids.uk_nino(self.rng), "National Insurance number"
        if loc == "de_DE":
            return ids.german_tax_id(self.rng), self.rng.choice(["Steuer-ID", "Steuerliche Identifikationsnummer"])
        if loc == "fr_FR":
            return str(f.ssn()), "numéro de sécurité sociale"
        if loc == "es_ES":
            return (str(f.nif()), "DNI") if self.rng.random() < 0.7 else (str(f.nie()), "NIE")
        if loc == "it_IT":
            return str(f.ssn()), "codice fiscale"
        if loc == "nl_NL":
            return str(f.ssn()), "BSN"
        if loc == "pl_PL":
            return str(f.pesel(date_of_birth=datetime.combine(self.born(), datetime.min.time()))), "PESEL"
        if loc == "pt_BR":
            return str(f.cpf()), "CPF"
        if loc == "en_IN":
            aadhaar = ids.aadhaar(self.rng)  # Faker's lack the Verhoeff check digit real ones carry
            return ids.group(aadhaar) if self.rng.random() < 0.5 else aadhaar, "Aadhaar"
        return str(self.fake.bothify("??#######")).upper(), "passport number"

    def city(self) -> str:
        if self.locale == "it_IT":  # Faker's Italian city list is built from a set: its order varies per process
            return str(self.rng.choice(sorted(ItalianAddresses.cities)))
        return str(self.fake.city())

    def address(self) -> tuple[str, str]:
        """(the address on one line, its street line): street, postcode and city in the country's order."""
        f, loc = self.fake, self.locale
        street = str(f.street_address()).replace("\n", ", ")
        if loc in ("ja_JP", "en_IN"):  # Faker's addresses here are not in Latin script or not real-looking
            en = Faker("en_US")
            en.seed_instance(self.rng.randrange(2**32))
            street = str(en.street_address())
            return f"{street}, {en.city()}, {en.state_abbr()} {en.postcode()}", street
        if loc == "en_US":
            return f"{street}, {f.city()}, {f.state_abbr()} {f.postcode()}", street
        if loc == "en_GB":
            return f"{street}, {f.city()} {f.postcode()}", street
        if loc == "pt_BR":
            return f"{street}, {f.postcode()} {self.city()}", street
        return f"{street}, {f.postcode()} {self.city()}", street

    def born(self, minimum_age: int = 0, maximum_age: int = 115) -> date:
        """Faker's `date_of_birth`, counted back from REFERENCE_DATE instead of today."""
        start = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - maximum_age - 1)  # not 29 February: no fallback
        end = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - minimum_age)
        born = self.fake.date_time_ad(start_datetime=start, end_datetime=end).date()
        return born if born != start else born + timedelta(days=1)

    def dob(self) -> str:
        born = self.born(minimum_age=18, maximum_age=90)
        return self.rng.choice([born.strftime("%d/%m/%Y"), born.isoformat(), born.strftime("%B %d, %Y")])

    def employee_id(self) -> str:
        return f"EMP-{self.rng.randint(0, 999999):06d}"

    def ip(self) -> str:
        return str(self.fake.ipv4_public()) if self.rng.random() < 0.85 else str(self.fake.ipv6())

    def secret(self) -> tuple[str, str]:
        """(a secret, the line of config it sits in, with [[secret]] where it goes)."""
        r = self.rng
        alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

        def chars(n: int, pool: str = alnum) -> str:
            return "".join(r.choice(pool) for _ in range(n))

        options = [
            ("AKIA" + chars(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), "aws_access_key_id = [[secret]]"),
            ("ghp_" + chars(36), "export GITHUB_TOKEN=[[secret]]"),
            ("sk_live_" + chars(24), 'stripe.api_key = "[[secret]]"'),
            (
                "xoxb-" + chars(11, "0123456789") + "-" + chars(12, "0123456789") + "-" + chars(24),
                "SLACK_BOT_TOKEN=[[secret]]",
            ),
            ("sk-proj-" + chars(40), "OPENAI_API_KEY=[[secret]]"),
            (chars(10) + r.choice("!#%") + chars(4), 'DB_PASSWORD="[[secret]]"'),
            (chars(14), "postgres://app:[[secret]]@db.internal:5432/orders"),
        ]
        return r.choice(options)


# --- categories ---------------------------------------------------------------------------------

Maker = Callable[[World], Chat]
NAME = "PERSON"


def support(w: World) -> Chat:
    name, form = w.name_forms()
    first, last = w.person()
    order = f"{w.rng.randint(100000, 999999)}"
    templates = [
        "Hi, I'm [[name]] and my order #[[order]] never arrived. You can reach me at [[email]] or [[phone]].",
        "Customer [[name]] ([[email]]) called from [[phone]] about a double charge on order [[order]]. Please draft a polite reply.",
        "Ticket [[order]]: [[name]] says the delivery to [[address]] was left outside. Write an apology.",
        "Summarise this complaint: 'My name is [[name]], I paid with card [[card]] and was charged twice for order [[order]].'",
        "Please reply to [[name]] who wrote from [[email]]: the refund for order [[order]] is delayed. Callback number [[phone]].",
    ]
    address, _ = w.address()
    values: dict[str, Value] = {
        "name": Pii(NAME, name),
        "order": order,
        "email": Pii("EMAIL_ADDRESS", w.email(first, last)),
        "phone": Pii("PHONE_NUMBER", w.phone()),
        "address": Pii("STREET_ADDRESS", address),
        "card": Pii("CREDIT_CARD", w.card()),
    }
    template = w.rng.choice(templates)
    if form == "titled":
        template = template.replace("[[name]]", w.rng.choice(["Mr. ", "Mrs. ", "Ms. "]) + "[[name]]", 1)
    return Chat().say("user", template, **values)


def clinical(w: World) -> Chat:
    name, _ = w.name_forms()
    doctor = w.last()
    nid, nid_label = w.national_id()
    templates = [
        "Patient: [[name]], DOB [[dob]]. Seen by Dr. [[doctor]] for persistent cough since March. "
        "Prescribed amoxicillin 500 mg three times daily for 7 days. Follow-up in 2 weeks. Phone [[phone]].",
        "Discharge summary for [[name]] (born [[dob]], [[nid_label]] [[nid]]). Admitted with chest pain; troponin negative. "
        "Lives at [[address]]. Rewrite this in plain language for the patient.",
        "Referral letter: [[name]], date of birth [[dob]], presented with type 2 diabetes, HbA1c 8.1%. "
        "Contact: [[email]]. Please summarise the key findings.",
        "Nurse note 14:20 - [[name]] complained of dizziness after the 10 mg dose. Dr. [[doctor]] informed. Next of kin phone [[phone]].",
    ]
    first, last = w.person()
    address, _ = w.address()
    return Chat().say(
        "user",
        w.rng.choice(templates),
        name=Pii(NAME, name),
        dob=Pii("DATE_OF_BIRTH", w.dob()),
        doctor=Pii(NAME, doctor),
        phone=Pii("PHONE_NUMBER", w.phone()),
        nid=Pii("NATIONAL_ID", nid),
        nid_label=nid_label,
        address=Pii("STREET_ADDRESS", address),
        email=Pii("EMAIL_ADDRESS", w.email(first, last)),
    )


def hr(w: World) -> Chat:
    name, _ = w.name_forms()
    manager_first, manager_last = w.person()
    nid, nid_label = w.national_id()
    templates = [
        "Write a performance review for [[name]] (employee [[emp]]). Their manager [[manager]] rated them 'exceeds expectations'.",
        "Onboarding checklist for [[name]], badge [[emp]], [[nid_label]] [[nid]], starting Monday in the Berlin office.",
        "Draft a warning letter to [[name]] ([[emp]]) about repeated late arrivals; cc [[manager_email]].",
        "Salary adjustment: [[name]], staff number [[emp]], IBAN [[iban]], new gross salary 64,000 per year from 1 April.",
        "[[manager]] asked me to summarise the exit interview of [[name]] (home address [[address]]). Keep it neutral.",
    ]
    address, _ = w.address()
    return Chat().say(
        "user",
        w.rng.choice(templates),
        name=Pii(NAME, name),
        emp=Pii("EMPLOYEE_ID", w.employee_id()),
        manager=Pii(NAME, f"{manager_first} {manager_last}"),
        manager_email=Pii("EMAIL_ADDRESS", w.email(manager_first, manager_last)),
        nid=Pii("NATIONAL_ID", nid),
        nid_label=nid_label,
        iban=Pii("IBAN_CODE", w.iban()),
        address=Pii("STREET_ADDRESS", address),
    )


def banking(w: World) -> Chat:
    name, _ = w.name_forms()
    amount = f"{w.rng.randint(20, 9000)}.{w.rng.randint(0, 99):02d}"
    templates = [
        "Explain why this transfer failed: beneficiary [[name]], IBAN [[iban]], amount EUR [[amount]], reference INV-2024-0412.",
        "Client [[name]] disputes a payment of USD [[amount]] on card [[card]]. Draft the chargeback letter.",
        "KYC review: [[name]], [[nid_label]] [[nid]], account IBAN [[iban]], phone [[phone]]. List what is missing.",
        "Statement line: 'SEPA credit [[amount]] from [[name]] [[iban]]'. Categorise this transaction.",
    ]
    nid, nid_label = w.national_id()
    return Chat().say(
        "user",
        w.rng.choice(templates),
        name=Pii(NAME, name),
        iban=Pii("IBAN_CODE", w.iban()),
        amount=amount,
        card=Pii("CREDIT_CARD", w.card()),
        nid=Pii("NATIONAL_ID", nid),
        nid_label=nid_label,
        phone=Pii("PHONE_NUMBER", w.phone()),
    )


def legal(w: World) -> Chat:
    a, _ = w.name_forms()
    b_first, b_last = w.person()
    templates = [
        "Draft a tenancy agreement between landlord [[a]] and tenant [[b]] for the flat at [[address]], rent 1,250 per month.",
        "Summarise the witness statement of [[b]], residing at [[address]], regarding the incident of 3 May.",
        "Review this NDA clause: 'The Recipient, [[b]] ([[b_email]]), shall not disclose...' and the Discloser [[a]].",
        "Power of attorney: I, [[a]], [[nid_label]] [[nid]], appoint [[b]] to act on my behalf.",
    ]
    nid, nid_label = w.national_id()
    address, _ = w.address()
    return Chat().say(
        "user",
        w.rng.choice(templates),
        a=Pii(NAME, a),
        b=Pii(NAME, f"{b_first} {b_last}"),
        b_email=Pii("EMAIL_ADDRESS", w.email(b_first, b_last)),
        address=Pii("STREET_ADDRESS", address),
        nid=Pii("NATIONAL_ID", nid),
        nid_label=nid_label,
    )


def code_logs(w: World) -> Chat:
    first, last = w.person()
    secret, line = w.secret()
    ip = w.ip()
    email = w.email(first, last)
    templates = [
        "Why does this fail?\n```\n" + line + "\nDEBUG=true\nPORT=8080\n```\nThe app says 401 on startup.",
        "2024-03-02T10:14:22Z INFO login ok user=[[email]] ip=[[ip]]\n2024-03-02T10:14:25Z ERROR timeout after 30s\n"
        "What does this log mean?",
        'Fix this Python:\n```python\nclient = connect(host="[[ip]]", user="[[email]]")\nclient.send()\n```',
        'nginx: [[ip]] - - [02/Mar/2024:10:14:22 +0000] "GET /api/v2/orders HTTP/1.1" 500 512\nWhy 500?',
        "git log:\ncommit 3f9a1c2b7d4e\nAuthor: [[name]] <[[email]]>\n    fix null pointer in parser\nWrite release notes.",
    ]
    return Chat().say(
        "user",
        w.rng.choice(templates),
        secret=Pii("SECRET", secret),
        ip=Pii("IP_ADDRESS", ip),
        email=Pii("EMAIL_ADDRESS", email),
        name=Pii(NAME, f"{first} {last}"),
    )


def structured(w: World) -> Chat:
    first, last = w.person()
    f2, l2 = w.person()
    templates = [
        'Convert this JSON to a table:\n{"customer": {"name": "[[name]]", "email": "[[email]]", "phone": "[[phone]]"}, '
        '"items": 3, "sku": "SKU-4471-BLK"}',
        "Clean this CSV:\nname,email,phone,city\n[[name]],[[email]],[[phone]],Springfield\n[[name2]],[[email2]],,Shelbyville",
        'Validate this YAML:\ncustomer:\n  name: [[name]]\n  iban: [[iban]]\n  address: "[[address]]"\nversion: 2.3.1',
        'Parse: {"user_id": 4412, "full_name": "[[name]]", "ip": "[[ip]]", "card_last4": "1234"}',
    ]
    address, _ = w.address()
    return Chat().say(
        "user",
        w.rng.choice(templates),
        name=Pii(NAME, f"{first} {last}"),
        name2=Pii(NAME, f"{f2} {l2}"),
        email=Pii("EMAIL_ADDRESS", w.email(first, last)),
        email2=Pii("EMAIL_ADDRESS", w.email(f2, l2)),
        phone=Pii("PHONE_NUMBER", w.phone()),
        iban=Pii("IBAN_CODE", w.iban()),
        address=Pii("STREET_ADDRESS", address),
        ip=Pii("IP_ADDRESS", w.ip()),
    )


def multi_turn(w: World) -> Chat:
    """The name appears in full early on; later turns use the surname or first name alone."""
    first, last = w.person()
    email = w.email(first, last)
    chat = Chat().say("system", "You are a helpful assistant for the customer service team.")
    chat.say(
        "user", "New case: [[name]] ([[email]]) wants to cancel the contract.", name=Pii(NAME, f"{first} {last}"),
        email=Pii("EMAIL_ADDRESS", email),
    )  # fmt: skip
    chat.say("assistant", "Understood. What reason did [[first]] give?", first=Pii(NAME, first))
    later = w.rng.choice(
        [
            "[[last]] says the price went up twice. Draft a retention offer for [[last]].",
            "Write to [[last_lower]] and mention the 10% discount.",
            "Mr [[last]] also asked whether [[first]] can keep the phone. Reply briefly.",
            "Please address the letter to [[upper]] and keep it short.",
        ]
    )
    chat.say(
        "user", later, last=Pii(NAME, last), first=Pii(NAME, first), last_lower=Pii(NAME, last.lower()),
        upper=Pii(NAME, last.upper()),
    )  # fmt: skip
    return chat


def tool_results(w: World) -> Chat:
    first, last = w.person()
    chat = Chat().say(
        "system",
        "You are the support agent of Acme. The customer on this session is [[name]], account email [[email]].",
        name=Pii(NAME, f"{first} {last}"),
        email=Pii("EMAIL_ADDRESS", w.email(first, last)),
    )
    chat.say("user", "What is the status of my last order?")
    address, _ = w.address()
    chat.tool(
        "lookup_order",
        '{"order_id": "A-88213"}',
        '{"order_id": "A-88213", "status": "shipped", "ship_to": "[[address]]", "contact_phone": "[[phone]]", '
        '"recipient": "[[recipient]]"}',
        address=Pii("STREET_ADDRESS", address),
        phone=Pii("PHONE_NUMBER", w.phone()),
        recipient=Pii(NAME, f"{first} {last}"),
    )
    return chat


PUBLIC_FIGURES = [
    "Albert Einstein", "Marie Curie", "Abraham Lincoln", "Winston Churchill", "Ada Lovelace", "Alan Turing",
    "Isaac Newton", "Charles Darwin", "Napoleon Bonaparte", "Leonardo da Vinci", "William Shakespeare",
    "Nelson Mandela", "Mahatma Gandhi", "Barack Obama", "Angela Merkel", "Elon Musk", "Bill Gates",
    "Steve Jobs", "Linus Torvalds", "Guido van Rossum", "Martin Luther King", "Queen Elizabeth II",
]  # fmt: skip
COMPANIES = [
    "Microsoft",
    "Siemens",
    "Toyota",
    "Nestlé",
    "Samsung",
    "Shopify",
    "Deutsche Bank",
    "Airbus",
    "SAP",
    "Spotify",
]
HISTORY = [
    ("the Moon landing", "July 20, 1969"), ("the fall of the Berlin Wall", "9 November 1989"),
    ("the signing of the Magna Carta", "15 June 1215"), ("the first flight of the Wright brothers", "December 17, 1903"),
    ("the founding of the United Nations", "24 October 1945"), ("the Chernobyl accident", "26/04/1986"),
]  # fmt: skip


def hard_negative(w: World) -> Chat:
    r = w.rng
    version = f"{r.randint(1, 12)}.{r.randint(0, 30)}.{r.randint(0, 99)}"
    event, when = r.choice(HISTORY)
    templates = [
        "Upgrade from version [[version]] to [[version2]] broke the build: error E[[code]] in module auth. What changed?",
        "Our SKU [[sku]] is out of stock in warehouse 7; write a notice for the website.",
        "Explain why UUID [[uuid]] appears twice in the table and how to deduplicate.",
        "Summarise commit [[githash]]: 'refactor: split parser into lexer and grammar'.",
        "Write a short paragraph about [[event]] on [[when]].",
        "Compare the leadership styles of [[figure]] and [[figure2]] in 200 words.",
        "Write a press release: [[company]] partners with [[company2]] on cloud infrastructure.",
        "In the docs, the example server is 192.0.2.[[octet]] and the client uses 198.51.100.[[octet]]. Is that OK?",
        "Set OPENAI_API_KEY=<YOUR_API_KEY> and AWS_SECRET_ACCESS_KEY=your-secret-key-here, then run make deploy.",
        "The invoice total is 1,284.50 EUR for 12 units at 107.04 each, due in 30 days. Check the arithmetic.",
        "Kubernetes pod crashed with exit code 137 after 3600 seconds; memory limit 512Mi. Why?",
        "Translate to French: 'The meeting is moved to Thursday at 10:30 in room 4.12.'",
        "Our Python 3.11.4 service on port 8443 returns HTTP 503 since release [[version]]. Where should I look?",
        "Does ISBN 978-3-16-148410-0 belong to a valid book? Explain the checksum.",
        "Rank these: [[company]] vs [[company2]] market share in 2023, in a table.",
        "Write a quote of [[figure]] about science and explain it.",
    ]
    hexchars = "0123456789abcdef"
    return Chat().say(
        "user",
        r.choice(templates),
        version=version,
        version2=f"{version.split('.')[0]}.{r.randint(31, 40)}.0",
        code=str(r.randint(1000, 9999)),
        sku=f"SKU-{r.randint(1000, 9999)}-{r.choice(['BLK', 'WHT', 'RED'])}",
        uuid=str(w.fake.uuid4()),
        githash="".join(r.choice(hexchars) for _ in range(40)),
        event=event,
        when=when,
        figure=r.choice(PUBLIC_FIGURES),
        figure2=r.choice(PUBLIC_FIGURES),
        company=r.choice(COMPANIES),
        company2=r.choice(COMPANIES),
        octet=str(r.randint(1, 254)),
    )


CATEGORIES: dict[str, Maker] = {
    "support": support,
    "clinical": clinical,
    "hr": hr,
    "banking": banking,
    "legal": legal,
    "code_logs": code_logs,
    "structured": structured,
    "multi_turn": multi_turn,
    "tool_results": tool_results,
    "hard_negative": hard_negative,
}


def generate(per_category: int = PER_CATEGORY, seed: int = SEED) -> list[Case]:
    rng = random.Random(seed)
    locales = list(LOCALES)
    cases = []
    for category, make in CATEGORIES.items():
        for n in range(per_category):
            locale = locales[n % len(locales)]
            chat = make(World(locale, random.Random(rng.randrange(2**32))))
            used = chat.spans
            cases.append(
                Case(
                    id=f"{category}-{n:03d}",
                    category=category,
                    locale=locale,
                    hard_negative=not used,
                    body={"model": "gpt-4o", "messages": chat.messages},
                    spans=used,
                )
            )
    return cases


def write(path: Path = GENERATED, seed: int = SEED) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_cases(generate(seed=seed)))


if __name__ == "__main__":
    # `--seed N --out FILE` makes a held-out set: same templates, values the detectors were never tuned on.
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=GENERATED)
    arguments = parser.parse_args()
    write(arguments.out, arguments.seed)
