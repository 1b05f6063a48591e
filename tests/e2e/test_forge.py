"""Forges end to end: GitHub's signed webhook reaches the running bot's web server; the review
hour's post reaches a Matrix room on a real Synapse, a first contribution's celebration the fake
Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.app import App
from cogs.events.api import EVENTS
from cogs.forge.models import PullRequest
from tests.support.bot_harness import running, settings_for
from tests.support.clock import ShiftedClock
from tests.support.discord_bot import answered, discord_settings, text_of
from tests.support.discord_fixtures import CONTRIBUTOR, GENERAL, GUILD_ID, ORGANIZER
from tests.support.eventually import eventually
from tests.support.fake_discord import FakeDiscord
from tests.support.fake_discord import FakeUser as DiscordUser
from tests.support.fake_github import event_payload, pull_request, stamp, webhook
from tests.support.matrix_world import World, ask, joined, make_world
from tests.support.synapse import Synapse

pytestmark = pytest.mark.e2e

REPO = "scikit-learn/scikit-learn"
SECRET = "e2e-webhook-secret"


@pytest.fixture
async def world(
    synapse: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[World]:
    world = await make_world(synapse, tmp_path, monkeypatch)
    monkeypatch.setenv("CONVENE_TEST_GITHUB_SECRET", SECRET)
    data = world.settings.model_dump(mode="json")
    data["rooms"][0]["purposes"] = ["help", "reviews"]
    data["web"] = {"enabled": True, "host": "127.0.0.1", "port": 0}
    data["forge"] = {
        "forges": [
            {
                "kind": "github",
                "poll": False,
                "repositories": [REPO],
                "webhook_secret_env": "CONVENE_TEST_GITHUB_SECRET",
            }
        ]
    }
    world.settings = settings_for(
        data["store"]["url"], **{k: v for k, v in data.items() if k != "store"}
    )
    yield world


async def post(app: App, event: str, payload: dict[str, object], delivery: str, secret: str) -> int:
    headers, body = webhook(event, payload, secret, delivery)
    url = f"{app.runtime.env.web.listening}/forge/github"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers=headers) as answer,
    ):
        return answer.status


async def stored(app: App) -> int:
    async with app.sessions() as session:
        return (await session.exec(select(func.count()).select_from(PullRequest))).one()


async def test_a_webhook_pull_request_is_in_the_review_hour_post(world: World) -> None:
    clock = ShiftedClock()
    start = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
    clock.set(start - timedelta(minutes=5))
    async with running(world.settings, clock=clock) as app:
        await joined(app, world.room)
        created = await ask(
            world,
            world.omar,
            f'!event create "Review hour" start="{start:%Y-%m-%d %H:%M}" tz=UTC kind=review-hour',
        )
        assert "Event #1" in created["content"]["body"]

        pr = pull_request(
            REPO,
            31,
            title="Add a newcomer-friendly example",
            author="mira",
            association="FIRST_TIME_CONTRIBUTOR",
            created=clock() - timedelta(days=4),
        )
        forged = event_payload("pull_request/opened", REPO, action="opened", pull_request=pr)
        assert await post(app, "pull_request", forged, "d-0", "not-the-secret") == 401
        assert await stored(app) == 0
        assert await post(app, "pull_request", forged, "d-1", SECRET) == 200
        assert await stored(app) == 1

        clock.set(start)
        app.runtime.bus.publish(EVENTS)
        message = await world.synapse.wait_for_message(
            world.nina,
            world.room,
            sender=world.bot.user_id,
            predicate=lambda e: str(e["content"].get("body", "")).startswith("Review hour: "),
            timeout=20,
        )
        body = str(message["content"]["body"])
        assert "scikit-learn/scikit-learn#31" in body
        assert "'Add a newcomer-friendly example' by mira · waiting 4 d" in body
        assert "first-time contributor" in body


async def test_a_merged_first_pull_request_is_celebrated_on_discord(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVENE_TEST_GITHUB_SECRET", SECRET)
    data = discord_settings(fake_discord, tmp_path, monkeypatch).model_dump(mode="json")
    data["rooms"][0]["purposes"] = ["welcome"]
    data["discord"]["members_intent"] = True
    data["web"] = {"enabled": True, "host": "127.0.0.1", "port": 0}
    data["forge"] = {
        "forges": [
            {
                "kind": "github",
                "repositories": [REPO],
                "webhook_secret_env": "CONVENE_TEST_GITHUB_SECRET",
                "poll": False,
            }
        ]
    }
    settings = settings_for(data["store"]["url"], **{k: v for k, v in data.items() if k != "store"})
    clock = ShiftedClock()
    async with running(settings, clock=clock) as app:
        await fake_discord.wait_commands_synced(GUILD_ID)

        async def slash(user: DiscordUser, name: str, **options: object) -> str:
            result = await answered(
                await fake_discord.slash(GUILD_ID, GENERAL.id, user, name, options)
            )
            return text_of(result)

        await slash(CONTRIBUTOR, "whoami")
        linked = await slash(
            ORGANIZER, "forge confirm", forge="github", login="casey-dev", who=str(CONTRIBUTOR.id)
        )
        assert "Linked: GitHub's casey-dev" in linked.replace("\\", "")

        created = clock() - timedelta(days=1)
        pr = pull_request(
            REPO,
            77,
            title="Fix a typo",
            author="casey-dev",
            association="FIRST_TIME_CONTRIBUTOR",
            created=created,
        )
        opened = event_payload("pull_request/opened", REPO, action="opened", pull_request=pr)
        assert await post(app, "pull_request", opened, "d-1", SECRET) == 200
        merged_pr = {**pr, "state": "closed", "merged": True, "merged_at": pr["updated_at"]}
        merged_pr["updated_at"] = merged_pr["merged_at"] = stamp(clock())
        merged = event_payload("pull_request/closed", REPO, action="closed", pull_request=merged_pr)
        assert await post(app, "pull_request", merged, "d-2", SECRET) == 200
        assert await post(app, "pull_request", merged, "d-2", SECRET) == 200  # redelivered

        def celebrations() -> list[str]:
            messages = fake_discord.channel_messages[GENERAL.id]
            found = [str(m["content"]).replace("\\", "") for m in messages]
            return [text for text in found if text.startswith("🎉")]

        await eventually(lambda: len(celebrations()) == 2, what="two celebrations")
        assert (
            "casey opened their first pull request to scikit-learn/scikit-learn"
            in celebrations()[0]
        )
        assert (
            "casey's first pull request to scikit-learn/scikit-learn was merged"
            in celebrations()[1]
        )
