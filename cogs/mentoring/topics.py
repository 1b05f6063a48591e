"""What the mentoring cog announces on the change bus."""

from bot.core.bus import Topic

MENTORING = Topic("mentoring")
