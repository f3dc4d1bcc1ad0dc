"""`POST /v1/feedback`: a score, label or comment on an answer, by its `X-Proxy-Request-Id`.

ML teams pick training examples by what users thought of the answers (Langfuse scores, LangSmith
feedback, Helicone feedback); `export --min-score/--label` reads what this endpoint keeps. A key
may rate only its own team's requests: another team's request id is answered as unknown, so ids
cannot be probed across teams.
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime

import anyio
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import Engine, insert, select

from proxy.body import receive
from proxy.errors import BadRequest, NotFound
from proxy.store.tables import feedback, requests

FEEDBACK_BYTES = 64 * 1024  # a comment of 4,000 characters and the other fields fit many times over
RECORD_WAITS, RECORD_WAIT_SECONDS = 20, 0.1  # up to two seconds for the record of a just-answered request


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=40)
    score: float | None = None  # any scale the team uses (thumbs: 1 / 0, stars: 1-5)
    label: str | None = Field(None, min_length=1, max_length=100)
    comment: str | None = Field(None, max_length=4000)

    @model_validator(mode="after")
    def _check(self) -> FeedbackIn:
        if self.score is None and self.label is None and self.comment is None:
            raise ValueError("give a score, a label or a comment")
        if self.score is not None and not math.isfinite(self.score):
            raise ValueError("score must be a finite number")
        return self


async def post_feedback(request: Request) -> JSONResponse:
    """Attach feedback to one of the caller's team's requests."""
    services = request.app.state.services
    caller = await services.keys.authenticate(request.headers, request.client.host if request.client else None)
    given = _parse(await receive(request, FEEDBACK_BYTES, services.config.server.body_timeout))
    recorder = services.recorder
    for _ in range(RECORD_WAITS):  # feedback can arrive before the record is written: wait a little, never long
        if await anyio.to_thread.run_sync(_recorded, recorder.engine, given.request_id):
            break
        await asyncio.sleep(RECORD_WAIT_SECONDS)
    feedback_id = await anyio.to_thread.run_sync(_store, recorder.engine, given, caller.team, caller.key_name)
    return JSONResponse({"object": "feedback", "id": feedback_id, "request_id": given.request_id})


def _parse(body: bytes) -> FeedbackIn:
    try:
        return FeedbackIn.model_validate(json.loads(body or b"null"))
    except ValueError as exc:  # JSON or validation: name the field, never echo its value
        errors = exc.errors() if isinstance(exc, ValidationError) else []
        where = ".".join(str(part) for part in errors[0]["loc"]) if errors and errors[0]["loc"] else "body"
        reason = errors[0]["msg"] if errors else "the body must be a JSON object"
        raise BadRequest(f"Invalid feedback ({where}): {reason}.") from None


def _recorded(engine: Engine, request_id: str) -> bool:
    with engine.connect() as connection:
        return connection.execute(select(requests.c.id).where(requests.c.id == request_id)).first() is not None


def _store(engine: Engine, given: FeedbackIn, team: str, key_name: str) -> int:
    with engine.begin() as connection:
        owner = connection.execute(select(requests.c.team).where(requests.c.id == given.request_id)).first()
        if owner is None or owner[0] != team:
            raise NotFound("No request with this id was recorded for this key's team.")
        row = given.model_dump(exclude={"request_id"})
        result = connection.execute(
            insert(feedback).values(request_id=given.request_id, created_at=datetime.now(UTC), key_name=key_name, **row)
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]
