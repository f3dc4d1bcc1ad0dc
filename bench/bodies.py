"""Request bodies for the benchmark: the same shape every time (a ~1.5 KB, six-message support
conversation with names, an e-mail address and a phone number), different values every time
(Faker), so no cache, ours or anyone's, sees a text twice unless a run resends it on purpose."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from faker import Faker

MODEL = "gpt-4o-mini"

SYSTEM = (
    "You are a friendly customer-support assistant for {company}. Answer politely and concisely, never "
    "ask for a full card number, and when you escalate, say that a human agent will follow up by e-mail "
    "within one business day."
)
USER_TURNS = [
    "Hi, my name is {name} and I have been a customer for {years} years. My internet connection drops "
    "every evening since last {weekday}, usually around {hour} pm, and restarting the router only helps "
    "for a few minutes. Can you help me?",
    "Sure, it is {email} and my phone number is {phone}. The account might be under my partner's name, {partner}.",
    "Great, thanks. Please send the summary to {email} and let {partner} know as well. Is there anything "
    "I should do before the line test tonight?",
    "One more thing: my neighbour {neighbour} at {street} has the same problem since {weekday}. Should "
    "{neighbour_first} call you on {phone2} or open a ticket online?",
    "Also, the invoice from {month} charged me twice. The second charge came from {company} billing, "
    "reference {ticket2}; please refund it to the card ending {card4}.",
    "Thanks {agent}, that's all for today. If the line test finds nothing, can a technician visit on "
    "{weekday2} morning? I work from home at {street}.",
]
ASSISTANT_TURNS = [
    "I'm sorry to hear that, {first}. Evening drops are often caused by congestion or a faulty line. "
    "Could you confirm the e-mail address and phone number on the account so I can open a ticket?",
    "Thank you. I found the account under {partner}, with you as an authorised user. I have opened "
    "ticket {ticket} and scheduled a line test for tonight; a technician may call {phone} if anything "
    "needs checking on site.",
    "Nothing is needed before the test, {first}; just leave the router on. I have sent the summary to "
    "{email} and copied {partner}. My name is {agent} if you need to refer to this chat.",
    "{neighbour_first} is welcome to call {phone2}; mentioning ticket {ticket} will let the technician "
    "check both lines in one visit to {street}.",
    "I can see the duplicate charge of {amount} from {month}. The refund to the card ending {card4} is "
    "on its way and should arrive within five business days.",
    "Of course. A technician can visit {street} on {weekday2} between 8 and 12; you will get a text on "
    "{phone} the evening before.",
]


@dataclass
class Persona:
    """The values one conversation talks about."""

    values: dict[str, str]

    @classmethod
    def fake(cls, fake: Faker, rng: random.Random) -> Persona:
        name, partner, neighbour = fake.name(), fake.name(), fake.name()
        return cls(
            {
                "company": fake.company(),
                "name": name,
                "first": name.split()[0],
                "partner": partner,
                "neighbour": neighbour,
                "neighbour_first": neighbour.split()[0],
                "agent": fake.first_name(),
                "email": fake.free_email(),
                "phone": _phone(rng),
                "phone2": _phone(rng),
                "street": fake.street_address(),
                "years": str(rng.randint(2, 15)),
                "weekday": fake.day_of_week(),
                "weekday2": fake.day_of_week(),
                "hour": str(rng.randint(6, 10)),
                "month": fake.month_name(),
                "ticket": str(rng.randint(10000, 99999)),
                "ticket2": f"INV-{rng.randint(100000, 999999)}",
                "card4": f"{rng.randint(0, 9999):04d}",
                "amount": f"${rng.randint(20, 90)}.{rng.randint(0, 99):02d}",
            }
        )

    def system(self) -> str:
        return SYSTEM.format(**self.values)

    def user(self, turn: int) -> str:
        return USER_TURNS[turn % len(USER_TURNS)].format(**self.values)

    def assistant(self, turn: int) -> str:
        return ASSISTANT_TURNS[turn % len(ASSISTANT_TURNS)].format(**self.values)

    def conversation(self, turns: int) -> list[dict[str, str]]:
        """System prompt, then `turns` user messages with the assistant's replies between them."""
        messages = [{"role": "system", "content": self.system()}]
        for turn in range(turns):
            if turn:
                messages.append({"role": "assistant", "content": self.assistant(turn - 1)})
            messages.append({"role": "user", "content": self.user(turn)})
        return messages


def _phone(rng: random.Random) -> str:
    return f"({rng.randint(201, 989)}) 555-{rng.randint(100, 199):04d}"


class Bodies:
    """A seeded source of varied request bodies."""

    def __init__(self, seed: int = 2026) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)

    def persona(self) -> Persona:
        return Persona.fake(self.fake, self.rng)

    def chat(self, stream: bool, turns: int = 3) -> bytes:
        """The six-message body (three turns: system, user, assistant, user, assistant, user)."""
        return encode(self.persona().conversation(turns), stream)


def encode(messages: list[dict[str, str]], stream: bool) -> bytes:
    body: dict[str, Any] = {"model": MODEL, "messages": messages, "temperature": 0.2, "max_tokens": 300}
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


def last_message(body: bytes) -> str:
    """What the mock vendor answers: it echoes the last message."""
    return str(json.loads(body)["messages"][-1]["content"])
