"""Socket.IO event names and payload models, in one place."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# client -> server
JOIN = "join"
LEAVE = "leave"
# server -> client
PRESENCE = "presence"


class JoinPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    room: str = Field(min_length=2, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]+$")


class PresencePayload(BaseModel):
    room: str
    viewers: int
    live: bool  # on air: the host or the demo camera
    publishing: bool = False  # a host is publishing


def error_reply(code: str, message: str) -> dict[str, str]:
    return {"error": code, "message": message}
