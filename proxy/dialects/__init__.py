"""Wire formats. A dialect knows where a vendor's body keeps its text and how its errors and
streams look, and nothing else: detection, policy and pseudonyms never appear here.

Adding a surface means one module implementing `Dialect` (and `Answers`, `Streams`, `Reads` for
what it supports: `proxy.dialects.protocols`) and one entry in `DIALECTS`: the app mounts its
`path`, upstreams of its `upstream_kinds` serve it, and the roles it plays are found here.
"""

from __future__ import annotations

from proxy.dialects.anthropic_count_tokens import AnthropicCountTokens
from proxy.dialects.anthropic_messages import AnthropicMessages
from proxy.dialects.openai_chat import OpenAIChat
from proxy.dialects.openai_completions import OpenAICompletions
from proxy.dialects.openai_embeddings import OpenAIEmbeddings
from proxy.dialects.openai_responses import OpenAIResponses
from proxy.dialects.protocols import Answers, Dialect, Reads, StreamDelta, StreamKey, Streams

__all__ = [
    "ANSWERS",
    "ANTHROPIC_ERRORS",
    "DIALECTS",
    "OPENAI_ERRORS",
    "READERS",
    "STREAMS",
    "Answers",
    "Dialect",
    "Reads",
    "StreamDelta",
    "StreamKey",
    "Streams",
]

DIALECTS: dict[str, Dialect] = {
    dialect.name: dialect
    for dialect in (
        OpenAIChat(),
        OpenAIResponses(),
        OpenAICompletions(),
        OpenAIEmbeddings(),
        AnthropicMessages(),
        AnthropicCountTokens(),
    )
}
# Each surface's roles, narrowed once here: a runtime Protocol check costs tens of microseconds.
#: surfaces whose answers hold text (restored, read by response rules)
ANSWERS: dict[str, Answers] = {name: d for name, d in DIALECTS.items() if isinstance(d, Answers)}
#: surfaces that stream; a `stream: true` sent to any other goes to the vendor as it came, answered whole
STREAMS: dict[str, Streams] = {name: d for name, d in DIALECTS.items() if isinstance(d, Streams)}
#: surfaces whose records hold a dialogue, read by the export
READERS: dict[str, Reads] = {name: d for name, d in DIALECTS.items() if isinstance(d, Reads)}
#: the shape of errors outside any dialect's route (unknown paths, the admin API)
OPENAI_ERRORS: Dialect = DIALECTS["openai-chat"]
ANTHROPIC_ERRORS: Dialect = DIALECTS["anthropic-messages"]
