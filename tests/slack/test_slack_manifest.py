"""The app manifests declare what the adapter listens to (no YAML parser needed: the files are flat enough)."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import SlackSection

FOLDER = Path(__file__).resolve().parents[2] / "adapters" / "slack"


def _values(text: str, key: str) -> list[str]:
    return re.findall(rf"^\s*-?\s*{key}:\s*(\S+)", text, re.M)


def _list(text: str, header: str) -> list[str]:
    block = re.search(rf"^(\s*){header}:\n((?:\1\s+- .*\n)+)", text, re.M)
    assert block, header
    return [line.split("#")[0].strip()[2:].strip() for line in block.group(2).splitlines()]


def test_both_manifests_match_the_adapter():
    defaults = SlackSection(bot_token="xoxb-x", app_token="xapp-x")
    for name, socket in (("manifest.yml", "true"), ("manifest-http.yml", "false")):
        text = (FOLDER / name).read_text(encoding="utf-8")
        assert _values(text, "command") == [defaults.command, defaults.standup_command], name
        assert _values(text, "should_escape") == ["true", "true"], name  # mentions arrive as <@U…>
        assert _list(text, "bot_events") == ["app_home_opened", "app_mention", "message.im"], name
        assert {"app_mentions:read", "chat:write", "commands", "files:write", "im:history", "im:write", "channels:join", "users:read"} <= set(_list(text, "bot"))
        assert _values(text, "socket_mode_enabled") == [socket], name
        assert "is_enabled: true" in text  # interactivity: buttons and modals
        urls = _values(text, "(?:url|request_url)")
        if socket == "false":
            assert len(urls) == 4 and all(u.endswith(defaults.events_path) for u in urls)
        else:
            assert urls == []


def test_build_follows_the_config_section():
    from adapters.slack.transport import SlackPlatform, build
    from bot.config import from_dict

    assert build(from_dict({}, environ={})) is None
    section = {"bot_token": "xoxb-1", "app_token": "xapp-1"}
    assert build(from_dict({"slack": {**section, "enabled": False}}, environ={})) is None
    platform = build(from_dict({"slack": section}, environ={"COLLABBOT_SLACK__MODE": "http", "COLLABBOT_SLACK__SIGNING_SECRET": "s"}))
    assert isinstance(platform, SlackPlatform) and platform.config.mode == "http" and platform.name == "slack"
