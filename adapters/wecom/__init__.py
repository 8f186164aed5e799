"""WeCom (企业微信): the intelligent robot (智能机器人) over its long connection or its HTTPS callback,
plus an optional self-built app (自建应用) for personal messages. See docs/wecom.md."""
