"""What the forge cog announces on the change bus."""

from bot.core.bus import Topic

# A webhook told something new of an issue (`cogs.forge.reports`).
ISSUES = Topic("forge issues")
