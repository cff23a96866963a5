"""Garbage collection for a long-running server with thousands of live connections.

CPython's cyclic collector walks every tracked object in a full collection. With 2,000 Socket.IO
clients connected that is several hundred thousand objects, and measured here a full collection
took ~300 ms: the whole event loop stops meanwhile, so every claim and chat message in flight
waits. The collector ran ten of them during one flash-claim rush (3 s of a 5 s rush).

So, as large Python services do (Instagram's gc.freeze), once the app is up everything allocated
by start-up (modules, the app, caches) is moved out of the collector's sight, and the youngest
generation is collected every 50,000 allocations instead of every 700, which leaves fewer
survivors to promote into the generations that are expensive to walk. Cycles are still
collected; reference counting frees everything else at once as before.
"""

from __future__ import annotations

import gc

from aiohttp import web

YOUNG_THRESHOLD = 50_000
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 100


async def _freeze(_app: web.Application) -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)


def tune_gc(app: web.Application) -> None:
    """Freeze what start-up allocated, once the app has started, and collect less often."""
    app.on_startup.append(_freeze)
