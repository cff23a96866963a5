"""Socket.IO events of the trace feature."""

from __future__ import annotations

from pydantic import BaseModel

# client -> server: a signed-in buyer asks for their cold-chain notices live
SUBSCRIBE = "trace:subscribe"
# server -> client (the buyer's own room)
BREACH_NOTICE = "trace:breach_notice"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


class BreachNotice(BaseModel):
    notice_id: int
    order_id: int
    gtin: str
    lot: str
    product: str
    message: str
    offer: str
    message_en: str
    offer_en: str
    trace_url: str
    breach_at: str
