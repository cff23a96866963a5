"""Q&A: question latency, a vote burst, suggested answers over a brand's history, the card render.

A real server (child process, SQLite) runs a room; this process connects real Socket.IO clients
signed in over HTTP: `Size.viewers` viewers and a moderator. It measures
  - ask -> moderator's queue (qa:mod:question) and ask -> the room (qa:question), one at a time;
  - every viewer upvoting one question at the same moment: time to the last ack, and the count;
  - qa:suggest round trips with `Size.history` answered questions of the brand in the database (seeded
    from paraphrase templates of what farms are asked);
  - top-1 accuracy of the suggestions on held-out paraphrases, and the same lookup done the naive
    way (difflib ratio against every stored question, in this process) as the peer;
  - rendering the Q&A card (Pillow + conversion to YUV), which happens once per pin.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import itertools
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import socketio

from .server_proc import start_server

ROOM = "bench"


@dataclass(frozen=True)
class Size:
    viewers: int
    history: int  # answered questions of the brand in the database
    queries: int


FULL = Size(viewers=30, history=2000, queries=60)
SMOKE = Size(viewers=3, history=200, queries=6)
POSITIVE = ("qa_ask_to_*_ms_p50", "qa_vote_burst_*_ms", "qa_vote_burst_counted_exactly", "qa_suggest_roundtrip_ms_p50_*",
            "qa_suggest_top1_accuracy", "qa_index_build_ms_*", "qa_suggest_speedup_vs_difflib", "qa_card_render_ms_720x1280")

PRODUCTS = [
    ("番茄", "tomatoes"), ("土豆", "potatoes"), ("鸡蛋", "eggs"), ("玉米", "corn"), ("苹果", "apples"),
    ("橙子", "oranges"), ("草莓", "strawberries"), ("蜂蜜", "honey"), ("大米", "rice"), ("黄瓜", "cucumbers"),
    ("茄子", "eggplants"), ("辣椒", "peppers"), ("南瓜", "pumpkins"), ("红薯", "sweet potatoes"),
    ("猕猴桃", "kiwis"), ("葡萄", "grapes"), ("西瓜", "watermelons"), ("桃子", "peaches"), ("梨", "pears"),
    ("蓝莓", "blueberries"),
]
INTENTS = {
    "ship": ["{p}什么时候发货", "{p}哪天能发货", "{p}几号发出", "When will the {e} ship?"],
    "price": ["{p}多少钱一斤", "{p}什么价", "{p}价格是多少", "How much are the {e}?"],
    "shelf": ["{p}能放多久", "{p}能放几天", "{p}保质期多长"],
    "store": ["{p}怎么保存", "{p}如何保存比较好", "{p}怎么储存"],
    "pesticide": ["{p}打农药吗", "{p}有没有打药", "{p}喷药了吗", "Do you spray pesticides on the {e}?"],
    "organic": ["{p}是有机的吗", "{p}有机认证吗", "Are the {e} organic?"],
    "weight": ["{p}一箱几斤", "{p}一箱多重", "{p}一箱多少斤"],
    "origin": ["{p}产地是哪里", "{p}是哪里产的", "{p}产自哪个省"],
    "bad": ["{p}收到坏了怎么办", "{p}烂了能赔吗", "{p}破损包赔吗"],
    "taste": ["{p}甜不甜", "{p}好吃吗", "{p}口感怎么样"],
}
PREFIXES = ["", "", "请问", "主播", "想问下", "老板，", "你好，"]
SUFFIXES = ["", "？", "?", "呀", "啊", "呢"]
CONTEXT = ["我在广州，", "上次买的很好，", "", "给家里老人买，", "第一次买，"]


@dataclass(frozen=True)
class Labelled:
    text: str
    label: tuple[str, str]  # (product, intent)


def phrase(rng: random.Random, product: tuple[str, str], intent: str, *, context: bool = False) -> str:
    template = rng.choice(INTENTS[intent])
    core = template.format(p=product[0], e=product[1])
    return (rng.choice(CONTEXT) if context else "") + rng.choice(PREFIXES) + core + rng.choice(SUFFIXES)


def history(rng: random.Random, count: int) -> list[Labelled]:
    combos = list(itertools.product(PRODUCTS, INTENTS))
    return [Labelled(phrase(rng, p, i), (p[0], i)) for p, i in (combos[n % len(combos)] for n in range(count))]


def queries(rng: random.Random, count: int) -> list[Labelled]:
    out = []
    for _ in range(count):
        p, i = rng.choice(PRODUCTS), rng.choice(list(INTENTS))
        out.append(Labelled(phrase(rng, p, i, context=True), (p[0], i)))
    return out


# -- the server's side ------------------------------------------------------------------------


async def seed(db_path: Path, docs: list[Labelled]) -> dict[int, tuple[str, str]]:
    """Answered questions of the brand, from earlier sessions, written straight to the database."""
    from server.domain.accounts.roles import Role
    from server.domain.accounts.users import User
    from server.domain.voice.qa import Question
    from server.persistence.accounts import SqlUserRepository
    from server.persistence.db import Database
    from server.persistence.voice_qa import SqlQuestionRepository

    db = Database(f"sqlite:///{db_path}")
    try:
        asker = await SqlUserRepository(db).add(User(None, "history@example.com", "老顾客", Role.VIEWER, None, datetime.now(UTC)))
        assert asker.id is not None
        repo = SqlQuestionRepository(db)
        labels = {}
        start = datetime.now(UTC) - timedelta(days=30)
        for n, doc in enumerate(docs):
            at = start + timedelta(minutes=n)
            q = await repo.add(Question(
                None, "bench-earlier", "brand:青禾农场", asker.id, "老顾客", doc.text, at,
                answer=f"{doc.label[0]}·{doc.label[1]} 的回答", answered_at=at, updated_at=at,
            ))
            assert q.id is not None
            labels[q.id] = doc.label
        return labels
    finally:
        await db.close()


async def sign_in(http: aiohttp.ClientSession, base: str, identifier: str, *, register: bool) -> str:
    body = {"identifier": identifier, "password": "bench-pass-2026"}
    if register:  # answered alike for new and known identifiers, with no session: sign in next
        async with http.post(f"{base}/api/auth/register", json=body) as resp:
            assert resp.status == 202, await resp.text()
    async with http.post(f"{base}/api/auth/login", json=body) as resp:
        assert resp.status == 200, await resp.text()
        return resp.cookies["fc_session"].value


async def connect(base: str, cookie: str | None) -> socketio.AsyncClient:
    sio = socketio.AsyncClient()
    headers = {"Cookie": f"fc_session={cookie}"} if cookie else {}
    await sio.connect(base, headers=headers, transports=["websocket"], wait_timeout=15)
    return sio


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _run(base: str, env: dict[str, str], db_path: Path, size: Size) -> dict[str, float]:
    rng = random.Random(20260611)
    docs = history(rng, size.history)
    held_out = queries(rng, size.queries)
    labels = await seed(db_path, docs)
    figures: dict[str, float] = {}

    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server", "user", "create", "mod@example.com", "--role", "moderator",
         "--room", ROOM, "--password", "bench-pass-2026", "--nickname", "场控"],
        env=env, check=True, capture_output=True,
    )
    async with aiohttp.ClientSession() as http:
        mod_cookie = await sign_in(http, base, "mod@example.com", register=False)
        viewer_cookies = await asyncio.gather(
            *(sign_in(http, base, f"1380000{i:04d}", register=True) for i in range(size.viewers))
        )
    moderator = await connect(base, mod_cookie)
    room = await connect(base, None)
    viewers = await asyncio.gather(*(connect(base, c) for c in viewer_cookies))
    arrived: dict[str, dict[str, float]] = {"mod": {}, "room": {}}
    moderator.on("qa:mod:question", lambda d: arrived["mod"].setdefault(d["text"], time.perf_counter()))
    room.on("qa:question", lambda d: arrived["room"].setdefault(d["text"], time.perf_counter()))
    try:
        for sio in (moderator, room, *viewers):
            ack = await sio.call("qa:subscribe", {"room": ROOM}, timeout=30)
            assert ack.get("ok"), ack

        # Ask -> queue, one at a time so each figure is a latency, not a queue.
        to_mod, to_room = [], []
        for i, viewer in enumerate(viewers):
            text = f"第{i}个问题：番茄今天能发货吗"
            sent = time.perf_counter()
            ack = await viewer.call("qa:ask", {"room": ROOM, "text": text}, timeout=30)
            assert ack.get("ok"), ack
            deadline = time.monotonic() + 10
            while text not in arrived["mod"] or text not in arrived["room"]:
                assert time.monotonic() < deadline, "a question never arrived"
                await asyncio.sleep(0.001)
            to_mod.append((arrived["mod"][text] - sent) * 1000)
            to_room.append((arrived["room"][text] - sent) * 1000)
        figures["qa_ask_to_moderator_ms_p50"] = statistics.median(to_mod)
        figures["qa_ask_to_moderator_ms_p95"] = pct(to_mod, 0.95)
        figures["qa_ask_to_room_ms_p50"] = statistics.median(to_room)

        # Everyone upvotes the first viewer's question at once (the first viewer may not).
        target = (await viewers[0].call("qa:ask", {"room": ROOM, "text": "大家都想知道：有机认证吗"}, timeout=30))["question"]["id"]
        voters = viewers[1:]
        started = time.perf_counter()
        acks = await asyncio.gather(*(v.call("qa:vote", {"question_id": target}, timeout=60) for v in voters))
        burst = time.perf_counter() - started
        assert all(a.get("ok") for a in acks), acks
        listed = await room.call("qa:list", {"room": ROOM}, timeout=30)
        counted = next(q["votes"] for q in listed["questions"] if q["id"] == target)
        figures[f"qa_vote_burst_{len(voters)}_ms"] = burst * 1000
        figures["qa_vote_burst_counted_exactly"] = float(counted == len(voters))

        # Suggested answers: held-out paraphrases asked in the live room, looked up by the moderator.
        asked = []
        for n, query in enumerate(held_out):
            viewer = viewers[n % len(viewers)]
            ack = await viewer.call("qa:ask", {"room": ROOM, "text": query.text}, timeout=30)
            assert ack.get("ok"), ack
            asked.append((ack["question"]["id"], query))
        times, hits = [], 0
        for qid, query in asked:
            sent = time.perf_counter()
            reply = await moderator.call("qa:suggest", {"question_id": qid}, timeout=60)
            times.append((time.perf_counter() - sent) * 1000)
            best = reply["suggestions"][0]["question_id"] if reply.get("suggestions") else None
            hits += best is not None and labels.get(best) == query.label
        figures[f"qa_suggest_roundtrip_ms_p50_{size.history}"] = statistics.median(times)
        figures[f"qa_suggest_roundtrip_ms_p95_{size.history}"] = pct(times, 0.95)
        figures["qa_suggest_top1_accuracy"] = hits / len(asked)
    finally:
        for sio in (moderator, room, *viewers):
            await sio.disconnect()

    # The same lookups in this process: the index against the naive peer.
    from server.domain.voice.similarity import DEFAULT_THRESHOLD, SimilarityIndex

    index = SimilarityIndex()
    stored = list(enumerate(docs))
    build = time.perf_counter()
    for n, doc in stored:
        index.add(n, doc.text)
    figures[f"qa_index_build_ms_{size.history}"] = (time.perf_counter() - build) * 1000
    ours, naive, naive_hits = [], [], 0
    for query in held_out:
        t0 = time.perf_counter()
        index.query(query.text, threshold=DEFAULT_THRESHOLD)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        matcher = difflib.SequenceMatcher(b=query.text, autojunk=False)
        best_n, best_score = -1, -1.0
        for n, doc in stored:
            matcher.set_seq1(doc.text)
            score = matcher.ratio()
            if score > best_score:
                best_n, best_score = n, score
        naive.append(time.perf_counter() - t0)
        naive_hits += docs[best_n].label == query.label
    figures["qa_suggest_index_ms"] = statistics.median(ours) * 1000
    figures["qa_suggest_difflib_ms"] = statistics.median(naive) * 1000
    figures["qa_suggest_speedup_vs_difflib"] = statistics.median(naive) / statistics.median(ours)
    figures["qa_suggest_difflib_top1_accuracy"] = naive_hits / len(held_out)
    return figures


def card_render_ms() -> float:
    from overlay.layers.qa_card import QaCard, QaCardState

    state = QaCardState("番茄什么时候发货？能发顺丰冷链吗？我在广州", "今天下午4点前下单当天发货，顺丰冷链次日达，坏果包赔。", "小番茄")
    samples = []
    for i in range(12):
        layer = QaCard("qa", QaCardState(state.question + str(i), state.answer, state.asker))
        t0 = time.perf_counter()
        layer.sprite((720, 1280))
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples[2:]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks the path works")
    size = SMOKE if parser.parse_args().smoke else FULL
    server, _keys = start_server([(ROOM, [])])  # brand 青禾农场, as the seeded history
    try:
        db_path = Path(server.env["FIELDCAST_DATABASE_URL"].removeprefix("sqlite:///"))
        figures = asyncio.run(_run(server.base, server.env, db_path, size))
    finally:
        server.stop()
    figures["qa_card_render_ms_720x1280"] = card_render_ms()
    for name, value in figures.items():
        print(f"{name}: {value:.3f}" if value < 100 else f"{name}: {value:.1f}", flush=True)


if __name__ == "__main__":
    main()
