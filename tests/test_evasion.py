"""The adversarial suite (#16): values the shipped policies transform or block, disguised the
ways people and attackers write them, sent through a running proxy with the official SDKs.
Each case asserts what the default policies say (cards and secrets blocked, SSNs, e-mail
addresses and names transformed) and that no form of the value reaches the vendor: 0 leaks.

One proxy serves the whole module; each case is one request."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import anthropic
import openai
import pytest

from proxy.detection.canonical import canonicalise

from .conftest import RunningProxy, StartProxy
from .mock_vendor import MockVendor

Expect = Literal["block", "transform", "refuse"]
Surface = Literal["chat", "anthropic", "responses"]

CARDS = ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117"]
SSNS = ["536-22-8841", "412-75-3306"]
EMAILS = ["jane.doe@acme-corp.de", "m.kowalski@contoso-mail.pl"]
AWS_KEY = "AKIAQX3B7NF2KD9RWL4Z"
NAME = "Jürgen Müller"

INVISIBLE = {
    "zero-width space": "\u200b",
    "zero-width non-joiner": "\u200c",
    "zero-width joiner": "\u200d",
    "word joiner": "\u2060",
    "soft hyphen": "\u00ad",
    "bom": "\ufeff",
    "bidi override": "\u202e",
    "bidi isolate": "\u2066",
}
CYRILLIC = str.maketrans("aeopcxijsy", "аеорсхіјѕу")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def escaped(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in text)


def spelled(digits: str) -> str:
    words = "zero one two three four five six seven eight nine".split()
    return " ".join(words[int(d)] for d in digits if d.isdigit())


Disguise = Callable[[str], str]

# each disguise writes a value into a sentence, as a client would send it
COMMON: dict[str, Disguise] = {
    **{name: (lambda v, c=char: f"please file {c.join(v)} today") for name, char in INVISIBLE.items()},
    "full-width": lambda v: f"please file {full_width(v)} today",
    "json escapes": lambda v: f'tool result: {{"value": "{escaped(v)}"}}',
    "json escapes of a python dict": lambda v: (
        "result " + json.dumps({"note": f"value {v}"}).replace(v[:3], escaped(v[:3]))
    ),
    "url-encoded": lambda v: f"see https://forms.acme-corp.de/submit?v={quote(v, safe='')}&x=1".replace("-", "%2D"),
    "base64": lambda v: f"decode this: {b64('the value is ' + v)}",
    "base64url": lambda v: f"decode this: {base64.urlsafe_b64encode(('value ' + v + '??>').encode()).decode()}",
    "base64 in base64": lambda v: f"decode twice: {b64(b64('the value is ' + v))}",
    "data url": lambda v: f"attached data:text/plain;base64,{b64('value ' + v)} thanks",
    "data url as json": lambda v: f"data:application/json;base64,{b64(json.dumps({'value': v}))}",
    "data url percent-encoded": lambda v: f"data:text/plain,{quote('value ' + v)}",
    "text posing as an image": lambda v: f"data:image/png;base64,{b64('value ' + v)}",
}
DIGIT_DISGUISES: dict[str, Disguise] = {
    "dots": lambda v: f"number {'.'.join(_groups(v))} ok",
    "underscores": lambda v: f"number {'_'.join(_groups(v))} ok",
    "digit by digit": lambda v: f"number {' '.join(_digits(v))} ok",
    "spaced dashes": lambda v: f"number {' - '.join(_groups(v))} ok",
    "spelled out": lambda v: f"number {spelled(v)} ok",
    "spelled with commas": lambda v: f"number {', '.join(spelled(v).split())} ok",
    "arabic-indic digits": lambda v: "number " + "".join(chr(0x0660 + int(c)) if c.isdigit() else c for c in v),
    "full-width and zero-width": lambda v: f"number {chr(0x200B).join(full_width(v))} ok",
}
EMAIL_DISGUISES: dict[str, Disguise] = {
    "cyrillic look-alikes": lambda v: f"write to {v.translate(CYRILLIC)} please",
    "full-width at": lambda v: f"write to {v.replace('@', chr(0xFF20))} please",
    "percent-encoded at": lambda v: f"write to {v.replace('@', '%40')} please",
    "double percent-encoded at": lambda v: f"write to {v.replace('@', '%2540')} please",
    "spelled at and dot": lambda v: "write to " + v.replace(".", " dot ").replace("@", " at ") + " please",
    "bracketed at and dot": lambda v: "write to " + v.replace(".", " [dot] ").replace("@", " (at) ") + " please",
    "look-alikes and zero-width": lambda v: f"write to {chr(0x200D).join(v.translate(CYRILLIC))} please",
}


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _groups(value: str) -> list[str]:
    """A number's own groups: an SSN's 3-2-4, a card's fours."""
    return value.split("-") if "-" in value else re.findall(".{1,4}", value)


