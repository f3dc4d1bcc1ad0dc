"""A detected name is carried to its other mentions in the conversation, and only a confident one."""

from __future__ import annotations

import json

from proxy.detection.propagate import propagate
from proxy.exchange import Finding, Slot

from .conftest import RunningProxy
from .mock_vendor import MockVendor


def _values(slots: list[Slot], findings: list[Finding]) -> list[tuple[int, str]]:
    return sorted((f.slot, slots[f.slot].text[f.start : f.end]) for f in findings)


def test_a_surname_alone_in_any_case_in_a_later_turn_is_the_same_person() -> None:
    slots = [
        Slot(("messages", 0, "content"), "New case: Anna Kowalczyk wants to cancel."),
        Slot(("messages", 1, "content"), "What reason did anna give?"),
        Slot(("messages", 2, "content"), "KOWALCZYK says the price went up; write to kowalczyk."),
    ]
    found = propagate(slots, [Finding(0, 10, 24, "PERSON", 0.85)])
    assert _values(slots, found) == [(0, "Anna Kowalczyk"), (1, "anna"), (2, "KOWALCZYK"), (2, "kowalczyk")]
    assert all(f.recognizer == "propagated" for f in found[1:])


def test_an_email_local_part_names_the_person_when_the_text_writes_the_name() -> None:
    slots = [Slot(("m",), "mail o.adeyemi@uclh.org and tell Adeyemi the results")]
    found = propagate(slots, [Finding(0, 5, 23, "EMAIL_ADDRESS", 1.0)])
    assert _values(slots, found) == [(0, "Adeyemi"), (0, "o.adeyemi@uclh.org")]


def test_weak_findings_and_common_words_do_not_spread() -> None:
    slots = [Slot(("m",), "Will Green said: green light, will do. Zofia Nowak too, zofia.")]
    weak = Finding(0, 0, 10, "PERSON", 0.3)
    common = Finding(0, 0, 10, "PERSON", 0.85)
    assert propagate(slots, [weak]) == [weak]
    assert propagate(slots, [common]) == [common]  # "will" and "green" are words before they are names


def test_the_live_proxy_replaces_a_surname_in_a_later_turn_and_restores_it(
    proxy: RunningProxy, vendor: MockVendor
) -> None:
    """Through the real pipeline with the OpenAI SDK: the vendor never reads the surname the
    second turn uses alone, and the client gets it back in the answer."""
    reply = proxy.client().chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "user", "content": "New case: Zofia Wiśniewska wants to cancel the contract."},
            {"role": "assistant", "content": "Understood."},
            {"role": "user", "content": "Draft a retention offer for Wiśniewska."},
        ],
    )
    sent = json.dumps(vendor.last["messages"], ensure_ascii=False)
    assert "Wiśniewska" not in sent and "Zofia" not in sent
    assert vendor.last["messages"][2]["content"] == "Draft a retention offer for <PERSON_2>."
    assert "Wiśniewska" in (reply.choices[0].message.content or "")


def test_a_mention_another_entity_type_claims_is_still_marked_as_the_person() -> None:
    slots = [Slot(("a",), "Client Marie Lebrun called."), Slot(("b",), "Lebrun wants a refund.")]
    location = Finding(1, 0, 6, "LOCATION", 0.85)
    found = propagate(slots, [Finding(0, 7, 19, "PERSON", 0.85), location])
    assert Finding(1, 0, 6, "PERSON", 0.85, "propagated") in found and location in found
