"""The MQTT 5 subscriber against the real Mosquitto: batches parsed exactly, acknowledgements that
decide what the broker sends again, and the broker's size limit."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from collections.abc import AsyncIterator

import aiomqtt
import pytest

from server.integrations.mqtt_subscriber import Message, MqttSubscriber

HOST, PORT = "127.0.0.1", 1883


@pytest.fixture
def names() -> tuple[str, str]:
    tag = secrets.token_hex(4)  # the broker is shared: our own topics and client id
    return f"fieldcast-test-{tag}/sensors/+/readings", f"fieldcast-test-{tag}"


async def publish(topic: str, payloads: list[bytes], qos: int = 1) -> None:
    async with aiomqtt.Client(HOST, PORT) as client:
        for payload in payloads:
            await client.publish(topic, payload, qos=qos)


async def take(subscriber: MqttSubscriber, count: int, timeout: float = 10.0) -> list[Message]:
    got: list[Message] = []

    async def fill() -> None:
        while len(got) < count:
            got.extend(await subscriber.receive())

    await asyncio.wait_for(fill(), timeout)
    return got


@pytest.fixture
async def forget(names: tuple[str, str]) -> AsyncIterator[None]:
    yield
    # End the persistent session the test made, so the broker does not keep it.
    async with MqttSubscriber(HOST, PORT, names[1], clean_start=True, session_expiry=0):
        pass


async def test_unacknowledged_messages_come_back_on_the_next_connection_of_the_session(
    names: tuple[str, str], forget: None
) -> None:
    topic_filter, client_id = names
    topic = topic_filter.replace("+", "truck-1")
    async with MqttSubscriber(HOST, PORT, client_id, clean_start=False, session_expiry=60) as first:
        await first.subscribe(topic_filter)
        await publish(topic, [b"one", b"two", b"three"])
        got = await take(first, 3)
        assert [m.payload for m in got] == [b"one", b"two", b"three"]
        assert all(m.topic == topic and m.packet_id for m in got)
        first.ack([got[0].packet_id])  # only the first was "stored"
    async with MqttSubscriber(HOST, PORT, client_id, clean_start=False, session_expiry=60) as second:
        assert second.session_present
        again = await take(second, 2)
        assert [m.payload for m in again] == [b"two", b"three"]
        second.ack(m.packet_id for m in again)
        await asyncio.sleep(0.2)  # let the acks reach the broker before we leave
    async with MqttSubscriber(HOST, PORT, client_id, clean_start=False, session_expiry=60) as third:
        with pytest.raises(TimeoutError):
            await take(third, 1, timeout=1.0)


async def test_many_messages_arrive_whole_and_in_order(names: tuple[str, str]) -> None:
    topic_filter, client_id = names
    topic = topic_filter.replace("+", "field-1")
    payloads = [f'{{"n":{i}}}'.encode() for i in range(3000)]
    payloads[1500] = "长".encode() * 6000  # 18 KB: a three-byte remaining length
    async with MqttSubscriber(HOST, PORT, client_id) as subscriber:
        await subscriber.subscribe(topic_filter)
        publishing = asyncio.ensure_future(publish(topic, payloads))
        got: list[Message] = []
        while len(got) < len(payloads):
            batch = await asyncio.wait_for(subscriber.receive(), 10)
            subscriber.ack(m.packet_id for m in batch)
            got.extend(batch)
        await publishing
        assert [m.payload for m in got] == payloads
        await publish(topic, [b"at most once"], qos=0)
        (last,) = await take(subscriber, 1)
        assert last.payload == b"at most once" and last.packet_id == 0


async def test_the_broker_keeps_messages_over_the_size_limit_from_us(names: tuple[str, str]) -> None:
    topic_filter, client_id = names
    topic = topic_filter.replace("+", "field-1")
    async with MqttSubscriber(HOST, PORT, client_id) as subscriber:
        await subscriber.subscribe(topic_filter)
        await publish(topic, [b"x" * 200_000, b"small"])
        (only,) = await take(subscriber, 1)
        assert only.payload == b"small"
        assert subscriber.connected


# The tests here run on uvloop, as `fieldcast serve` does (tests/conftest.py); its transports are
# not asyncio.Transport subclasses, so this one also runs on the standard loop.
@pytest.mark.both_loops
async def test_messages_from_mosquitto_pub_arrive_on_either_event_loop(names: tuple[str, str]) -> None:
    mosquitto_pub = shutil.which("mosquitto_pub")
    assert mosquitto_pub is not None, "mosquitto_pub is missing: run scripts/setup.sh test"
    topic_filter, client_id = names
    topic = topic_filter.replace("+", "truck-7")
    lines = [f'{{"temperature": {i / 10}}}' for i in range(40)]

    async with MqttSubscriber(HOST, PORT, client_id) as subscriber:
        await subscriber.subscribe(topic_filter)
        # A publisher nobody here wrote: Mosquitto's own client, one message per stdin line.
        proc = await asyncio.create_subprocess_exec(
            mosquitto_pub, "-h", HOST, "-p", str(PORT), "-V", "mqttv5", "-q", "1", "-t", topic, "-l",
            stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate("\n".join(lines).encode() + b"\n"), 10)
        assert proc.returncode == 0, err.decode()
        got = await take(subscriber, len(lines))
        subscriber.ack(m.packet_id for m in got)
        assert subscriber.connected
    assert [m.payload.decode() for m in got] == lines
    assert all(m.topic == topic and m.packet_id for m in got)