@dataclass(frozen=True)
class Case:
    id: str
    expect: Expect
    secret: str  # the value that must not reach the vendor, in any form
    messages: Any
    surface: Surface = "chat"
    model: str | None = None


def _one(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def _cases() -> Iterator[Case]:
    for card in CARDS:
        for name, disguise in {**COMMON, **DIGIT_DISGUISES}.items():
            yield Case(f"card {card[:4]} {name}", "block", card, _one(disguise(card)))
    for ssn in SSNS:
        for name, disguise in {**COMMON, **DIGIT_DISGUISES}.items():
            yield Case(f"ssn {ssn[:3]} {name}", "transform", ssn, _one("My SSN: " + disguise(ssn)))
    for email in EMAILS:
        for name, disguise in {**COMMON, **EMAIL_DISGUISES}.items():
            yield Case(f"e-mail {email[:4]} {name}", "transform", email, _one(disguise(email)))
    for name in ("zero-width space", "bidi override", "full-width", "json escapes", "base64", "data url"):
        yield Case(f"aws key {name}", "block", AWS_KEY, _one("aws_access_key_id = " + COMMON[name](AWS_KEY)))
    yield Case(
        "aws key look-alikes",
        "block",
        AWS_KEY,
        _one("aws_access_key_id = " + AWS_KEY.translate(str.maketrans("AK", "АК"))),
    )
    yield Case("name json escapes", "transform", NAME, _one(json.dumps({"customer": f"{NAME} called"})))
    yield Case("name percent-encoded", "transform", NAME, _one(f"customer: {quote(NAME)} called"))
    yield Case(
        "name decomposed umlauts", "transform", NAME, _one(f"customer {NAME.replace('ü', 'u' + chr(0x308))} called")
    )
    yield from _split_cases()
    yield from _media_cases()
    yield from _model_cases()


def _parts(*texts: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "text", "text": text} for text in texts]}]


def _split_cases() -> Iterator[Case]:
    card, ssn, email = CARDS[0], SSNS[0], EMAILS[0]
    halves = {
        "card": (card, "block", "please charge card 4111 1111", "1111 1111 today"),
        "ssn": (ssn, "transform", "my SSN is 536-22", "-8841 thanks"),
        "ssn with spaces": (ssn, "transform", "my SSN is 536 22", "8841 thanks"),
        "e-mail at the at": (email, "transform", "write to jane.doe@", "acme-corp.de now"),
        "e-mail at a dot": (email, "transform", "write to jane.doe@acme-corp", ".de now"),
    }
    for name, (secret, expect, left, right) in halves.items():
        yield Case(f"split across parts: {name}", expect, secret, _parts(left, right))  # type: ignore[arg-type]
        turns = [{"role": "user", "content": left}, {"role": "user", "content": right}]
        yield Case(f"split across messages: {name}", expect, secret, turns)  # type: ignore[arg-type]
        blocks = [{"role": "user", "content": [{"type": "text", "text": left}, {"type": "text", "text": right}]}]
        yield Case(f"split across anthropic blocks: {name}", expect, secret, blocks, "anthropic")  # type: ignore[arg-type]
    three = _parts("card 4111 1111", "1111", "1111 ok")
    yield Case("split across three parts: card", "block", card, three)
    parts = [
        {
            "role": "user",
            "content": [{"type": "input_text", "text": "card 4111 1111"}, {"type": "input_text", "text": "1111 1111"}],
        }
    ]
    yield Case("split across responses parts: card", "block", card, parts, "responses")


def _image(url: str) -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is in this image?"},
                {"type": "image_url", "image_url": {"url": url}},
            ],
        }
    ]


