"""Chat fan-out: one room, 2,000 Socket.IO viewers, one server node.

A real server runs in a child process (SQLite, like the embedded default). The viewers are
separate Socket.IO connections (each its own websocket, Engine.IO session and namespace connection)
from bench/sio_lite.py, a lean client, in `Size.viewer_procs` worker processes, one event loop each: on a
2-core machine the viewers share the cores with the server, and a full python-socketio client per
viewer spent more CPU receiving than the server spent sending. The senders are python-socketio
clients of signed-in accounts in this process. Every message carries its send time
(time.monotonic is CLOCK_MONOTONIC, one clock for all processes on the machine), and a viewer's
latency is the moment its handler runs minus that: the server's checks, the database commit, the
fan-out and the viewer's own decoding are all inside it.

  chat_fanout_p50_ms / _p99_ms  one message at a time in a quiet room, over every (message, viewer)
  chat_msgs_per_s               the highest offered rate (for `Size.load_s` seconds) that was accepted in
                                full, reached every viewer, and kept p99 under 1 s
  chat_in_per_s                 at that rate, messages accepted over the time from the first send
                                to the last acknowledgement (a little under the offered rate: the
                                last acknowledgement comes after the last send)
  chat_load_p99_ms              p99 latency at that rate (a sample of the viewers)
  chat_server_cpu               the server's CPU seconds per second at that rate
  chat_server_cpu_wait          seconds per second the server was ready to run but waiting for a
                                core (/proc/<pid>/schedstat): how much of the machine it got
  chat_msgs_per_s_no_window, chat_window_gain
                                the peer: the same server with the batching window off
                                (FIELDCAST_CHAT_BATCH_MS=0, _US_PER_VIEWER=0: each emit leaves as
                                soon as the previous one is out, carrying what came meanwhile), and
                                the ratio. A literal emit per message is not run: at ~0.1 ms of CPU
                                per viewer per emit it tops out near 5 messages/s at 2,000 viewers.

The senders' accounts are ordinary viewers; the rate limit is raised for them through the
settings (it still runs on every message). Knobs: BENCH_CHAT_VIEWERS, BENCH_CHAT_PROCS,
BENCH_CHAT_RATES (offered rates, tried in turn until one is not sustained) and
BENCH_CHAT_US_PER_VIEWER (the server's fan-out window per viewer).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
import orjson
import psutil
import socketio

from .server_proc import ServerProcess, start_server
from .sio_lite import LiteClient

ROOM = "bench"
P99_LIMIT_S = 1.0
CONNECT_BATCH = 100


@dataclass(frozen=True)
class Size:
    viewers: int
    viewer_procs: int
    senders: int
    fanout_messages: int
    fanout_gap_s: float
    rates: tuple[int, ...]  # offered messages a second, tried in turn until one is not sustained
    load_s: float
    load_sample_every: int  # latency from every n-th viewer under load (counts from all of them)


FULL = Size(
    viewers=int(os.environ.get("BENCH_CHAT_VIEWERS", "2000")), viewer_procs=int(os.environ.get("BENCH_CHAT_PROCS", "2")),
    senders=20, fanout_messages=30,
    # Longer than the fan-out window at 2,000 viewers (0.5 s): each message finds the room quiet.
    fanout_gap_s=1.0,
    rates=tuple(int(r) for r in os.environ.get("BENCH_CHAT_RATES", "250,500,750,1000").split(",")),
    load_s=8.0, load_sample_every=20,
)
SMOKE = Size(viewers=20, viewer_procs=1, senders=2, fanout_messages=3, fanout_gap_s=0.2, rates=(20,), load_s=1.0,
             load_sample_every=1)
POSITIVE = ("chat_viewers", "chat_fanout_p50_ms", "chat_fanout_p99_ms", "chat_msgs_per_s", "chat_in_per_s",
            "chat_msgs_per_s_no_window")


def _runqueue_wait(pid: int) -> float:
    """Seconds this process has spent runnable but waiting for a CPU (all its threads)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total / 1e9


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- viewer worker processes ---------------------------------------------------------------------


