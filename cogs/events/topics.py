"""What the events cog announces on the change bus."""

from bot.core.bus import Topic

EVENTS = Topic("events")
RSVPS = Topic("rsvps")
