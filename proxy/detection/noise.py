"""Findings that are almost always false alarms in LLM traffic, dropped before any policy sees them.

Each filter is named and has a reason; a finding dropped here is not personal data in practice:
- `url-inside-email`: Presidio also reports the domain of an e-mail address as a URL.
- `reserved-domain`: example.com, *.test, *.invalid, ... are reserved for documentation (RFC 2606).
- `non-public-ip`: loopback, unspecified, multicast and link-local addresses name no one, nor does a
  documentation address (RFC 5737) in a sentence about examples or docs. A private (RFC 1918) or
  documentation address elsewhere is read as a reader reads it: the address of someone's machine.
- `version-number`: "v1.2.3.4" and "version 10.0.0.1" are versions, not addresses.
- `not-a-name`: spaCy calls a lone common word ("Convert", "Salary", "Mar") or an identifier
  (`order_id`, `SLACK_BOT_TOKEN`, "git log:") a person; names have no underscores, digits or line breaks.
- `not-a-phone`: fewer than seven digits (an order number), or an amount like "6473.66".
- `foreign-model-person`: in a German, French, Spanish, Italian, Dutch, Portuguese or Polish text, a
  person the English model found with no word from the name lists ("Abmahnung", "Redacta el").
- `model-slip`: one word the model calls a person in lower case ("mum") or as a short
  abbreviation ("DB"); `eponym`: a name inside a term ("Hodgkin lymphoma", "Broca's area").
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

from proxy.detection.language import language_of
from proxy.detection.names import TITLE, is_common, name_lists
from proxy.detection.secrets import SECRET_ENTITIES
from proxy.exchange import Finding

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
DATE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./-]\d{1,2}[./-]\d{1,2}")
EPONYM_AFTER = re.compile(
    r"(?:['’]s?)?[ \t]+(?:area|aphasia|disease|syndrome|lymphoma|palsy|law|laws|theorem|principle|razor|paradox"
    r"|equation|constant|effect|rule|test|sign|reflex|method|algorithm|distribution|number|curve)\b",
    re.IGNORECASE,
)
AMOUNT = re.compile(r"\d+[.,]\d{2}")
VERSION_BEFORE = re.compile(r"\b(?:v|version\s*|release\s*)$", re.I)
#: words that make a documentation address an example rather than someone's machine
EXAMPLE_CUE = re.compile(r"\b(?:examples?|docs?|documentation|rfc|placeholder|sample|tutorial|e\.g\.)", re.I)


CASE_LAW_BEFORE = re.compile(r"\b(?:v|vs)\.?[ \t]+$", re.I)
CASE_LAW_AFTER = re.compile(r"[ \t]+(?:v|vs)\.?[ \t]+[A-Z]")
PLACEHOLDER_STREET = re.compile(r"(?:123|1234)\s+(?:main|fake|any)\s+(?:st|street|ave|avenue|road|rd)\.?", re.I)
REFERENCE_BEFORE = re.compile(
    r"(?:#|\b(?:order|invoice|ticket|tracking|ref(?:erence)?|po|sku|item|shipment|bestell|rechnung|commande)"
    r"(?:[ \t]*(?:no\.?|nr\.?|number|id|n°))?[ \t]*[:#]?)[ \t]*$",
    re.I,
)


def without_noise(findings: list[Finding], text: str) -> list[Finding]:
    emails = [f for f in findings if f.entity_type == "EMAIL_ADDRESS"]
    specific = [f for f in findings if f.entity_type in SPECIFIC_SECRETS]
    kept = [f for f in findings if not _noise(f, text, emails) and not _fallback_inside(f, specific)]
    if any(f.recognizer == SPACY for f in kept) and language_of(text) != "en":
        kept = [f for f in kept if not _foreign_model_person(f, text)]
    return kept


def _foreign_model_person(finding: Finding, text: str) -> bool:
    """A person the English model saw in another language, with no word from the name lists and
    no title before it ("Frau Weißmüller" stays)."""
    if finding.recognizer != SPACY or finding.entity_type != "PERSON":
        return False
    value = text[finding.start : finding.end]
    if TITLE.search(text[max(0, finding.start - 12) : finding.start]) or TITLE.search(value.split()[0] + " "):
        return False
    given, family = name_lists()
    words = [w.casefold() for w in re.findall(r"[^\W\d_]+", value)]
    return not any(w in given or w in family for w in words)


def _eponym(finding: Finding, text: str) -> bool:
    """A name that is part of a term: Hodgkin lymphoma, Broca's area, Bayes' theorem."""
    return bool(EPONYM_AFTER.match(text, finding.end))


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
        return bool(RESERVED_DOMAIN.search(value))
    if finding.entity_type == "PERSON":
        return (
            _not_a_name(value)
            or _eponym(finding, text)
            or _case_party(finding, text)
            or (finding.recognizer == SPACY and _model_slip(value))
        )
    if finding.entity_type == "STREET_ADDRESS":
        return bool(PLACEHOLDER_STREET.fullmatch(value.strip()))
    if finding.entity_type == "PHONE_NUMBER":
        return (
            sum(c.isdigit() for c in value) < 7
            or bool(AMOUNT.fullmatch(value) or DATE.fullmatch(value))
            or bool(REFERENCE_BEFORE.search(text[max(finding.start - 24, 0) : finding.start]))
        )
    if finding.entity_type == "US_DRIVER_LICENSE":
        return len(value) < 6
    if finding.entity_type == "IP_ADDRESS":
        return _nobodys_address(value, _sentence(text, finding)) or bool(
            VERSION_BEFORE.search(text[max(finding.start - 12, 0) : finding.start])
        )
    return False


def _not_a_name(value: str) -> bool:
    if any(c.isdigit() or c in "_\n:/@=" for c in value):
        return True
    words = value.split()
    return len(words) == 1 and is_common(words[0].strip(".,;'\""))


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