def _worker(conn: Connection, base: str, count: int) -> None:
    asyncio.run(_viewers(conn, base, count))


async def _viewers(conn: Connection, base: str, count: int) -> None:
    loop = asyncio.get_running_loop()
    counts = [0] * count
    latencies: list[float] = []
    sample = [1]

    def handler(i: int) -> Any:
        def on_messages(body: str, now: float) -> None:
            # `now` is the loop's clock: time.monotonic, the senders' clock.
            if i % sample[0] == 0:
                messages = orjson.loads(body)[1]["messages"]
                counts[i] += len(messages)
                # The shortcut below, checked against the decoded count on every sampled batch.
                assert body.count('"id":') == len(messages), "messages counted wrongly without decoding"
                for m in messages:
                    text = m["text"]
                    latencies.append(now - float(text[: text.index(" ")]))
            else:
                # The others count without decoding: every message has one "id" key, and in JSON
                # that sequence cannot occur anywhere else (a quote inside a string is escaped).
                counts[i] += body.count('"id":')

        return on_messages

    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    clients: list[LiteClient] = []

    async def connect(i: int) -> None:
        client = LiteClient(http, base)
        client.raw_handlers["chat:messages"] = handler(i)
        await client.connect()
        reply = await client.call("chat:join", {"room": ROOM}, timeout=60)
        assert reply.get("ok"), reply
        clients.append(client)

    started = time.monotonic()
    for first in range(0, count, CONNECT_BATCH):
        await asyncio.gather(*(connect(i) for i in range(first, min(count, first + CONNECT_BATCH))))
    conn.send(("ready", len(clients), time.monotonic() - started))
    me = psutil.Process()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command[0] == "reset":
            sample[0] = command[1]
            counts[:] = [0] * count
            latencies.clear()
            t = me.cpu_times()
            conn.send(("ok", t.user + t.system))
        elif command[0] == "counts":
            conn.send(("counts", min(counts), max(counts)))
        elif command[0] == "report":
            t = me.cpu_times()
            conn.send(("report", list(counts), list(latencies), t.user + t.system))
        elif command[0] == "stop":
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
            await http.close()
            conn.send(("stopped",))
            return


@dataclass
class Worker:
    proc: Any
    conn: Connection

    def ask(self, *command: Any) -> Any:
        self.conn.send(command)
        return self.conn.recv()