def _media_cases() -> Iterator[Case]:
    card, ssn, email = CARDS[0], SSNS[0], EMAILS[0]
    cdn = "https://img.cdn-host.net"
    urls = {
        "image url query: card": (card, "block", f"{cdn}/render?card={card}&w=200"),
        "image url query: e-mail": (email, "transform", f"{cdn}/avatar?email={email}"),
        "image url query: percent-encoded e-mail": (email, "transform", f"{cdn}/avatar?email={quote(email, safe='')}"),
        "image url path: ssn": (ssn, "transform", f"{cdn}/users/{ssn}/avatar.png"),
        "image url path: base64": (ssn, "transform", f"{cdn}/v/{b64('SSN ' + ssn)}/x.png"),
        "image data url: text": (email, "transform", f"data:text/plain;base64,{b64('contact ' + email)}"),
        "image data url: text posing as png": (card, "block", f"data:image/png;base64,{b64('card ' + card)}"),
    }
    for name, (secret, expect, url) in urls.items():
        yield Case(name, expect, secret, _image(url))  # type: ignore[arg-type]
    source = {"type": "image", "source": {"type": "url", "url": f"{cdn}/a.png?owner={email}"}}
    yield Case(
        "anthropic image url",
        "transform",
        email,
        [{"role": "user", "content": [source, {"type": "text", "text": "describe"}]}],
        "anthropic",
    )
    data = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64("SSN " + ssn)}}
    yield Case(
        "anthropic base64 text posing as png",
        "transform",
        ssn,
        [{"role": "user", "content": [data, {"type": "text", "text": "describe"}]}],
        "anthropic",
    )
    image = {"type": "input_image", "image_url": f"{cdn}/a.png?card={card}"}
    yield Case(
        "responses image url",
        "block",
        card,
        [{"role": "user", "content": [{"type": "input_text", "text": "describe"}, image]}],
        "responses",
    )


def _model_cases() -> Iterator[Case]:
    models = {
        "ssn": "gpt-536-22-8841",
        "ssn with dots": "gpt-536.22.8841",
        "card": f"gpt-{CARDS[0]}",
        "card in groups": "gpt-4111-1111-1111-1111",
        "e-mail": f"gpt-{EMAILS[0]}",
        "zero-width": "gpt-4o\u200b",
        "space and text": "gpt-4o please mail jane.doe@acme-corp.de",
        "full-width": "gpt-" + full_width("536-22-8841"),
        "anthropic ssn": "claude-536-22-8841",
    }
    for name, model in models.items():  # the secret checked: the error never quotes the name
        surface: Surface = "anthropic" if model.startswith("claude") else "chat"
        yield Case(f"model field: {name}", "refuse", model, _one("hello"), surface, model)


CASES = list(_cases())


@pytest.fixture(scope="module")
def running(start_proxy: StartProxy) -> Iterator[RunningProxy]:
    with start_proxy() as proxy:
        yield proxy


def _send(proxy: RunningProxy, case: Case) -> tuple[int, str, str]:
    """Status, `X-Proxy-Decision` (for an error without one: its code, or Anthropic's error
    type and message), and the response text."""
    try:
        if case.surface == "anthropic":
            raw: Any = proxy.anthropic().messages.with_raw_response.create(
                model=case.model or "claude-3-5-haiku-20241022", max_tokens=20, messages=case.messages
            )
        elif case.surface == "responses":
            raw = proxy.client().responses.with_raw_response.create(model=case.model or "gpt-4o", input=case.messages)
        else:
            raw = proxy.client().chat.completions.with_raw_response.create(
                model=case.model or "gpt-4o", messages=case.messages
            )
    except (openai.APIStatusError, anthropic.APIStatusError) as error:
        body = error.response.json()["error"]
        decision = error.response.headers.get("x-proxy-decision") or body.get("code") or body["message"]
        return error.status_code, decision, error.response.text
    return raw.http_response.status_code, raw.headers["x-proxy-decision"], raw.http_response.text


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def leaked(secret: str, received: dict[str, Any]) -> bool:
    """Whether `secret` can be read in what the vendor received, in any of the forms the proxy
    itself undoes (so a disguise the proxy passed on counts as a leak)."""
    texts = [canonicalise(text).text for text in _strings(received)]
    if re.fullmatch(r"[\d-]+", secret):
        return _digits(secret) in "".join(_digits(text) for text in texts)
    return secret.casefold() in "\n".join(texts).casefold()


