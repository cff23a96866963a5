"""The trace page in real Chromium: it verifies the batch's records itself (WebCrypto SHA-256 and
Ed25519), and a record, leaf or checkpoint changed in the database shows as NOT verified."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from server.app import create_app
from server.domain.trace import merkle
from server.http.keys import DATABASE
from tests.conftest import make_settings
from tests.helpers import operator_token
from tests.server.domain.trace.test_event_hash import (
    EXAMPLE_NS,
    EXTENSIONS,
    EXTENSIONS_HASH,
    PERSISTENT,
    PERSISTENT_HASH,
    SENSORS,
    SENSORS_HASH,
    SINGLE,
    SINGLE_HASH,
    TRANSFORMATION,
    TRANSFORMATION_HASH,
)
from tests.trace_helpers import GTIN, LOT, capture, journey, register_batch

from .conftest import PHONE

pytestmark = [pytest.mark.browser]

SHOTS = Path(__file__).resolve().parents[2] / "bench" / "out"


@pytest.fixture
async def server(sqlite_url: str, aiohttp_server: Callable[..., Any]) -> TestServer:
    srv: TestServer = await aiohttp_server(create_app(make_settings(sqlite_url)))
    return srv


async def seeded(server: TestServer) -> TestClient:
    client = TestClient(server)
    await client.start_server()
    token = await operator_token(client)
    await register_batch(client, token)
    await capture(client, token, journey())
    return client


async def verdict_of(page: Any) -> dict[str, Any]:
    await page.wait_for_function("window.fieldcastTrace && window.fieldcastTrace.verdict", timeout=15000)
    return dict(await page.evaluate("window.fieldcastTrace.verdict"))


async def open_trace(browser: Any, server: TestServer, context: Any = None) -> Any:
    ctx = context or await browser.new_context(viewport=PHONE, locale="zh-CN")
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    await page.goto(str(server.make_url(f"/01/{GTIN}/10/{LOT}")))
    return page


async def test_the_trace_page_verifies_the_batch_in_the_browser(server: TestServer, browser: Any) -> None:
    client = await seeded(server)
    try:
        page = await open_trace(browser, server)
        verdict = await verdict_of(page)
        assert verdict["ok"], verdict["steps"]
        kinds = {s["step"] for s in verdict["steps"]}
        assert {"signature", "origin", "event", "inclusion"} <= kinds
        assert await page.get_attribute("#verify", "data-verified") == "yes"
        assert await page.locator("#timeline > li").count() == 5
        assert "已验证" in await page.text_content("#verify-title")
        assert "青禾农场 3号大棚" in await page.text_content("#timeline")
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / "trace-page.png"), full_page=True)
        assert page.errors == []
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("tamper", "step"),
    [
        ("UPDATE trace_events SET body = replace(body, '青禾农场 3号大棚', '别家农场') WHERE seq = 0", "event"),
        ("UPDATE trace_nodes SET hash = :zero WHERE id = 3", "inclusion"),
        ("UPDATE trace_checkpoints SET note = replace(note, '\n5\n', '\n4\n')", "signature"),
    ],
    ids=["event", "leaf", "checkpoint"],
)
async def test_a_record_changed_in_the_database_shows_not_verified(
    server: TestServer, browser: Any, tamper: str, step: str, sqlite_url: str, aiohttp_server: Callable[..., Any]
) -> None:
    client = await seeded(server)
    try:
        async with server.app[DATABASE].session() as s:
            await s.execute(text(tamper), {"zero": bytes(32)} if ":zero" in tamper else {})
            await s.commit()
        if step == "inclusion":
            # A running server proves from its copy of the tree, checked when it was loaded, so a
            # node changed underneath shows up to the server-side verifier at once and to the
            # page from the next start on: the copy is loaded from the tables again, found not to
            # add up, and the tables are served as they are.
            from server.http.trace_keys import TRACE

            verdict = await (await client.get(f"/api/trace/batches/{GTIN}/{LOT}/verify")).json()
            assert not verdict["verified"]
            server = await aiohttp_server(create_app(make_settings(sqlite_url)))
            await server.app[TRACE].log.loaded()
            assert server.app[TRACE].log.damaged
        page = await open_trace(browser, server)
        verdict = await verdict_of(page)
        assert not verdict["ok"]
        failed = [s for s in verdict["steps"] if not s["ok"]]
        assert failed[0]["step"] == step, failed
        assert await page.get_attribute("#verify", "data-verified") == "no"
        assert "验证未通过" in await page.text_content("#verify-title")
        if step == "event":
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "trace-page-tampered.png"), full_page=True)
    finally:
        await client.close()


async def test_a_rewritten_log_fails_consistency_with_the_checkpoint_seen_last_time(server: TestServer, browser: Any) -> None:
    client = await seeded(server)
    try:
        ctx = await browser.new_context(viewport=PHONE, locale="zh-CN")
        first = await verdict_of(await open_trace(browser, server, ctx))
        assert first["ok"]
        # The operator rewrites history: every stored event, node and checkpoint is replaced by a
        # consistent, freshly signed log in which entry 0 says something else.
        token = await operator_token(client)
        service = server.app[__import__("server.http.trace_keys", fromlist=["TRACE"]).TRACE]
        async with server.app[DATABASE].session() as s:
            for table in ("trace_event_batches", "trace_events", "trace_nodes", "trace_checkpoints", "trace_head"):
                await s.execute(text(f"DELETE FROM {table}"))
            await s.commit()
        events = journey()
        events[0]["fieldcast:place"] = "别家农场"
        await capture(client, token, events)
        await capture(client, token, [dict(events[1], bizStep="storing")])  # the log grew, too
        again = await verdict_of(await open_trace(browser, server, ctx))
        assert not again["ok"]
        failed = [s for s in again["steps"] if not s["ok"]]
        assert [s["step"] for s in failed] == ["consistency"], failed
        assert service is not None
    finally:
        await client.close()


async def test_browser_event_hash_and_proof_code_agree_with_the_server(server: TestServer, browser: Any) -> None:
    page = await browser.new_page()
    await page.goto(str(server.make_url("/static/trace.css")))
    cases = [(SINGLE, SINGLE_HASH), (EXTENSIONS, EXTENSIONS_HASH), (SENSORS, SENSORS_HASH),
             (PERSISTENT, PERSISTENT_HASH), (TRANSFORMATION, TRANSFORMATION_HASH)]
    got = await page.evaluate(
        """async ([cases, ns]) => {
            const m = await import('/static/js/epcis-hash.js');
            const out = [];
            for (const [event] of cases) out.push(await m.eventHashId(event, ns));
            return out;
        }""",
        [cases, EXAMPLE_NS],
    )
    assert got == [h for _, h in cases]

    # Inclusion and consistency proofs for every size 1..N, made by the server code, checked by the page's.
    n = 40
    data = [f"entry {i}".encode() for i in range(n)]
    nodes: dict[merkle.Key, bytes] = {}
    for i in range(n):
        nodes.update(merkle.append(i, {k: nodes[k] for k in merkle.frontier(i)}, [merkle.leaf_hash(data[i])]))
    b64 = lambda b: base64.b64encode(b).decode()
    inclusion = [
        [m, size, b64(data[m]), [b64(p) for p in merkle.assemble(merkle.inclusion_plan(m, size), nodes)], b64(merkle.root_from(size, nodes))]
        for size in range(1, n + 1) for m in range(size)
    ]
    consistency = [
        [old, size, b64(merkle.root_from(old, nodes)), b64(merkle.root_from(size, nodes)),
         [b64(p) for p in merkle.assemble(merkle.consistency_plan(old, size), nodes)]]
        for size in range(1, n + 1) for old in range(1, size + 1)
    ]
    result = await page.evaluate(
        """async ([inclusion, consistency]) => {
            const m = await import('/static/js/merkle.js');
            const d = m.fromBase64;
            let good = 0, bad = 0, badForged = 0;
            for (const [i, size, data, proof, root] of inclusion) {
                const leaf = await m.leafHash(d(data));
                if (await m.verifyInclusion(i, size, leaf, proof.map(d), d(root))) good++; else bad++;
                const forged = await m.leafHash(new TextEncoder().encode('forged'));
                if (await m.verifyInclusion(i, size, forged, proof.map(d), d(root))) badForged++;
            }
            let cgood = 0, cbad = 0;
            for (const [o, size, oldRoot, newRoot, proof] of consistency) {
                if (await m.verifyConsistency(o, size, d(oldRoot), d(newRoot), proof.map(d))) cgood++; else cbad++;
            }
            return [good, bad, badForged, cgood, cbad];
        }""",
        [inclusion, consistency],
    )
    assert result == [len(inclusion), 0, 0, len(consistency), 0]
    assert json.dumps(result)


async def test_farm_staff_record_a_step_with_a_photo_in_the_form(server: TestServer, browser: Any, tmp_path: Path) -> None:
    from PIL import Image

    from server.domain.accounts.roles import Role
    from server.http.keys import ACCOUNTS

    client = TestClient(server)
    await client.start_server()
    try:
        token = await operator_token(client)
        await register_batch(client, token)
        await server.app[ACCOUNTS].register("farmer@example.com", "tomato-2026", "老李", role=Role.HOST)
        ctx = await browser.new_context(viewport=PHONE, locale="zh-CN")
        resp = await ctx.request.post(str(server.make_url("/api/auth/login")),
                                      data={"identifier": "farmer@example.com", "password": "tomato-2026"})
        assert resp.ok
        photo = tmp_path / "harvest.png"
        Image.new("RGB", (640, 480), (200, 40, 40)).save(photo)
        page = await ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(str(server.make_url("/trace/capture")))
        await page.wait_for_function("document.querySelectorAll('#batch option').length > 0")
        await page.select_option("#step", "commissioning")
        await page.fill("#place", "3号大棚 <img src=x onerror=alert(1)>")
        await page.fill("#qty", "120")
        await page.set_input_files("#photos", str(photo))
        await page.click("#submit")
        await page.wait_for_function("document.getElementById('result').textContent.includes('ni:///sha-256')", timeout=15000)
        assert errors == []

        trace = await open_trace(browser, server, ctx)
        verdict = await verdict_of(trace)
        assert verdict["ok"], verdict["steps"]
        assert any(s["step"] == "photo" and s["ok"] for s in verdict["steps"])
        assert "3号大棚 <img src=x onerror=alert(1)>" in await trace.text_content("#timeline")
        assert await trace.locator("#timeline img").count() == 1
    finally:
        await client.close()
