"""Self-test of the Synapse harness, and a record of the Synapse/nio behaviour the
bot's Matrix adapter is built on: txn-id idempotency and the shape of a 429."""

import math
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from nio import AsyncClient, AsyncClientConfig, RoomSendError, RoomSendResponse, SyncResponse

from tests.support.matrix_fixtures import synapse_ratelimited_server, synapse_server  # noqa: F401
from tests.support.synapse import MatrixUser, Synapse

pytestmark = pytest.mark.e2e


def _localpart(role: str) -> str:
    """The server lives for the whole session, so names must not collide across tests."""
    return f"{role}-{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def _nio_client(
    server: Synapse, user: MatrixUser, config: AsyncClientConfig | None = None
) -> AsyncIterator[AsyncClient]:
    client = AsyncClient(server.base_url, user.user_id, config=config)
    client.restore_login(user.user_id, user.device_id, user.access_token)
    try:
        # room_send refuses rooms nio has not seen in a sync.
        assert isinstance(await client.sync(timeout=0), SyncResponse)
        yield client
    finally:
        await client.close()


async def test_users_share_a_room_and_see_each_others_messages(synapse: Synapse) -> None:
    alice = await synapse.register(_localpart("alice"))
    bob = await synapse.register(_localpart("bob"))
    room_id = await synapse.create_room(
        alice, name="harness", invite=[bob.user_id], power_levels={bob.user_id: 50}
    )
    await synapse.join(bob, room_id)

    first = await synapse.send_text(alice, room_id, "hello bob")
    seen = await synapse.wait_for_message(
        bob, room_id, sender=alice.user_id, predicate=lambda e: e["content"]["body"] == "hello bob"
    )
    assert seen["event_id"] == first

    await synapse.send_text(bob, room_id, "hi alice")
    later = await synapse.messages(alice, room_id, after=first)
    assert [(e["sender"], e["content"]["body"]) for e in later] == [(bob.user_id, "hi alice")]

    carol = await synapse.register(_localpart("carol"))
    await synapse.invite(bob, room_id, carol.user_id)
    await synapse.join(carol, room_id)
    await synapse.wait_for_message(carol, room_id, sender=bob.user_id)


@pytest.mark.parametrize("room_version", ["11", "12"])
async def test_power_levels_in_old_and_new_room_versions(
    synapse: Synapse, room_version: str
) -> None:
    """From v12 creators hold unbounded power and are absent from the users map;
    the bot's permission checks have to cope with both shapes."""
    alice = await synapse.register(_localpart("alice"))
    bob = await synapse.register(_localpart("bob"))
    room_id = await synapse.create_room(
        alice, room_version=room_version, power_levels={bob.user_id: 50}
    )
    await synapse.set_power_level(alice, room_id, bob.user_id, 20)

    users = (await synapse.power_levels(alice, room_id))["users"]
    expected = {bob.user_id: 20} if room_version == "12" else {alice.user_id: 100, bob.user_id: 20}
    assert users == expected


async def test_resending_with_the_same_txn_id_is_deduplicated(synapse: Synapse) -> None:
    """The bot retries sends after timeouts; reusing the txn id must not duplicate posts."""
    alice = await synapse.register(_localpart("alice"))
    room_id = await synapse.create_room(alice)
    content = {"msgtype": "m.text", "body": "exactly once"}

    async with _nio_client(synapse, alice) as client:
        first = await client.room_send(room_id, "m.room.message", content, tx_id="txn-1")
        second = await client.room_send(room_id, "m.room.message", content, tx_id="txn-1")

    assert isinstance(first, RoomSendResponse)
    assert isinstance(second, RoomSendResponse)
    assert second.event_id == first.event_id
    bodies = [e["content"]["body"] for e in await synapse.messages(alice, room_id)]
    assert bodies == ["exactly once"]


async def test_burst_of_sends_is_rejected_with_limit_exceeded(
    synapse_ratelimited: Synapse,
) -> None:
    """With max_limit_exceeded=0 nio hands the 429 back instead of sleeping and retrying."""
    server = synapse_ratelimited
    alice = await server.register(_localpart("alice"))
    admin = await server.register(_localpart("admin"), admin=True)
    room_id = await server.create_room(alice)
    config = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0)
    content = {"msgtype": "m.text", "body": "spam"}

    async with _nio_client(server, alice, config) as client:
        for _ in range(30):
            response = await client.room_send(room_id, "m.room.message", content)
            if not isinstance(response, RoomSendResponse):
                break

        assert isinstance(response, RoomSendError)
        assert response.status_code == "M_LIMIT_EXCEEDED"
        assert response.message == "Too Many Requests"
        assert isinstance(response.retry_after_ms, int)
        assert response.retry_after_ms > 0
        assert response.transport_response.status == 429
        retry_after = response.transport_response.headers["Retry-After"]
        assert retry_after == str(math.ceil(response.retry_after_ms / 1000))

        await server.override_ratelimit(admin, alice.user_id)
        assert isinstance(
            await client.room_send(room_id, "m.room.message", content), RoomSendResponse
        )
