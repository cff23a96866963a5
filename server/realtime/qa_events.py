"""Q&A over Socket.IO: event names, payload models and the shapes that go out.

Who may call what
    anyone (anonymous too)          qa:subscribe, qa:list with status public/open/answered
    signed-in accounts              qa:ask, qa:vote
    moderators, hosts, operators    qa:answer, qa:hide, qa:pin, qa:unpin, qa:suggest,
                                    qa:list with status hidden/all
Hosts and moderators only in the rooms they hold a grant for (the room of the question named);
operators everywhere. Elsewhere they are viewers.
A refused or invalid call is answered (the ack) with {"error": code, "message": text}; codes:
forbidden, sign_in_required, invalid_input, text_empty, text_too_long, not_found,
question_not_found, own_question, duplicate_question, too_many_open, not_answered, question_hidden,
rate_limited (asks and votes faster than a person taps; moderators are not limited).

Client -> server (payload -> ack)
    qa:subscribe {room}
        -> {ok, room, questions: [Question], pinned: Question|null, voted: [id], mine: [id],
            signed_in: bool, moderator: bool}
        The public queue, the caller's own votes and questions, and the pinned card. Also joins the
        room's broadcasts (as `join` does), the caller's personal channel (qa:answered) and, for
        moderators, the moderation channel (qa:mod:question, qa:suggestions).
    qa:list {room, status: "public"|"open"|"answered"|"hidden"|"all" = "public"}
        -> {ok, room, status, questions: [Question]}
        Moderators get ModQuestion entries; open ones carry their `suggestions`.
    qa:ask {room, text}                      -> {ok, question: Question}
        text: 1-300 characters after cleaning (one line; control and bidi-override characters go).
    qa:vote {question_id, up: bool = true}   -> {ok, question_id, votes, voted}
        One vote per account; up=false retracts it; repeating either changes nothing.
        Not on one's own question.
    qa:answer {question_id, text, pin: bool = false} -> {ok, question: ModQuestion}
        text: 1-1000 characters. Answering again replaces the answer (and the pinned card's text).
        pin=true also pins it (answer and pin in one click).
    qa:hide {question_id, hidden: bool = true} -> {ok, question: ModQuestion, unpinned: bool}
        Hiding a pinned question takes its card off the stream.
    qa:pin {question_id}                     -> {ok, question: ModQuestion}
        Answered, visible questions only; replaces the room's pinned card (one per room).
    qa:unpin {room}                          -> {ok, unpinned: id|null}
    qa:suggest {question_id}                 -> {ok, question_id, suggestions: [Suggestion]}

Server -> client
    to the room ("room:<id>", everyone who joined or subscribed):
        qa:question  Question          a new or changed visible question (asked, answered, unhidden)
        qa:removed   {room, id}        a question left the public queue (hidden)
        qa:votes     {room, id, votes} a visible question's count changed
        qa:pinned    {room, question: Question|null}  the card on the stream changed (null: none)
    to the asker's connections:
        qa:answered  {room, question: Question}       your question was answered
    to the room's moderators (subscribed with a moderating role):
        qa:mod:question  ModQuestion   every change of any question, hidden ones included
        qa:suggestions   {room, question_id, suggestions: [Suggestion]}  for a new question,
                         when earlier answers of the same brand resemble it

Shapes
    Question     {id, room, text, asker, votes, status: "open"|"answered", answer: str|null,
                  created_at, answered_at: str|null}       (times are ISO 8601 UTC)
    ModQuestion  Question + {status may be "hidden", hidden, asker_id, answered_by: int|null,
                  suggestions?: [Suggestion]}
    Suggestion   {question_id, room, question, answer, score}  score: cosine 0-1, best first

Queues are sorted by votes (most first), then age (oldest first); a console applies the same order
to the live events.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# client -> server
SUBSCRIBE = "qa:subscribe"
LIST = "qa:list"
ASK = "qa:ask"
VOTE = "qa:vote"
ANSWER = "qa:answer"
HIDE = "qa:hide"
PIN = "qa:pin"
UNPIN = "qa:unpin"
SUGGEST = "qa:suggest"
# server -> client
QUESTION = "qa:question"
REMOVED = "qa:removed"
VOTES = "qa:votes"
PINNED = "qa:pinned"
ANSWERED = "qa:answered"
MOD_QUESTION = "qa:mod:question"
SUGGESTIONS = "qa:suggestions"

# Payload text bounds are loose on purpose: the domain cleans and counts, and says exactly what
# is wrong ("a question is at most 300 characters (this one has 2000)"); these only stop abuse.
_TEXT_CAP = 8000
_ROOM = Field(min_length=2, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]+$")


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RoomPayload(_Payload):
    room: str = _ROOM


class ListPayload(_Payload):
    room: str = _ROOM
    status: Literal["public", "open", "answered", "hidden", "all"] = "public"


class AskPayload(_Payload):
    room: str = _ROOM
    text: str = Field(max_length=_TEXT_CAP)


class QuestionRef(_Payload):
    question_id: int = Field(ge=1, le=2**53)


class VotePayload(QuestionRef):
    up: bool = True


class AnswerPayload(QuestionRef):
    text: str = Field(max_length=_TEXT_CAP)
    pin: bool = False


class HidePayload(QuestionRef):
    hidden: bool = True


# -- what goes out ------------------------------------------------------------------------------


class SuggestionOut(BaseModel):
    question_id: int
    room: str
    question: str
    answer: str
    score: float


class QuestionOut(BaseModel):
    id: int
    room: str
    text: str
    asker: str
    votes: int
    status: Literal["open", "answered", "hidden"]
    answer: str | None
    created_at: str
    answered_at: str | None


class ModQuestionOut(QuestionOut):
    hidden: bool
    asker_id: int
    answered_by: int | None
    suggestions: list[SuggestionOut] | None = None
