"""Sensor readings over MQTT: one topic per device, `<prefix>/sensors/<device id>/readings`.

Payload (JSON): {"token": "<device token>", "t": "<ISO time>" | <epoch seconds>,
"temperature": 3.1, "humidity": 80, "soil_moisture": 32.5} (any of the three). Every message is
validated at the edge; a refused one is logged and dropped, nothing else stops. With several nodes,
a shared subscription hands each message to one node.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiomqtt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..domain.errors import DomainError
from ..features.sensor_hub import SensorHub

logger = logging.getLogger(__name__)


class MqttReading(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(default="", max_length=100)
    t: datetime | float | None = None
    temperature: float | None = None
    humidity: float | None = None
    soil_moisture: float | None = None

    def values(self) -> dict[str, float]:
        return {k: v for k, v in (("temperature", self.temperature), ("humidity", self.humidity),
                                  ("soil_moisture", self.soil_moisture)) if v is not None}

    def time(self) -> datetime | None:
        if self.t is None:
            return None
        if isinstance(self.t, datetime):
            return self.t if self.t.tzinfo else self.t.replace(tzinfo=UTC)
        return datetime.fromtimestamp(self.t, UTC)


def broker(url: str) -> tuple[str, int, str | None, str | None]:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp"):
        raise ValueError("FIELDCAST_MQTT_URL must look like mqtt://host:1883")
    return parts.hostname or "127.0.0.1", parts.port or 1883, parts.username, parts.password


def topic_filter(prefix: str, shared: bool) -> str:
    base = f"{prefix}/sensors/+/readings"
    return f"$share/fieldcast/{base}" if shared else base


class MqttBridge:
    def __init__(self, hub: SensorHub, url: str, prefix: str, shared: bool = False) -> None:
        self.hub = hub
        self.url = url
        self.prefix = prefix
        self.shared = shared
        self.received = 0
        self.refused = 0
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        host, port, user, password = broker(self.url)
        delay = 1.0
        while True:
            try:
                async with aiomqtt.Client(host, port, username=user, password=password,
                                          max_queued_incoming_messages=100_000) as client:
                    await client.subscribe(topic_filter(self.prefix, self.shared), qos=1)
                    self.connected.set()
                    delay = 1.0
                    logger.info("MQTT bridge subscribed on %s:%d", host, port)
                    async for message in client.messages:
                        await self.handle(str(message.topic), message.payload)
            except asyncio.CancelledError:
                raise
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                logger.warning("MQTT connection lost (%s); reconnecting in %.0fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def handle(self, topic: str, payload: object) -> None:
        self.received += 1
        parts = topic.split("/")
        if len(parts) < 4 or parts[-1] != "readings" or parts[-3] != "sensors":
            return
        device_id = parts[-2]
        try:
            if not isinstance(payload, (bytes, bytearray)):
                raise ValueError("payload is not bytes")  # noqa: TRY004 (reported like any bad body)
            body = MqttReading.model_validate_json(payload)
            await self.hub.ingest(device_id, body.token, body.time(), body.values())
        except (ValidationError, ValueError) as exc:
            self.refused += 1
            logger.warning("MQTT reading refused: malformed payload (%s)", str(exc).splitlines()[0][:200],
                           extra={"device": device_id[:40]})
        except DomainError as exc:
            self.refused += 1
            logger.warning("MQTT reading refused: %s", exc.message, extra={"device": device_id[:40], "error": exc.code})


async def publish(url: str, topic: str, payloads: AsyncIterator[bytes] | list[bytes]) -> None:
    """Publish readings (used by the bench and tests as a device would)."""
    host, port, user, password = broker(url)
    async with aiomqtt.Client(host, port, username=user, password=password) as client:
        if isinstance(payloads, list):
            for p in payloads:
                await client.publish(topic, p, qos=1)
        else:
            async for p in payloads:
                await client.publish(topic, p, qos=1)
