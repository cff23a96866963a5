"""The moderator console against a real server process, driven from this (the bench) process.

    mod_console_ready_ms        page load -> every panel's snapshot shown, in a busy room (median)
    mod_chat_to_console_p50_ms  a viewer's chat message (sent over Socket.IO) -> its row in the console
    mod_chat_to_console_p95_ms
    viewer_chat_p95_ms          the same messages -> the viewer page's chat panel (the peer)
    mod_vs_viewer_p95_ratio     console p95 / viewer page p95: the console keeps up with the room

Clocks: the sender stamps Date-compatible wall-clock milliseconds; both pages record Date.now() when
the message's element is added (one machine, one clock).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import socketio

from .server_proc import ServerProcess, start_server

ROOM = "farm"
GAP_S = 0.15


@dataclass(frozen=True)
class Size:
    viewers: int
    seed_messages: int
    questions: int
    messages: int  # measured, spaced out
    refill_s: float  # the chat's burst allowance (five a viewer) refills before the measured ones
    reloads: int


FULL = Size(viewers=20, seed_messages=100, questions=40, messages=40, refill_s=10.0, reloads=5)
# Two seeded and two measured messages a viewer stay inside the burst allowance: no refill wait.
SMOKE = Size(viewers=3, seed_messages=6, questions=3, messages=6, refill_s=0.0, reloads=1)
POSITIVE = ("mod_console_ready_ms", "mod_chat_to_console_p95_ms", "viewer_chat_p95_ms", "mod_vs_viewer_p95_ratio")
PASSWORD = "tomato-2026"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Records when each chat row (console: li.msg, viewer page: .chat-msg) enters the page.
WATCH = """() => {
  window.__seen = {};
  new MutationObserver((records) => {
    const now = Date.now();
    for (const r of records) for (const n of r.addedNodes) {
      if (n.nodeType === 1 && n.dataset && n.dataset.id && (n.classList.contains('msg') || n.classList.contains('chat-msg'))) {
        if (!(n.dataset.id in window.__seen)) window.__seen[n.dataset.id] = now;
      }
    }
  }).observe(document.body, { childList: true, subtree: true });
}"""


class Viewer:
    def __init__(self, http: aiohttp.ClientSession, sio: socketio.AsyncClient) -> None:
        self.http = http
        self.sio = sio

    async def call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        reply: dict[str, Any] = await self.sio.call(event, data, timeout=15)
        return reply


async def _viewer(base: str, n: int) -> Viewer:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # unsafe: cookies for an IP host
    resp = await http.post(f"{base}/api/auth/register", json={
        "identifier": f"viewer{n}@example.com", "password": PASSWORD, "nickname": f"邻居{n}"})
    assert resp.status == 202, await resp.text()
    resp = await http.post(f"{base}/api/auth/login", json={"identifier": f"viewer{n}@example.com", "password": PASSWORD})
    assert resp.status == 200, await resp.text()
    cookie = "; ".join(f"{c.key}={c.value}" for c in http.cookie_jar)
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(base, headers={"Cookie": cookie}, transports=["websocket"])
    v = Viewer(http, sio)
    assert (await v.call("chat:join", {"room": ROOM})).get("ok")
    return v


async def _seed(viewers: list[Viewer], size: Size) -> None:
    for i in range(size.seed_messages):
        reply = await viewers[i % len(viewers)].call("chat:send", {"room": ROOM, "text": f"第{i}条：番茄今天甜吗？🍅"})
        assert reply.get("ok"), reply
    for i in range(size.questions):
        asker = viewers[i % len(viewers)]
        reply = await asker.call("qa:ask", {"room": ROOM, "text": f"问题{i}：{'发货' if i % 2 else '包装'}需要几天？第{i}批"})
        assert reply.get("ok"), reply
        # A few votes each, from different people (one account may only vote so fast).
        for k in range(i % 5):
            voter = viewers[(i + 1 + k) % len(viewers)]
            await voter.call("qa:vote", {"question_id": reply["question"]["id"]})


def p95(xs: list[float]) -> float:
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


def _moderator(server: ServerProcess) -> None:
    subprocess.run(
        [sys.executable, "-m", "server", "user", "create", "mod@example.com", "--role", "moderator",
         "--room", ROOM, "--nickname", "审核员", "--password", PASSWORD],
        env=server.env, check=True, capture_output=True,
    )


async def _run(server: ServerProcess, size: Size) -> dict[str, float]:
    base = server.base
    viewers: list[Viewer] = []
    try:
        for n in range(size.viewers):
            viewers.append(await _viewer(base, n))
        await _seed(viewers, size)
        await asyncio.sleep(size.refill_s)
        return await _measure(base, viewers, size)
    finally:
        for v in viewers:
            await v.sio.disconnect()
            await v.http.close()


async def _measure(base: str, viewers: list[Viewer], size: Size) -> dict[str, float]:
    from playwright.async_api import async_playwright

    out: dict[str, float] = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        mod_ctx = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        resp = await mod_ctx.request.post(f"{base}/api/auth/login", data={"identifier": "mod@example.com", "password": PASSWORD})
        assert resp.status == 200, await resp.text()
        console = await mod_ctx.new_page()
        ready: list[float] = []
        for _ in range(size.reloads):
            started = time.perf_counter()
            await console.goto(f"{base}/mod/{ROOM}")
            await console.wait_for_function("window.fieldcastMod && window.fieldcastMod.state === 'ready'", timeout=30000)
            ready.append((time.perf_counter() - started) * 1000)
        out["mod_console_ready_ms"] = statistics.median(ready)

        viewer_ctx = await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page = await viewer_ctx.new_page()
        await page.goto(f"{base}/r/{ROOM}")
        await page.click("#tab-chat")
        await page.wait_for_selector(".chat-msg", timeout=15000)
        for p in (console, page):
            await p.evaluate(WATCH)

        sent: dict[int, float] = {}
        for i in range(size.messages):
            v = viewers[i % len(viewers)]
            at = time.time() * 1000
            reply = await v.call("chat:send", {"room": ROOM, "text": f"测量{i}"})
            assert reply.get("ok"), reply
            sent[int(reply["message"]["id"])] = at
            await asyncio.sleep(GAP_S)
        shown = [str(i) for i in sent]
        for p in (console, page):  # every message on both pages (or the check below names them)
            await p.wait_for_function("ids => ids.every((i) => i in window.__seen)", arg=shown, timeout=15000)

        def delays(seen: dict[str, float]) -> list[float]:
            missing = [i for i in sent if str(i) not in seen]
            assert not missing, f"never shown: {missing}"
            return sorted(seen[str(i)] - at for i, at in sent.items())

        mod = delays(await console.evaluate("window.__seen"))
        peer = delays(await page.evaluate("window.__seen"))
        out["mod_chat_to_console_p50_ms"] = statistics.median(mod)
        out["mod_chat_to_console_p95_ms"] = p95(mod)
        out["viewer_chat_p95_ms"] = p95(peer)
        out["mod_vs_viewer_p95_ratio"] = p95(mod) / max(p95(peer), 1e-9)
        await browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks the path works")
    size = SMOKE if parser.parse_args().smoke else FULL
    server, _ = start_server([(ROOM, [])])
    try:
        _moderator(server)
        figures = asyncio.run(_run(server, size))
    finally:
        server.stop()
    for name, value in figures.items():
        print(f"{name}: {value:.2f}" if "ratio" in name else f"{name}: {value:.0f}")


if __name__ == "__main__":
    main()