class Viewers:
    def __init__(self, base: str, total: int, procs: int) -> None:
        ctx = mp.get_context("spawn")
        self.workers: list[Worker] = []
        per = [total // procs + (1 if i < total % procs else 0) for i in range(procs)]
        for n in per:
            here, there = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(there, base, n), daemon=True)
            proc.start()
            self.workers.append(Worker(proc, here))
        ready = [w.conn.recv() for w in self.workers]
        self.connected = sum(r[1] for r in ready)
        self.connect_s = max(r[2] for r in ready)

    async def ask_all(self, *command: Any) -> list[Any]:
        loop = asyncio.get_running_loop()
        return list(await asyncio.gather(*(loop.run_in_executor(None, w.ask, *command) for w in self.workers)))

    async def wait_all_received(self, expected: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while True:
            low = min(r[1] for r in await self.ask_all("counts"))
            if low >= expected or time.monotonic() > deadline:
                return int(low)
            await asyncio.sleep(0.25)

    def stop(self) -> None:
        for w in self.workers:
            try:
                w.ask("stop")
            except (EOFError, OSError):
                pass
            w.proc.join(10)


# -- senders (this process) ----------------------------------------------------------------------


async def _senders(http: aiohttp.ClientSession, base: str, n: int) -> list[socketio.AsyncClient]:
    senders = []
    for i in range(n):
        async with http.post(f"{base}/api/auth/register", json={
            "identifier": f"sender{i}-{os.getpid()}@example.com", "password": "bench-pass-1", "nickname": f"买家{i}",
        }) as resp:
            assert resp.status == 202, await resp.text()
        async with http.post(f"{base}/api/auth/login", json={
            "identifier": f"sender{i}-{os.getpid()}@example.com", "password": "bench-pass-1",
        }) as resp:
            assert resp.status == 200, await resp.text()
            cookie = resp.cookies["fc_session"].value
        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(base, headers={"Cookie": f"fc_session={cookie}"}, transports=["websocket"])
        assert (await sio.call("chat:join", {"room": ROOM}))["ok"]
        senders.append(sio)
    return senders


async def _fanout(senders: list[socketio.AsyncClient], viewers: Viewers, size: Size) -> tuple[float, float, int]:
    await viewers.ask_all("reset", 1)
    for k in range(size.fanout_messages):
        reply = await senders[k % len(senders)].call(
            "chat:send", {"room": ROOM, "text": f"{time.monotonic():.6f} 今天的番茄真甜 🍅 #{k}"}, timeout=30
        )
        assert reply.get("ok"), reply
        await asyncio.sleep(size.fanout_gap_s)
    low = await viewers.wait_all_received(size.fanout_messages, 10)
    latencies = [x for r in await viewers.ask_all("report") for x in r[2]]
    return _p(latencies, 0.50), _p(latencies, 0.99), low


@dataclass
class Load:
    rate: int
    accepted: int
    refused: int
    in_per_s: float
    delivered_min: int
    p50_s: float
    p99_s: float
    server_cpu: float
    server_wait: float
    client_cpu: float

    @property
    def sustained(self) -> bool:
        return self.refused == 0 and self.delivered_min >= self.accepted and self.p99_s <= P99_LIMIT_S


async def _load(senders: list[socketio.AsyncClient], viewers: Viewers, rate: int, server: psutil.Process,
                size: Size) -> Load:
    client_cpu0 = sum(r[1] for r in await viewers.ask_all("reset", size.load_sample_every))
    total = int(rate * size.load_s)
    accepted = refused = 0
    last_ack = 0.0

    async def one(k: int) -> None:
        nonlocal accepted, refused, last_ack
        text = f"{time.monotonic():.6f} 还有货吗？想要两箱 #{k}"
        try:
            reply = await senders[k % len(senders)].call("chat:send", {"room": ROOM, "text": text}, timeout=60)
        except socketio.exceptions.TimeoutError:
            reply = {"error": "timeout"}
        if reply.get("ok"):
            accepted += 1
            last_ack = time.monotonic()
        else:
            refused += 1

    cpu = server.cpu_times()
    server_cpu0 = cpu.user + cpu.system
    wait0 = _runqueue_wait(server.pid)
    start = time.monotonic() + 0.1
    tasks = []
    for k in range(total):
        delay = start + k / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(k)))
    await asyncio.gather(*tasks)
    cpu = server.cpu_times()
    server_cpu = (cpu.user + cpu.system - server_cpu0) / (time.monotonic() - start)
    server_wait = (_runqueue_wait(server.pid) - wait0) / (time.monotonic() - start)
    low = await viewers.wait_all_received(accepted, 15)
    reports = await viewers.ask_all("report")
    latencies = [x for r in reports for x in r[2]]
    client_cpu = (sum(r[3] for r in reports) - client_cpu0) / (time.monotonic() - start)
    return Load(
        rate, accepted, refused, accepted / max(1e-9, last_ack - start), low,
        _p(latencies, 0.5), _p(latencies, 0.99), server_cpu, server_wait, client_cpu,
    )


