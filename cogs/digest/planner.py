"""The digest's planner: one outbox row per scheduled moment, so the store decides what is sent.

The schedule (a CronTrigger from `[digest]`) names the moments; the key of each digest is its
moment in UTC (`digest:20261207T0800Z`), so a restart, a second instance or a planner pass run
twice plans the same row, which the outbox sends once. APScheduler only wakes the planner at
each moment. A moment the bot missed while it was down is planned late, once, up to 24 hours
after it (the dispatcher marks it "sent late"); later than that it is skipped and logged.
Moments before the bot first planned digests were never missed: a first start posts nothing
late.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot import delivery
from bot.core.runtime import Runtime
from bot.delivery import Key, Outgoing
from bot.state import get_state, set_state
from cogs.digest import compose
from cogs.digest.settings import DigestSettings

log = logging.getLogger(__name__)

PURPOSE = "digest"
LATE_LIMIT = timedelta(hours=24)
# How far back to look for the last moment: the schedule comes at least once a week.
LOOK_BACK = timedelta(days=8)
# A safety net only: the scheduler wakes the planner at each moment.
POLL = 3600.0
SINCE = "digest.since"


def key(moment: datetime) -> Key:
    return Key("digest", f"{moment.astimezone(UTC):%Y%m%dT%H%MZ}")


class Digester:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        config = runtime.env.section(DigestSettings)
        self.zone = config.zone(runtime.env.timezone)
        self.trigger: Any = config.trigger(runtime.env.timezone)
        self._skipped: datetime | None = None
        self._since: datetime | None = None

    def latest(self, now: datetime) -> datetime | None:
        """The schedule's last moment at or before *now*, if one fell in the last 8 days."""
        found = None
        moment = self.trigger.get_next_fire_time(None, now - LOOK_BACK)
        while moment is not None and moment <= now:
            found = moment
            moment = self.trigger.get_next_fire_time(moment, moment)
        return found

    async def plan(self) -> None:
        """Plan the digest of the last moment, unless it was planned or is too late."""
        runtime = self.runtime
        rooms = runtime.env.rooms.with_purpose(PURPOSE)
        now = runtime.now()
        moment = self.latest(now)
        if not rooms or moment is None or moment < await self.since(now):
            return
        async with runtime.transaction() as session:
            if await delivery.planned(session, [key(moment)]):
                return
            if now - moment >= LATE_LIMIT:
                if self._skipped != moment:
                    log.warning(
                        "the digest due %s was not sent: the bot was not running then, and a "
                        "digest more than %s late is skipped",
                        f"{moment:%Y-%m-%d %H:%M %Z}",
                        "24 h",
                    )
                    self._skipped = moment
                return
            parts = await compose.gather(session, now, self.runtime.env)
            message = Outgoing(
                key(moment),
                rooms,
                compose.render(parts, moment, self.zone),
                due_at=moment,
                expires_at=moment + LATE_LIMIT,
            )
            await delivery.plan(session, runtime.env, [message])

    async def since(self, now: datetime) -> datetime:
        """When this store first had digests planned; kept, so restarts do not move it."""
        if self._since is None:
            try:
                async with self.runtime.transaction() as session:
                    if await get_state(session, SINCE) is None:
                        await set_state(session, SINCE, now.isoformat(), now)
            except IntegrityError:
                pass  # another instance wrote it first
            async with self.runtime.sessions() as session:
                found = await get_state(session, SINCE)
            assert found is not None
            self._since = datetime.fromisoformat(found)
        return self._since

    async def step(self) -> float:
        await self.plan()
        return POLL
