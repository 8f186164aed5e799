"""Feishu / Lark (飞书): the bot of a self-built app, over the long connection or the HTTP event subscription."""
