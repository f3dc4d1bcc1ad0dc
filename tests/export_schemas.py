"""Strict pydantic models of each export format, written from the vendors' and LLaMA-Factory's docs,
not from our code: a line that validates here is one the trainer would accept."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _json_object(value: str) -> str:
    if not isinstance(json.loads(value), dict):
        raise ValueError("arguments must be a JSON object")
    return value


# OpenAI chat fine-tuning: https://platform.openai.com/docs/guides/supervised-fine-tuning


class OpenAIFunctionCall(Strict):
    name: str = Field(min_length=1)
    arguments: str  # a JSON document as a string, never an object

    _object = field_validator("arguments")(_json_object)


class OpenAIToolCall(Strict):
    id: str = Field(min_length=1)
    type: Literal["function"]
    function: OpenAIFunctionCall


class OpenAISystem(Strict):
    role: Literal["system"]
    content: str


class OpenAIUser(Strict):
    role: Literal["user"]
    content: str


class OpenAIAssistant(Strict):
    role: Literal["assistant"]
    content: str | None
    tool_calls: list[OpenAIToolCall] | None = None
    weight: Literal[0, 1] | None = None

    @model_validator(mode="after")
    def _says_something(self) -> OpenAIAssistant:
        assert self.content or self.tool_calls, "an assistant message needs content or tool calls"
        return self


class OpenAITool(Strict):
    role: Literal["tool"]
    tool_call_id: str
    content: str


OpenAIMessage = Annotated[OpenAISystem | OpenAIUser | OpenAIAssistant | OpenAITool, Field(discriminator="role")]


class OpenAIFunction(Strict):
    name: str
    description: str
    parameters: dict[str, Any]


class OpenAIToolDefinition(Strict):
    type: Literal["function"]
    function: OpenAIFunction


class OpenAILine(Strict):
    messages: list[OpenAIMessage] = Field(min_length=2)
    tools: list[OpenAIToolDefinition] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> OpenAILine:
        assert isinstance(self.messages[-1], OpenAIAssistant), "the last message is the assistant's"
        calls: set[str] = set()
        for message in self.messages:
            if isinstance(message, OpenAIAssistant):
                calls.update(call.id for call in message.tool_calls or [])
            if isinstance(message, OpenAITool):
                assert message.tool_call_id in calls, "a tool result answers an earlier call"
        return self


# Anthropic Messages: https://docs.anthropic.com/en/api/messages


class AnthropicText(Strict):
    type: Literal["text"]
    text: str = Field(min_length=1)


class AnthropicToolUse(Strict):
    type: Literal["tool_use"]
    id: str = Field(pattern=r"^[a-zA-Z0-9_-]+$")
    name: str
    input: dict[str, Any]


class AnthropicToolResult(Strict):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str


class AnthropicUser(Strict):
    role: Literal["user"]
    content: list[Annotated[AnthropicText | AnthropicToolResult, Field(discriminator="type")]] = Field(min_length=1)


class AnthropicAssistant(Strict):
    role: Literal["assistant"]
    content: list[Annotated[AnthropicText | AnthropicToolUse, Field(discriminator="type")]] = Field(min_length=1)


class AnthropicToolDefinition(Strict):
    name: str
    description: str
    input_schema: dict[str, Any]


class AnthropicLine(Strict):
    system: str | None = None
    messages: list[Annotated[AnthropicUser | AnthropicAssistant, Field(discriminator="role")]] = Field(min_length=2)
    tools: list[AnthropicToolDefinition] | None = None

    @model_validator(mode="after")
    def _alternates(self) -> AnthropicLine:
        roles = [m.role for m in self.messages]
        assert roles[0] == "user" and roles[-1] == "assistant", roles
        assert all(a != b for a, b in zip(roles, roles[1:], strict=False)), "roles must alternate"
        return self


# ShareGPT as LLaMA-Factory reads it: https://github.com/hiyouga/LLaMA-Factory/blob/main/data/README.md


class ShareGPTTurn(Strict):
    from_: Literal["human", "gpt", "function_call", "observation"] = Field(alias="from")
    value: str


class ShareGPTLine(Strict):
    conversations: list[ShareGPTTurn] = Field(min_length=2)
    system: str | None = None
    tools: str | None = None

    @model_validator(mode="after")
    def _alternates(self) -> ShareGPTLine:
        for index, turn in enumerate(self.conversations):
            expected = ("human", "observation") if index % 2 == 0 else ("gpt", "function_call")
            assert turn.from_ in expected, f"turn {index} is {turn.from_}"
            if turn.from_ == "function_call":
                json.loads(turn.value)
        assert self.conversations[-1].from_ in ("gpt", "function_call")
        if self.tools is not None:
            assert isinstance(json.loads(self.tools), list)
        return self


SCHEMAS: dict[str, type[BaseModel]] = {
    "openai-jsonl": OpenAILine,
    "anthropic-jsonl": AnthropicLine,
    "sharegpt": ShareGPTLine,
}