def test_the_suite_covers_every_family_with_150_cases_or_more() -> None:
    assert len(CASES) >= 150
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_disguised_value_is_transformed_or_blocked_as_the_policy_says(
    running: RunningProxy, vendor: MockVendor, case: Case
) -> None:
    vendor.script.reply = "ok"
    status, decision, text = _send(running, case)
    if case.expect == "transform":
        assert (status, decision) == (200, "transform"), text
        assert not leaked(case.secret, vendor.last), f"{case.id}: the value reached the vendor"
    else:
        refused = decision == "invalid_model" or decision.startswith("The model name")  # Anthropic: no code
        assert status == 400 and (decision == "block" or (case.expect == "refuse" and refused)), (status, decision)
        assert vendor.received == []
        assert not case.secret or case.secret not in text


LEGITIMATE_MODELS = [
    ("chat", "gpt-4o-2024-08-06"),
    ("chat", "gpt-4o-mini"),
    ("chat", "gpt-4.1-nano-2025-04-14"),
    ("chat", "gpt-3.5-turbo-0125"),
    ("chat", "gpt-4o-2024-11-20"),
    ("chat", "gpt-4o-audio-preview-2024-12-17"),
    ("chat", "gpt-4o-mini-search-preview-2025-03-11"),
    ("anthropic", "claude-3-7-sonnet-20250219"),
    ("anthropic", "claude-opus-4-20250514"),
    ("anthropic", "claude-3-5-sonnet-20241022"),
    ("anthropic", "claude-3-haiku-20240307"),
    ("anthropic", "claude-haiku-4-5-20251001"),
    ("anthropic", "claude-opus-4-1"),
]


@pytest.mark.parametrize(("surface", "model"), LEGITIMATE_MODELS)
def test_real_model_names_pass(running: RunningProxy, vendor: MockVendor, surface: Surface, model: str) -> None:
    status, decision, text = _send(running, Case(model, "transform", "", _one("hello"), surface, model))
    assert (status, decision) == (200, "allow"), text


def test_a_plain_image_passes_and_only_its_url_is_read(running: RunningProxy, vendor: MockVendor) -> None:
    png = "data:image/png;base64," + base64.b64encode(bytes(range(256)) * 8).decode()
    for url in (png, "https://img.cdn-host.net/cat.png?w=200"):
        status, decision, text = _send(running, Case("image", "transform", "", _image(url), "chat"))
        assert (status, decision) == (200, "allow"), text
        assert vendor.last["messages"][0]["content"][1]["image_url"]["url"] == url


def test_client_headers_reach_the_vendor_only_when_configured(
    start_proxy: StartProxy, running: RunningProxy, vendor: MockVendor
) -> None:
    headers = {"User-Agent": "acme-laptop-jane.doe/1.0", "Idempotency-Key": "k-1", "Anthropic-Beta": "tools-2024"}
    running.client().chat.completions.create(model="gpt-4o", messages=_one("hi"), extra_headers=headers)
    sent = vendor.received[-1].headers
    assert "acme-laptop" not in sent.get("user-agent", "") and "idempotency-key" not in sent
    assert sent["anthropic-beta"] == "tools-2024"  # the protocol's own headers still go
    upstream = {**running.config.upstreams[0].model_dump(), "forward_headers": ["user-agent"]}
    with start_proxy(upstreams=[upstream]) as configured:
        configured.client().chat.completions.create(model="gpt-4o", messages=_one("hi"), extra_headers=headers)
    sent = vendor.received[-1].headers
    assert sent["user-agent"] == headers["User-Agent"] and "idempotency-key" not in sent


def test_a_name_in_the_prompt_that_is_also_in_the_model_name_does_not_refuse_the_model(
    running: RunningProxy, vendor: MockVendor
) -> None:
    """A person called Claude is pseudonymized in the prompt; the name is not carried into
    `claude-opus-4-1`, which would refuse the request as a model name holding a name."""
    messages = _one("Write to Claude Moreau about the invoice. Claude Moreau prefers e-mail.")
    status, decision, text = _send(running, Case("claude", "transform", "", messages, "anthropic", "claude-opus-4-1"))
    assert status == 200, text
    assert vendor.last["model"] == "claude-opus-4-1"
    assert "Moreau" not in str(vendor.last["messages"])
