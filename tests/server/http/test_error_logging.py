"""Refusals are logged: mistakes as warnings, ordinary outcomes (sold out) as information."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from server.domain.commerce.errors import SoldOut
from server.domain.errors import Conflict
from server.http.errors import error_middleware


async def test_sold_out_is_information_and_a_conflict_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    async def sold_out(_request: web.Request) -> web.Response:
        raise SoldOut("all gone")

    async def conflict(_request: web.Request) -> web.Response:
        raise Conflict("taken by someone else")

    app = web.Application(middlewares=[error_middleware])
    app.router.add_post("/sold-out", sold_out)
    app.router.add_post("/conflict", conflict)
    async with TestClient(TestServer(app)) as client:
        with caplog.at_level(logging.INFO, logger="server.http.errors"):
            a = await client.post("/sold-out")
            assert (a.status, (await a.json())["error"]) == (409, "sold_out")
            b = await client.post("/conflict")
            assert (b.status, (await b.json())["error"]) == (409, "conflict")
    levels = {r.getMessage().split(" refused")[0]: r.levelno for r in caplog.records if "refused" in r.getMessage()}
    assert levels == {"POST /sold-out": logging.INFO, "POST /conflict": logging.WARNING}
