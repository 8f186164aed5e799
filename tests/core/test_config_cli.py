"""Configuration: one TOML file, environment overrides, a clear line per bad field; the CLI around it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, from_dict, load
from bot.i18n import catalog
from scripts.i18n import update as extract_catalogs


def test_environment_overrides_the_file(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text('[bot]\nlocale = "zh_CN"\n[database]\nurl = "sqlite://a.db"\n', encoding="utf-8")
    config = load(path, environ={"COLLABBOT_BOT__LOCALE": "en", "COLLABBOT_DATABASE_URL": "postgres://u@h/db"})
    assert config.bot.locale == "en"
    assert config.database.url == "postgres://u@h/db"


def test_every_bad_field_is_named_with_its_reason():
    with pytest.raises(ConfigError) as caught:
        from_dict(
            {
                "bot": {"timezone": "Mars/Olympus", "locale": "klingon", "id_prefix": "X-1", "colour": "blue"},
                "database": {"url": "mysql://x"},
                "departments": [{"code": "design", "name": "设计部", "head": "ghost"}],
                "people": [{"id": "a", "name": "A", "department": "nowhere"}],
                "slack": {"bot_token": "xoxb-1", "mode": "socket"},
                "wecom": {"mode": "api", "token": "t", "encoding_aes_key": "short"},
            },
            environ={},
        )
    problems = "\n".join(caught.value.problems)
    for expected in [
        "bot.timezone: unknown IANA timezone 'Mars/Olympus'",
        "bot.locale: unsupported locale 'klingon'",
        "bot.id_prefix",
        "bot.colour: unknown setting",
        "database.url: must start with sqlite:// or postgres://",
        "slack: Value error, socket mode needs app_token".replace("Value error, ", ""),
        "wecom: encoding_aes_key must be exactly 43 characters",
    ]:
        assert expected in problems, (expected, problems)


def test_references_between_people_and_departments_are_checked():
    with pytest.raises(ConfigError) as caught:
        from_dict(
            {
                "departments": [{"code": "design", "name": "设计部", "head": "ghost"}],
                "people": [{"id": "a", "name": "A", "department": "nowhere", "superior": "b"}, {"id": "a", "name": "A2"}],
            },
            environ={},
        )
    problems = "\n".join(caught.value.problems)
    assert "departments[0].head: no person with id 'ghost'" in problems
    assert "people[0].department: no department with code 'nowhere'" in problems
    assert "people[0].superior: no person with id 'b'" in problems
    assert "people: duplicate ids a" in problems


def test_check_config_command_reports_problems_and_exit_code(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[bot]\ntimezone = "Nowhere/City"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "bot.timezone: unknown IANA timezone 'Nowhere/City'" in result.stderr
    good = Path(__file__).resolve().parents[2] / "bot" / "demo.toml"
    result = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", str(good)], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "OK (7 people, 3 departments" in result.stdout
    assert "  retention: delivery ids 30 days, sent messages 90 days, done timers 30 days" in result.stdout.splitlines()


def test_db_upgrade_command_migrates_a_new_database(tmp_path: Path):
    target = tmp_path / "new.db"
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"],
        capture_output=True,
        text=True,
        check=False,
        env={"COLLABBOT_DATABASE_URL": f"sqlite://{target}", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout and target.exists()


def test_every_message_has_a_chinese_translation():
    missing = extract_catalogs(check_only=True)
    assert not missing, "\n".join(missing[:20])
    assert catalog("zh_CN").gettext("Accept") == "接受"