async def _run(server: ServerProcess, fanout: bool, size: Size) -> tuple[tuple[float, float, int] | None, list[Load], Viewers]:
    viewers = Viewers(server.base, size.viewers, size.viewer_procs)
    print(f"  {viewers.connected} viewers connected in {viewers.connect_s:.1f} s", file=sys.stderr)
    async with aiohttp.ClientSession() as http:
        senders = await _senders(http, server.base, size.senders)
        try:
            result = await _fanout(senders, viewers, size) if fanout else None
            if result:
                print(f"  fan-out p50 {result[0] * 1000:.0f} ms p99 {result[1] * 1000:.0f} ms", file=sys.stderr)
            loads = []
            proc = psutil.Process(server.proc.pid)
            for rate in size.rates:
                load = await _load(senders, viewers, rate, proc, size)
                loads.append(load)
                print(
                    f"  offered {rate}/s: accepted {load.accepted} refused {load.refused} in {load.in_per_s:.0f}/s, "
                    f"every viewer got >= {load.delivered_min}, p50 {load.p50_s * 1000:.0f} ms "
                    f"p99 {load.p99_s * 1000:.0f} ms, server {load.server_cpu:.2f} cpu-s/s "
                    f"(+{load.server_wait:.2f} s/s waiting for a core), "
                    f"viewer processes {load.client_cpu:.2f} cpu-s/s",
                    file=sys.stderr,
                )
                if not load.sustained:
                    break
                await asyncio.sleep(2)
        finally:
            await asyncio.gather(*(s.disconnect() for s in senders), return_exceptions=True)
    return result, loads, viewers


def _best(loads: list[Load]) -> Load | None:
    good = [load for load in loads if load.sustained]
    return max(good, key=lambda load: load.rate) if good else None


def _measure(batch_ms: int, fanout: bool, size: Size) -> tuple[tuple[float, float, int] | None, list[Load]]:
    server, _ = start_server([(ROOM, [])], {
        "FIELDCAST_CHAT_RATE_MESSAGES": "1000000",
        "FIELDCAST_CHAT_RATE_WINDOW_S": "1",
        "FIELDCAST_CHAT_BATCH_MS": str(batch_ms),
        # The peer (batch_ms 0) also drops the part of the window that grows with the audience.
        **({"FIELDCAST_CHAT_BATCH_US_PER_VIEWER": os.environ.get("BENCH_CHAT_US_PER_VIEWER", "50")}
           if batch_ms else {"FIELDCAST_CHAT_BATCH_US_PER_VIEWER": "0"}),
        "FIELDCAST_LOG_LEVEL": "ERROR",
    })
    viewers: Viewers | None = None
    try:
        async def go() -> tuple[tuple[float, float, int] | None, list[Load]]:
            nonlocal viewers
            result, loads, viewers = await _run(server, fanout, size)
            return result, loads

        return asyncio.run(go())
    finally:
        if viewers is not None:
            viewers.stop()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks the path works")
    size = SMOKE if parser.parse_args().smoke else FULL
    print(f"  {size.viewers} viewers in {size.viewer_procs} processes, {size.senders} senders; batched fan-out; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", file=sys.stderr)
    fanout, loads = _measure(100, fanout=True, size=size)
    assert fanout is not None
    best = _best(loads)
    print(f"chat_viewers: {size.viewers}")
    print(f"chat_fanout_p50_ms: {fanout[0] * 1000:.0f}")
    print(f"chat_fanout_p99_ms: {fanout[1] * 1000:.0f}")
    print(f"chat_msgs_per_s: {best.rate}" if best else f"chat_msgs_per_s: 0  # below {size.rates[0]}/s")
    if best:
        print(f"chat_in_per_s: {best.in_per_s:.0f}")
        print(f"chat_load_p99_ms: {best.p99_s * 1000:.0f}")
        print(f"chat_server_cpu: {best.server_cpu:.2f}")
        print(f"chat_server_cpu_wait: {best.server_wait:.2f}")
    print("  peer: no batching window", file=sys.stderr)
    _, peer_loads = _measure(0, fanout=False, size=size)
    peer = _best(peer_loads)
    print(f"chat_msgs_per_s_no_window: {peer.rate}" if peer else
          f"chat_msgs_per_s_no_window: 0  # below {size.rates[0]}/s")
    if best and peer:
        print(f"chat_window_gain: {best.rate / peer.rate:.2f}")


if __name__ == "__main__":
    main()
