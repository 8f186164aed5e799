"""The read-only web dashboard: board, charts, timeline, minutes and acceptance history of a collaboration,
the archive, department and person pages and the collaboration-health matrix, on the bot's own aiohttp
server. Reached through signed links (``bot.links``) or the admin token; see docs/dashboard.md."""
