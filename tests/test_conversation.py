"""A 10-turn conversation whose client resends its whole history every turn, on every surface:
the same pseudonyms every turn (the forwarded history of turn N-1 is a byte prefix of turn N's),
and every answer restored, streamed and not."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from .conftest import RunningProxy
from .mock_vendor import MockVendor

SYSTEM = "You are the assistant of Peter Parker (peter@dailybugle.com). Be brief."
TOOL_CALL = {"name": "Harry Osborn"}
TOOL_RESULT = "Found Harry Osborn, harry@oscorp.com, booked for Friday."
TURNS = [
    "Hi, please draft a note to Mary Jane Watson.",
    "Her address is mj.watson@example.org, use it.",
    "What is a good subject line?",
    "Copy Ned Leeds at ned.leeds@example.net as well.",
    "Now confirm the booking.",  # a tool call and its result come just before this message
    "Tell Harry Osborn the booking stands.",
    "Thanks. Keep it under fifty words.",
    "Add that Mary Jane Watson will join too.",
    "Sign it from May Parker.",
    "Send the final version to ned.leeds@example.net.",
]
PLACEHOLDER = re.compile(r"<?[A-Z_]+_\d+>?")
TOOL_TURN = 4  # before this turn's user message, the history holds a tool call and its result


class Chat:
    """OpenAI chat: the system prompt, user and assistant messages, a tool call and its result."""

    key = "messages"

    def __init__(self) -> None:
        self.history: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}]

    def ask(self, proxy: RunningProxy, text: str, stream: bool) -> str:
        if len(self.history) == 1 + 2 * TOOL_TURN:
            call = {
                "id": "call_1",
                "type": "function",
                "function": {"name": "lookup", "arguments": json.dumps(TOOL_CALL)},
            }
            self.history += [
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_1", "content": TOOL_RESULT},
            ]
        self.history.append({"role": "user", "content": text})
        client = proxy.client()
        if stream:
            chunks = client.chat.completions.create(model="gpt-4o", messages=self.history, stream=True)  # type: ignore[arg-type]
            answer = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            reply = client.chat.completions.create(model="gpt-4o", messages=self.history)  # type: ignore[arg-type]
            answer = reply.choices[0].message.content or ""
        self.history.append({"role": "assistant", "content": answer})
        return answer


class Responses:
    """OpenAI Responses: instructions, input items, a function call and its output."""

    key = "input"

    def __init__(self) -> None:
        self.history: list[dict[str, Any]] = []

    def ask(self, proxy: RunningProxy, text: str, stream: bool) -> str:
        if len(self.history) == 2 * TOOL_TURN:
            self.history += [
                {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": json.dumps(TOOL_CALL)},
                {"type": "function_call_output", "call_id": "c1", "output": TOOL_RESULT},
            ]
        self.history.append({"role": "user", "content": text})
        client = proxy.client()
        if stream:
            events = client.responses.create(model="gpt-4o", instructions=SYSTEM, input=self.history, stream=True)  # type: ignore[arg-type]
            answer = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        else:
            answer = client.responses.create(model="gpt-4o", instructions=SYSTEM, input=self.history).output_text  # type: ignore[arg-type]
        self.history.append({"role": "assistant", "content": answer})
        return answer


class Anthropic:
    """Anthropic messages: system, alternating turns, a tool_use block and its tool_result."""

    key = "messages"

    def __init__(self) -> None:
        self.history: list[dict[str, Any]] = []

    def ask(self, proxy: RunningProxy, text: str, stream: bool) -> str:
        content: Any = text
        if len(self.history) == 2 * TOOL_TURN:
            use = {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": TOOL_CALL}
            self.history.append({"role": "assistant", "content": [use]})
            content = [{"type": "tool_result", "tool_use_id": "toolu_1", "content": TOOL_RESULT}]
            content.append({"type": "text", "text": text})
        self.history.append({"role": "user", "content": content})
        client = proxy.anthropic()
        kwargs: dict[str, Any] = {"model": "claude-proxy-test", "max_tokens": 300, "system": SYSTEM}
        if stream:
            events = client.messages.create(messages=self.history, stream=True, **kwargs)
            answer = "".join(
                e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta"
            )
        else:
            reply = client.messages.create(messages=self.history, **kwargs)
            answer = "".join(block.text for block in reply.content if block.type == "text")
        self.history.append({"role": "assistant", "content": answer})
        return answer


def _prefix(body: dict[str, Any], key: str) -> str:
    """The serialised history without its closing bracket: what the next turn must start with."""
    return json.dumps(body[key], ensure_ascii=False)[:-1]


@pytest.mark.parametrize("surface", [Chat, Responses, Anthropic], ids=["chat", "responses", "anthropic"])
def test_resent_history_is_forwarded_byte_identical_and_every_answer_restored(
    proxy: RunningProxy, vendor: MockVendor, surface: type[Chat | Responses | Anthropic]
) -> None:
    conversation = surface()
    vendor.script.chunk_chars = 4
    previous: dict[str, Any] | None = None
    for turn, text in enumerate(TURNS):
        answer = conversation.ask(proxy, text, stream=turn % 2 == 1)
        received = vendor.received[-1]
        forwarded = received.raw.decode()
        for value in ("Peter Parker", "peter@dailybugle.com", "Mary Jane", "Harry Osborn", "ned.leeds", "May Parker"):
            assert value not in forwarded, (turn, value)
        assert text in answer and not PLACEHOLDER.search(answer), (turn, answer)
        if previous is not None:
            assert _prefix(received.body, conversation.key).startswith(_prefix(previous, conversation.key)), turn
            assert _prefix(previous, conversation.key) in forwarded  # as bytes on the wire, not only parsed
            for key in ("system", "instructions"):
                assert received.body.get(key) == previous.get(key)
        previous = received.body


def test_resent_prompt_of_the_completions_surface_keeps_its_prefix(proxy: RunningProxy, vendor: MockVendor) -> None:
    prompt, previous = SYSTEM + "\n", ""
    for turn, text in enumerate(TURNS):
        prompt += f"User: {text}\n"
        if turn % 2:
            chunks = proxy.client().completions.create(model="gpt-3.5-turbo-instruct", prompt=prompt, stream=True)
            answer = "".join(c.choices[0].text for c in chunks if c.choices)
        else:
            answer = proxy.client().completions.create(model="gpt-3.5-turbo-instruct", prompt=prompt).choices[0].text
        assert answer == prompt  # the mock echoes the prompt: every value restored
        forwarded = vendor.last["prompt"]
        assert "Peter Parker" not in forwarded and forwarded.startswith(previous)
        prompt, previous = prompt + "Assistant: ok\n", forwarded
