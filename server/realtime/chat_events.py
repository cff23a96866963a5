"""Chat over Socket.IO: event names, payload models and the shapes that go out.

Every client event is acknowledged (use `socket.emit(name, payload, ack)` / `sio.call`). A refusal is
`{"error": code, "message": text}`, plus `"retry_after": seconds` when waiting will help. Payloads
are validated (unknown fields refused: `invalid_input`); `room` is a room id.

Anyone (signed in or not)
  chat:join      {room}                       -> {ok, room, messages: [Message] (oldest first, the
                                                  last 50), slow_mode_s, max_chars, me: {signed_in,
                                                  user_id, role, can_moderate, restriction}}
                 Enters the room's broadcast (as `join` does). `restriction` is null or
                 {kind: "ban"|"timeout", until: ISO|null}.
  chat:history   {room, before_id?, limit?<=100} -> {ok, messages: [Message]}   (older messages)

Signed-in users (anonymous viewers read only: `unauthorized`)
  chat:send      {room, text}                 -> {ok, message: Message}
                 Refusals: not_joined (send chat:join first), empty_message, message_too_long,
                 rate_limited + retry_after (5 messages at once, refilled over 10 s; moderators,
                 hosts and operators are exempt), slow_mode + retry_after, blocked_word,
                 timed_out + retry_after, banned, unavailable (not stored: send again).
                 The ack comes once the message is stored; everyone in the room (the sender too)
                 then gets it in `chat:messages`.

Moderators, hosts and operators (anyone else: `forbidden`)
  chat:remove    {room, id, reason?}          -> {ok, ids}            everyone gets chat:removed
  chat:timeout   {room, user_id | message_id, minutes (1..10080), reason?} -> {ok, sanction: Sanction}
  chat:ban       {room, user_id | message_id, reason?} -> {ok, sanction: Sanction, removed: [id]}
                 A ban holds in every room and removes the person's messages in this one; both tie
                 to the account, the device and the IP address (staff cannot be sanctioned).
  chat:unban     {room, user_id}              -> {ok, lifted: [Sanction]}  (bans, and timeouts here)
  chat:slow_mode {room, seconds (0 = off, ..600)} -> {ok, slow_mode_s}     everyone gets chat:mode
  chat:filter    {room, words: [str] (<=500)} -> {ok, words, global_words} replaces the room's list
  chat:settings  {room}                       -> {ok, slow_mode_s, words, global_words}
  chat:sanctions {room}                       -> {ok, sanctions: [Sanction]}  (in force here)
  chat:modlog    {room, before_id?, limit?<=200} -> {ok, entries: [LogEntry]} (newest first; also
                 GET /api/rooms/{room}/moderation-log?limit=&before=)

Server -> everyone in the room
  chat:messages  {room, messages: [Message]}  messages accepted in one short window, in order
  chat:removed   {room, ids: [int]}           drop these messages
  chat:mode      {room, slow_mode_s}
  chat:sanctioned {room, kind, user_id, nickname, until}   someone was timed out / banned
  chat:lifted    {room, user_ids: [int]}

Message  {id, room, user_id, nickname, role, community, text, at}      (text is plain text: render
         it as text, never as markup)
Sanction {id, kind, room, user_id, nickname, reason, by, at, until}
LogEntry {id, room, action (remove|timeout|ban|unban|slow_mode|filter), actor_id, actor, target_user_id,
          target, message_ids, detail, at}
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..domain.voice.chat import ChatMessage
from ..domain.voice.moderation import ModerationEntry
from ..domain.voice.sanctions import Sanction

# client -> server
CHAT_JOIN = "chat:join"
CHAT_HISTORY = "chat:history"
CHAT_SEND = "chat:send"
CHAT_REMOVE = "chat:remove"
CHAT_TIMEOUT = "chat:timeout"
CHAT_BAN = "chat:ban"
CHAT_UNBAN = "chat:unban"
CHAT_SLOW_MODE = "chat:slow_mode"
CHAT_FILTER = "chat:filter"
CHAT_SETTINGS = "chat:settings"
CHAT_SANCTIONS = "chat:sanctions"
CHAT_MODLOG = "chat:modlog"
# server -> clients
CHAT_MESSAGES = "chat:messages"
CHAT_REMOVED = "chat:removed"
CHAT_MODE = "chat:mode"
CHAT_SANCTIONED = "chat:sanctioned"
CHAT_LIFTED = "chat:lifted"

MODERATOR_EVENTS = (
    CHAT_REMOVE, CHAT_TIMEOUT, CHAT_BAN, CHAT_UNBAN, CHAT_SLOW_MODE, CHAT_FILTER, CHAT_SETTINGS,
    CHAT_SANCTIONS, CHAT_MODLOG,
)

_ROOM = Field(min_length=2, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]+$")
_ID = Field(ge=1, le=2**63 - 1)
_REASON = Field(default="", max_length=500)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")
    room: str = _ROOM


class RoomPayload(_In):
    pass


class HistoryPayload(_In):
    before_id: int | None = Field(default=None, ge=1)
    limit: int = Field(default=50, ge=1, le=100)


class SendPayload(_In):
    # Generous here so an over-long message gets the specific message_too_long from the domain.
    text: str = Field(max_length=4000)


class RemovePayload(_In):
    id: int = _ID
    reason: str = _REASON


class _Targeted(_In):
    user_id: int | None = Field(default=None, ge=1)
    message_id: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_target(self) -> _Targeted:
        if (self.user_id is None) == (self.message_id is None):
            raise ValueError("give exactly one of user_id or message_id")
        return self


class TimeoutPayload(_Targeted):
    minutes: int = Field(ge=1, le=7 * 24 * 60)
    reason: str = _REASON


class BanPayload(_Targeted):
    reason: str = _REASON


class UnbanPayload(_In):
    user_id: int = _ID


class SlowModePayload(_In):
    seconds: int = Field(ge=0, le=600)


class FilterPayload(_In):
    words: list[str] = Field(max_length=500)


class ModlogPayload(_In):
    before_id: int | None = Field(default=None, ge=1)
    limit: int = Field(default=50, ge=1, le=200)


# -- what goes out -------------------------------------------------------------------------------


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def message_public(m: ChatMessage) -> dict[str, Any]:
    """A message as clients see it: never the device or IP address it came from."""
    return {
        "id": m.id, "room": m.room_id, "user_id": m.user_id, "nickname": m.nickname, "role": m.role.value,
        "community": m.community, "text": m.text, "at": iso(m.created_at),
    }


def sanction_public(s: Sanction) -> dict[str, Any]:
    return {
        "id": s.id, "kind": s.kind.value, "room": s.room_id, "user_id": s.user_id, "nickname": s.nickname,
        "reason": s.reason, "by": s.created_by, "at": iso(s.created_at), "until": iso(s.expires_at),
    }


def entry_public(e: ModerationEntry) -> dict[str, Any]:
    return {
        "id": e.id, "room": e.room_id, "action": e.action.value, "actor_id": e.actor_id, "actor": e.actor_name,
        "target_user_id": e.target_user_id, "target": e.target_name, "message_ids": list(e.message_ids),
        "detail": e.detail, "at": iso(e.created_at),
    }
