"""Forges end to end: GitHub's signed webhook reaches the running bot's web server, and the
review hour's post reaches a Matrix room on a real Synapse."""

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
from tests.support.fake_github import event_payload, pull_request, webhook
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
