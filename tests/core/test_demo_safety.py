"""Nothing unsafe is reachable in production: `collabbot run` refuses the simulator and a manual clock unless
the demo is declared, check-config reports both, and the simulator never listens beyond loopback without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import cli
from bot.config import ConfigError, from_dict, is_loopback

PEOPLE = '[[people]]\nid = "li"\nname = "李雷"\n'


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "collabbot.toml"
    path.write_text(f'[database]\nurl = "sqlite://{tmp_path}/x.db"\n{text}\n{PEOPLE}', encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("section", "hazard"),
    [
        ("[simulator]\nenabled = true", "the simulator is enabled"),
        ("[simulator]\nmanual_clock = true", "the clock is manual"),
    ],
)
def test_run_refuses_a_demo_configuration_without_the_flag(tmp_path, capsys, section, hazard):
    path = write(tmp_path, section)
    assert cli.main(["run", "--config", path]) == 2
    err = capsys.readouterr().err
    assert "refusing to start" in err and hazard in err and "--unsafe-demo" in err


def test_check_config_reports_the_simulator_and_the_manual_clock(tmp_path, capsys):
    path = write(tmp_path, "[simulator]\nenabled = true\nmanual_clock = true")
    assert cli.main(["check-config", path]) == 0
    out = capsys.readouterr().out
    assert "WARNING: the simulator is enabled" in out and "WARNING: the clock is manual" in out
    assert "collabbot run refuses it without --unsafe-demo" in out
    declared = write(tmp_path, "[simulator]\nenabled = true\nunsafe_demo = true")
    assert cli.main(["check-config", declared]) == 0
    assert "allowed: [simulator] unsafe_demo = true" in capsys.readouterr().out


def test_a_production_configuration_has_no_hazards(tmp_path, capsys):
    path = write(tmp_path, "")
    assert cli.main(["check-config", path]) == 0
    assert "WARNING" not in capsys.readouterr().out
    assert cli.demo_hazards(from_dict({}, environ={})) == []


def test_a_declared_demo_starts_with_a_loud_banner(capsys):
    config = from_dict({"simulator": {"enabled": True, "manual_clock": True}}, environ={})
    assert cli._refuse_or_warn(config, allowed=True)
    err = capsys.readouterr().err
    assert "UNSAFE DEMO MODE" in err and "the clock is manual" in err
    assert not cli._refuse_or_warn(config, allowed=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "bot.example.com"])
def test_the_simulator_never_listens_beyond_loopback_without_the_flag(host):
    with pytest.raises(ConfigError) as caught:
        from_dict({"server": {"host": host}, "simulator": {"enabled": True}}, environ={})
    assert any("simulator.enabled" in p and "loopback" in p for p in caught.value.problems)
    assert from_dict({"server": {"host": host}, "simulator": {"enabled": True, "unsafe_demo": True}}, environ={})
    assert from_dict({"server": {"host": host}}, environ={})  # without the simulator any address is fine


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("10.0.0.1", False)])
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def test_the_demo_command_needs_the_flag_for_another_host(capsys):
    assert cli.main(["demo", "--host", "0.0.0.0", "--db", "/nonexistent/x.db"]) == 2
    assert "loopback" in capsys.readouterr().err
