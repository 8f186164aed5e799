"""No secret in any log line or CLI output: the CLI commands (valid, invalid and failing configurations, a
database that cannot be reached) and a Slack lifecycle at DEBUG level, run with known secret values, and
everything they printed or logged is searched for them."""

from __future__ import annotations

import io
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bot import logs
from tests.slack.fake_slack import APP_TOKEN, BOT_TOKEN
from tests.slack.world import SlackWorld

ROOT = Path(__file__).resolve().parents[2]
SLACK_BOT = "xoxb-ops-test-bot-token-4f1e"
SLACK_APP = "xapp-ops-test-app-token-9c2d"
DINGTALK_SECRET = "dt-ops-test-app-secret-77aa"
WECOM_SECRET = "wc-ops-test-robot-secret-31bc"
DB_PASSWORD = "pg-ops-test-password-5d0e"
SECRETS = [SLACK_BOT, SLACK_APP, DINGTALK_SECRET, WECOM_SECRET, DB_PASSWORD]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cli(args: list[str], env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--log-level", "DEBUG", *args],
        capture_output=True, text=True, check=False, env={**env, "PYTHONPATH": str(ROOT)}, cwd=cwd, timeout=120,
    )
    return f"$ {' '.join(args)} → {result.returncode}\n{result.stdout}\n{result.stderr}"


def base_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "COLLABBOT_SLACK__BOT_TOKEN": SLACK_BOT,
        "COLLABBOT_SLACK__API_URL": f"http://127.0.0.1:{closed_port()}/api/",
        "COLLABBOT_DINGTALK__APP_KEY": "dingops",
        "COLLABBOT_DINGTALK__OPENAPI_URL": f"http://127.0.0.1:{closed_port()}",
        "COLLABBOT_WECOM__BOT_ID": "wecom-ops-bot",
        "COLLABBOT_WECOM__SECRET": WECOM_SECRET,
        "COLLABBOT_WECOM__WS_URL": f"ws://127.0.0.1:{closed_port()}",
    }


def test_cli_output_never_shows_a_secret(tmp_path: Path):
    secret_file = tmp_path / "dingtalk_secret"
    secret_file.write_text(DINGTALK_SECRET + "\n", encoding="utf-8")
    config = tmp_path / "collabbot.toml"
    config.write_text(f'[database]\nurl = "sqlite://{tmp_path}/bot.db"\n[server]\nport = 0\n[slack]\nmode = "socket"\n', encoding="utf-8")
    env = {**base_env(tmp_path), "COLLABBOT_SLACK__APP_TOKEN_FILE": str(tmp_path / "app_token"), "COLLABBOT_DINGTALK__APP_SECRET_FILE": str(secret_file)}
    (tmp_path / "app_token").write_text(SLACK_APP, encoding="utf-8")
    unreachable = f"postgres://collab:{DB_PASSWORD}@127.0.0.1:{closed_port()}/collab"
    outputs = [
        cli(["check-config", str(config)], env, tmp_path),
        cli(["check-config"], {**env, "COLLABBOT_CONFIG": str(config)}, tmp_path),
        cli(["db", "upgrade", "--config", str(config)], env, tmp_path),
        cli(["db", "current", "--config", str(config)], env, tmp_path),
        cli(["outbox", "list", "--config", str(config)], env, tmp_path),
        cli(["outbox", "retry", "1", "--config", str(config)], env, tmp_path),
        cli(["outbox", "purge-sent", "--older-than", "30d", "--config", str(config)], env, tmp_path),
        cli(["timers", "list", "--config", str(config)], env, tmp_path),
        # the database password: a server that is not there, on each command that opens it
        cli(["db", "upgrade"], {**env, "COLLABBOT_DATABASE_URL": unreachable}, tmp_path),
        cli(["db", "current"], {**env, "COLLABBOT_DATABASE_URL": unreachable}, tmp_path),
        cli(["outbox", "list"], {**env, "COLLABBOT_DATABASE_URL": unreachable}, tmp_path),
        cli(["check-config", str(config)], {**env, "COLLABBOT_DATABASE_URL": unreachable}, tmp_path),
        # a wrong secret: named, with how to fix it, without its value
        cli(["check-config", str(config)], {**env, "COLLABBOT_SLACK__BOT_TOKEN": "not-" + SLACK_BOT}, tmp_path),
        cli(["check-config", str(config)], {**env, "COLLABBOT_WECOM__SECRET_FILE": str(tmp_path / "missing")}, tmp_path),
    ]
    text = "\n".join(outputs)
    for secret in SECRETS:
        assert secret not in text, (secret, text[:3000])
    assert "postgres://collab:***@127.0.0.1" in text
    assert "secrets set: slack.bot_token, slack.app_token, dingtalk.app_secret, wecom.secret (values not shown)" in text
    assert "slack.bot_token: must start with xoxb-" in text
    assert "wecom.secret: COLLABBOT_WECOM__SECRET_FILE names" in text and "create the file" in text
    assert "OK (0 people" in text and "pending:  none (up to date)" in text


def test_a_running_bot_logs_no_secret(tmp_path: Path):
    """``collabbot run`` at DEBUG with every platform configured (each unreachable), stopped with SIGTERM."""
    config = tmp_path / "collabbot.toml"
    config.write_text(f'[database]\nurl = "sqlite://{tmp_path}/bot.db"\n[server]\nport = 0\n', encoding="utf-8")
    env = {**base_env(tmp_path), "COLLABBOT_SLACK__APP_TOKEN": SLACK_APP, "COLLABBOT_DINGTALK__APP_SECRET": DINGTALK_SECRET, "PYTHONPATH": str(ROOT)}
    log_path = tmp_path / "run.log"
    with log_path.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--log-level", "DEBUG", "--log-format", "json", "run", "--config", str(config)],
            stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
        )
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and "listening on" not in log_path.read_text(errors="replace"):
                assert process.poll() is None, log_path.read_text()
                time.sleep(0.1)
            wanted = ("slack", "dingtalk", "wecom")
            while time.monotonic() < deadline and not all(f"collabbot.{name}" in log_path.read_text(errors="replace") for name in wanted):
                time.sleep(0.1)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    text = log_path.read_text(errors="replace")
    assert "listening on" in text
    for secret in SECRETS[:4]:
        assert secret not in text, secret


async def test_a_slack_lifecycle_at_debug_level_logs_no_secret(database_url, clock):
    captured = io.StringIO()
    handler = logs.handler("json", captured)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        async with SlackWorld.open(database_url, clock) as world:
            await world.command("U1LI", "C1LAUNCH", "新建协作\n标题：海报\n协作部门：设计部\n截止：2026-12-20")
            await world.command("U1LI", "C1LAUNCH", "列表")
            assert world.fake.in_channel("C1LAUNCH")
            logging.getLogger("collabbot.test").debug("a careless line: token %s, url postgres://u:%s@db/x", BOT_TOKEN, DB_PASSWORD)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    text = captured.getvalue()
    assert '"platform": "slack"' in text and '"delivery_id"' in text  # lines of an event name it
    assert "a careless line: token ***, url " in text and "://u:***@db/x" in text
    for secret in (BOT_TOKEN, APP_TOKEN, DB_PASSWORD):
        assert secret not in text, secret
