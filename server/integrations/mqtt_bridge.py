"""Sensor readings over MQTT: one topic per device, `<prefix>/sensors/<device id>/readings`.

Payload (JSON): {"token": "<device token>", "t": "<ISO time>" | <epoch seconds>,
"temperature": 3.1, "humidity": 80, "soil_moisture": 32.5} (any of the three). Every message is
validated at the edge; a refused one is logged and dropped, nothing else stops. Messages come in
batches (whatever arrived together) and are acknowledged to the broker only once the readings
they carried are committed (the hub's group commit), on a persistent session: a reading the
broker has is either stored or sent again. With several nodes, a shared subscription hands each
message to one node.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiomqtt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..domain.errors import DomainError
from ..features.sensor_hub import SensorHub
from .mqtt_subscriber import Message, MqttProtocolError, MqttSubscriber

logger = logging.getLogger(__name__)

# How long the broker keeps this node's session (its subscription and unacknowledged messages)
# across a restart or a lost connection.
SESSION_EXPIRY_S = 3600


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


def client_id(prefix: str, port: int) -> str:
    """Stable for one node (host and port), so a restarted node resumes its own session."""
    digest = hashlib.sha256(f"{prefix}|{socket.gethostname()}|{port}".encode()).hexdigest()[:16]
    return f"fieldcast-{digest}"


class MqttBridge:
    def __init__(self, hub: SensorHub, url: str, prefix: str, shared: bool = False, *,
                 client: str | None = None, session_expiry: int = SESSION_EXPIRY_S) -> None:
        self.hub = hub
        self.url = url
        self.prefix = prefix
        self.shared = shared
        self.client_id = client or client_id(prefix, 0)
        self.session_expiry = session_expiry
        self.received = 0
        self.refused = 0
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.subscriber: MqttSubscriber | None = None  # the connection, while there is one

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        # Readings accepted but not yet stored are written by the hub's close; their messages
        # stay unacknowledged and come back on the next start, where they are refused as repeats.

    async def _run(self) -> None:
        host, port, user, password = broker(self.url)
        delay = 1.0
        while True:
            try:
                async with MqttSubscriber(host, port, self.client_id, username=user, password=password,
                                          session_expiry=self.session_expiry, clean_start=False) as subscriber:
                    await subscriber.subscribe(topic_filter(self.prefix, self.shared), qos=1)
                    self.subscriber = subscriber
                    self.connected.set()
                    delay = 1.0
                    logger.info("MQTT bridge subscribed on %s:%d (session resumed: %s)", host, port,
                                subscriber.session_present)
                    while True:
                        await self.handle_batch(subscriber, await subscriber.receive())
            except asyncio.CancelledError:
                raise
            except (OSError, MqttProtocolError, TimeoutError) as exc:
                self.connected.clear()
                logger.warning("MQTT connection lost (%s); reconnecting in %.0fs", exc or type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
            finally:
                self.subscriber = None

    async def handle_batch(self, subscriber: MqttSubscriber, messages: list[Message]) -> None:
        self.received += len(messages)
        devices = {device for device in (device_of(m.topic) for m in messages) if device}
        await self.hub.known(devices)
        for message in messages:
            self.handle(message)
        # Acknowledge once stored; the acks of refused messages wait too, so PUBACKs keep the
        # order the messages came in (MQTT 5, 4.6).
        ids = [m.packet_id for m in messages if m.packet_id]
        committed = self.hub.committed()
        if committed is None:
            subscriber.ack(ids)
        else:
            committed.add_done_callback(lambda _: subscriber.ack(ids))

    def handle(self, message: Message) -> None:
        device_id = device_of(message.topic)
        if device_id is None:
            return
        try:
            body = MqttReading.model_validate_json(message.payload)
            self.hub.accept(device_id, body.token, body.time(), body.values())
        except (ValidationError, ValueError, OverflowError, OSError) as exc:  # the last two: absurd epoch times
            self.refused += 1
            logger.warning("MQTT reading refused: malformed payload (%s)", str(exc).splitlines()[0][:200],
                           extra={"device": device_id[:40]})
        except DomainError as exc:
            self.refused += 1
            logger.warning("MQTT reading refused: %s", exc.message, extra={"device": device_id[:40], "error": exc.code})


def device_of(topic: str) -> str | None:
    parts = topic.split("/")
    if len(parts) < 4 or parts[-1] != "readings" or parts[-3] != "sensors":
        return None
    return parts[-2]


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
