"""The deployment files: the example configuration passes check-config (with its secrets given the way
production gives them), every configuration section is in it, and compose.yaml, the Dockerfile and the
systemd units say what docs/deploy.md promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from bot.config import Config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "collabbot.example.toml"


def check_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "check-config"],
        capture_output=True, text=True, check=False, cwd=ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLLABBOT_CONFIG": str(EXAMPLE), **env},
    )


def test_the_example_configuration_passes_check_config(tmp_path: Path):
    wecom_secret = tmp_path / "wecom_secret"
    wecom_secret.write_text("robot-secret\n", encoding="utf-8")
    result = check_config(
        {
            "COLLABBOT_SLACK__BOT_TOKEN": "xoxb-example",
            "COLLABBOT_SLACK__APP_TOKEN": "xapp-example",
            "COLLABBOT_DINGTALK__APP_SECRET": "ding-secret",
            "COLLABBOT_WECOM__SECRET_FILE": str(wecom_secret),
            "COLLABBOT_FEISHU__APP_SECRET": "feishu-secret",
        }
    )
    assert result.returncode == 0, result.stderr
    assert "OK (3 people, 2 departments, platforms: slack, dingtalk, wecom, feishu)" in result.stdout
    # without its secrets it names each one and where to put it
    result = check_config({})
    assert result.returncode == 2
    for line in (
        "slack.bot_token: missing: set it in the configuration file, or as COLLABBOT_SLACK__BOT_TOKEN",
        "dingtalk.app_secret: missing: set it in the configuration file, or as COLLABBOT_DINGTALK__APP_SECRET",
        "wecom: long_connection mode needs bot_id and secret of the intelligent robot (secret: COLLABBOT_WECOM__SECRET",
        "feishu.app_secret: missing: set it in the configuration file, or as COLLABBOT_FEISHU__APP_SECRET",
    ):
        assert line in result.stderr, result.stderr


def test_every_section_is_in_the_example_with_a_comment():
    text = EXAMPLE.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert set(data) == set(Config.model_fields), set(Config.model_fields) ^ set(data)
    lines = text.splitlines()
    seen: set[str] = set()
    for index, line in enumerate(lines):
        if re.match(r"^\[\[?\w+\]\]?$", line) and line not in seen:  # the first of each table is explained
            seen.add(line)
            follows = lines[index + 1] if index + 1 < len(lines) else ""
            precedes = lines[index - 1] if index else ""
            assert follows.startswith("#") or precedes.startswith("#") or "#" in follows, f"{line} has no comment"
    for key in ("bot_token", "app_secret", "secret", "corp_secret", "password"):
        assert not re.search(rf"^\s*{key}\s*=", text, re.MULTILINE), f"{key} is set in the example: secrets belong in the environment"


def test_compose_runs_migrations_before_the_bot_against_a_healthy_postgresql():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"db", "migrate", "bot"}
    db = services["db"]
    assert db["image"] == "postgres:15"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(volume.startswith("pgdata:") for volume in db["volumes"]) and "pgdata" in compose["volumes"]
    migrate, bot = services["migrate"], services["bot"]
    assert migrate["command"] == ["db", "upgrade"] and migrate["restart"] == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert bot["command"] == ["run"]
    assert bot["depends_on"] == {"db": {"condition": "service_healthy"}, "migrate": {"condition": "service_completed_successfully"}}
    assert "/readyz" in " ".join(bot["healthcheck"]["test"])
    for service in (migrate, bot):
        assert service["image"] == "collabbot:latest" and service["build"] == "."
        environment = service["environment"]
        assert environment["COLLABBOT_CONFIG"] == "/etc/collabbot/collabbot.toml"
        assert environment["COLLABBOT_DATABASE__URL_FILE"] == "/run/secrets/database_url"
        assert "database_url" in service["secrets"]
        assert not any("password" in str(value).lower() for value in environment.values())
    assert set(compose["secrets"]) >= {"db_password", "database_url"}


def test_the_image_is_multi_stage_non_root_with_cjk_fonts():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = re.findall(r"^FROM \S+ AS (\w+)", dockerfile, re.MULTILINE)
    assert stages == ["build", "runtime"]
    assert "slim" in dockerfile and "fonts-noto-cjk" in dockerfile
    assert "COPY --from=build /opt/collabbot /opt/collabbot" in dockerfile
    user = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert user and not user[-1].startswith(("root", "0"))
    assert 'ENTRYPOINT ["tini", "--", "collabbot"]' in dockerfile and 'CMD ["run"]' in dockerfile
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {"secrets", "collabbot.toml", ".venv", ".git"} <= set(ignored)


def test_the_systemd_units_migrate_then_run_unprivileged():
    for name in ("collabbot.service", "collabbot@.service"):
        unit = (ROOT / "deploy" / name).read_text(encoding="utf-8")
        settings = [line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#")]
        values: dict[str, list[str]] = {}
        for key, value in settings:
            values.setdefault(key, []).append(value)
        assert values["User"] == ["collabbot"]
        assert values["ExecStartPre"] == ["/opt/collabbot/bin/collabbot db upgrade"]
        assert values["ExecStart"] == ["/opt/collabbot/bin/collabbot run"]
        assert "COLLABBOT_CONFIG=/etc/collabbot/collabbot.toml" in values["Environment"]
        assert "COLLABBOT_DATABASE__URL_FILE=%d/database_url" in values["Environment"]
        assert values["NoNewPrivileges"] == ["yes"] and values["Restart"] == ["on-failure"]
    template = (ROOT / "deploy" / "collabbot@.service").read_text(encoding="utf-8")
    assert "COLLABBOT_INSTANCE_ID=%H-%i" in template and "COLLABBOT_SERVER__PORT=808%i" in template
