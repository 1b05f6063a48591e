"""The FAQ through the real adapters: `!faq` in a Synapse room, `/faq ask` and 👎 on Discord."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings, parse_settings
from bot.db import make_engine, make_sessions
from bot.schema import upgrade
from cogs.faq.tomlfile import import_toml
from tests.support.bot_harness import running
from tests.support.discord_bot import answered, discord_settings, text_of
from tests.support.discord_fixtures import CONTRIBUTOR, GENERAL, GUILD_ID
from tests.support.fake_discord import FakeDiscord
from tests.support.matrix_world import ask, joined, make_world
from tests.support.synapse import Synapse

pytestmark = pytest.mark.e2e

FAQ = Path(__file__).parents[2] / "examples" / "faq.toml"
RUN_TESTS = "How do I run the test suite?"


async def load_faq(settings: Settings) -> None:
    engine = make_engine(settings.store.url)
    try:
        await upgrade(engine)
        async with make_sessions(engine)() as session:
            await import_toml(session, FAQ.read_text(), str(FAQ), datetime.now(UTC))
            await session.commit()
    finally:
        await engine.dispose()


async def test_faq_on_matrix(
    synapse: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await make_world(synapse, tmp_path, monkeypatch)
    await load_faq(world.settings)
    async with running(world.settings) as app:
        await joined(app, world.room)
        answer = await ask(world, world.nina, "!faq how do i run the tests")
        body = answer["content"]["body"]
        assert "(from the contributor FAQ: run-tests)" in body
        assert "type: !faq vote" in body
        await world.synapse.react(world.nina, world.room, answer["event_id"], "👎")
        thanks = await world.synapse.wait_for_message(
            world.nina,
            world.room,
            sender=world.bot.user_id,
            predicate=lambda e: "Thanks for the 👎" in e["content"]["body"],
            after=answer["event_id"],
        )
        reply_to = thanks["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
        assert reply_to == answer["event_id"], "the vote is answered under the answer"
        unknown = await ask(world, world.nina, "!faq what is the weather in Paris tomorrow")
        assert "I don't have an answer for that yet" in unknown["content"]["body"]
        middling = await ask(world, world.nina, "!faq can i get paid for contributing")
        assert middling["content"]["body"].startswith("Did you mean…")


async def test_faq_on_discord(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = discord_settings(fake_discord, tmp_path, monkeypatch)
    await load_faq(settings)
    async with running(settings):
        synced = await fake_discord.wait_commands_synced(GUILD_ID)
        (faq,) = [c for c in synced if c["name"] == "faq"]
        (ask_,) = [o for o in faq["options"] if o["name"] == "ask"]
        assert ask_["options"][0]["autocomplete"] is True
        offered = await fake_discord.autocomplete(
            GUILD_ID, GENERAL.id, CONTRIBUTOR, "faq ask", "question", "run test"
        )
        assert offered[0] == {"name": RUN_TESTS, "value": RUN_TESTS}
        assert len(offered) <= 25
        answer = await answered(
            await fake_discord.slash(
                GUILD_ID,
                GENERAL.id,
                CONTRIBUTOR,
                "faq ask",
                {"question": "how do I run the tests?"},
            )
        )
        assert "(from the contributor FAQ: `run-tests`)" in text_of(answer)
        buttons = [b for row in answer.components for b in row["components"]]
        assert [b["label"] for b in buttons] == ["👍", "👎"]
        assert answer.message is not None
        vote = await answered(
            await fake_discord.click(
                GUILD_ID, GENERAL.id, CONTRIBUTOR, answer.message, buttons[1]["custom_id"]
            )
        )
        assert vote.ephemeral and "Thanks for the 👎" in text_of(vote)


async def test_auto_answer_in_a_matrix_help_room(
    synapse: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await make_world(synapse, tmp_path, monkeypatch)
    assert world.settings.rooms[0].purposes == ["help"]
    await load_faq(world.settings)
    async with running(world.settings) as app:
        await joined(app, world.room)
        asked = await world.synapse.send_text(world.nina, world.room, "how do I run the tests?")
        answer = await world.synapse.wait_for_message(
            world.nina, world.room, sender=world.bot.user_id, after=asked
        )
        relation = answer["content"]["m.relates_to"]
        assert relation["rel_type"] == "m.thread" and relation["event_id"] == asked
        assert "(from the contributor FAQ: run-tests)" in answer["content"]["body"]
        again = await world.synapse.send_text(
            world.nina, world.room, "how do I set up my development environment?"
        )
        await ask(world, world.nina, "!whoami")
        later = await world.synapse.messages(world.nina, world.room, after=again)
        threaded = [e for e in later if "m.thread" in str(e["content"].get("m.relates_to"))]
        assert threaded == [], "at most one auto-answer per room every two minutes"


async def test_auto_answer_on_discord_needs_the_message_content_intent(
    fake_discord: FakeDiscord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    base = discord_settings(fake_discord, tmp_path, monkeypatch).model_dump(mode="json")
    base["rooms"] = [{"name": "help", "discord_channel_id": GENERAL.id, "purposes": ["help"]}]
    await load_faq(parse_settings(base))

    off = parse_settings(base)
    async with running(off):
        await fake_discord.wait_commands_synced(GUILD_ID)
        await fake_discord.user_says(GENERAL.id, CONTRIBUTOR, "how do I run the tests?")
        await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "whoami")
    assert "auto-answer in help rooms is off" in caplog.text
    assert not [m for m in fake_discord.channel_messages[GENERAL.id] if "message_reference" in m]

    base["discord"]["message_content"] = True
    async with running(parse_settings(base)):
        await fake_discord.wait_commands_synced(GUILD_ID)
        asked = await fake_discord.user_says(GENERAL.id, CONTRIBUTOR, "how do I run the tests?")
        await fake_discord.wait_until(
            lambda: any(
                m.get("message_reference", {}).get("message_id") == asked["id"]
                for m in fake_discord.channel_messages[GENERAL.id]
            ),
            description="the auto-answer",
        )
    reply = next(m for m in fake_discord.channel_messages[GENERAL.id] if "message_reference" in m)
    assert reply["embeds"][0]["title"] == "How do I run the test suite?"
