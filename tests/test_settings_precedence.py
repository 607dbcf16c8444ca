"""Where a setting comes from: the environment wins over the YAML file, for secrets and settings alike.

An operator rotates a secret by changing the Secret the environment comes
from; a ConfigMap that still holds the old value must not win. Precedence:
keyword overrides, then ``K8S_CHATOPS_...`` variables, then the conventional
``SLACK_BOT_TOKEN`` / ``SLACK_APP_TOKEN`` / ``SLACK_SIGNING_SECRET`` /
``SLACK_API_URL``, then the file; a nested key from the environment replaces
only that key of the file's section. The last test rotates the signing
secret of a running `k8s-chatops run` in HTTP mode through its environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import Settings, load_settings
from sim.bot_config import bot_config
from sim.cli import build_world
from sim.kube.kubeconfig import write_kubeconfig
from sim.server import SimServer
from sim.slack.sender import SlackSender
from tests.bot_process import BotProcess, free_port, probe
from tests.harness import wait_until

FILE = {
    "slack": {
        "mode": "http",
        "command": "/ops",
        "bot_token": "xoxb-from-file",
        "app_token": "xapp-from-file",
        "signing_secret": "secret-from-file",
        "api_url": "http://file.invalid/api/",
    },
    "alerts": {"channel": "#file-alerts", "interval_seconds": 120},
    "health": {"port": 9000},
    "log_level": "ERROR",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("K8S_CHATOPS_", "SLACK_")):
            monkeypatch.delenv(name)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(FILE))
    return path


def secret(settings: Settings, field: str) -> str | None:
    value: Any = getattr(settings.slack, field)
    return value.get_secret_value() if hasattr(value, "get_secret_value") else value


@pytest.mark.parametrize(
    ("variable", "field"),
    [
        ("SLACK_BOT_TOKEN", "bot_token"),
        ("SLACK_APP_TOKEN", "app_token"),
        ("SLACK_SIGNING_SECRET", "signing_secret"),
        ("SLACK_API_URL", "api_url"),
    ],
)
def test_a_conventional_slack_variable_wins_over_the_file(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, variable: str, field: str
) -> None:
    monkeypatch.setenv(variable, "from-environment")
    settings = load_settings(config_file)
    assert secret(settings, field) == "from-environment"
    assert settings.slack.mode == "http" and settings.slack.command == "/ops", "the file's other slack keys stay"
    others = {"bot_token", "app_token", "signing_secret", "api_url"} - {field}
    assert all(secret(settings, other) == FILE["slack"][other] for other in others)


def test_the_bots_own_variable_wins_over_the_conventional_one_and_the_file(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "conventional")
    monkeypatch.setenv("K8S_CHATOPS_SLACK__SIGNING_SECRET", "specific")
    assert secret(load_settings(config_file), "signing_secret") == "specific"


@pytest.mark.parametrize(
    ("variable", "value", "read"),
    [
        ("K8S_CHATOPS_ALERTS__CHANNEL", "#env-alerts", lambda s: (s.alerts.channel, s.alerts.interval_seconds)),
        ("K8S_CHATOPS_HEALTH__PORT", "9100", lambda s: (s.health.port, s.health.enabled)),
        ("K8S_CHATOPS_SLACK__MODE", "socket", lambda s: (s.slack.mode, s.slack.command)),
        ("K8S_CHATOPS_LOG_LEVEL", "DEBUG", lambda s: (s.log_level,)),
        ("K8S_CHATOPS_STATE_DIR", "/var/lib/bot", lambda s: (str(s.state_dir),)),
    ],
)
def test_every_setting_from_the_environment_wins_over_the_file_key_by_key(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, read: Any
) -> None:
    before = read(load_settings(config_file))
    monkeypatch.setenv(variable, value)
    after = read(load_settings(config_file))
    assert str(after[0]) == value and after[0] != before[0]
    assert after[1:] == before[1:], "the section's other keys still come from the file"


def test_keyword_overrides_win_over_the_environment(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K8S_CHATOPS_LOG_LEVEL", "DEBUG")
    assert load_settings(config_file, log_level="WARNING").log_level == "WARNING"


def test_without_a_file_the_environment_alone_configures_slack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-env")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-env")
    settings = load_settings(None)
    assert secret(settings, "bot_token") == "xoxb-env" and secret(settings, "app_token") == "xapp-env"


# -- a running bot whose signing secret is rotated through its environment ---------------------------


@pytest.fixture
def http_bot(tmp_path: Path) -> Iterator[tuple[SlackSender, BotProcess, str]]:
    world, cluster, location = build_world(scenario="regional-healthy", nodes=None, pods=None)
    with SimServer(world) as server:
        assert server.endpoints is not None
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.endpoints.kube, context="sim", cluster=cluster)
        config: dict[str, Any] = bot_config(
            server.endpoints, world, kubeconfig=kubeconfig, cluster=cluster, location=location, state_dir=tmp_path / "state"
        )
        http_port, health_port = free_port(), free_port()
        old_secret = "the-old-signing-secret"
        config["slack"].update(mode="http", http_host="127.0.0.1", http_port=http_port, signing_secret=old_secret)
        config["health"] = {"enabled": True, "host": "127.0.0.1", "port": health_port}
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        # The file (a ConfigMap, say) still holds the old secret; the environment holds the new one.
        bot = BotProcess(path, tmp_path / "bot.log", env={"SLACK_SIGNING_SECRET": world.slack.signing_secret})
        try:
            wait_until(lambda: probe(health_port, "/readyz")[0] == 200, 60, "the bot serving Slack over HTTP")
            yield SlackSender(world, server, bot_url=f"http://127.0.0.1:{http_port}/slack/events"), bot, old_secret
        finally:
            bot.stop()


def test_a_signing_secret_rotated_through_the_environment_refuses_the_old_one(
    http_bot: tuple[SlackSender, BotProcess, str],
) -> None:
    sender, bot, old_secret = http_bot
    workspace = sender.workspace
    new_secret = workspace.signing_secret
    workspace.signing_secret = old_secret  # a request signed as before the rotation
    try:
        stale = sender.slash_command("/k8s", "help", via="http")
    finally:
        workspace.signing_secret = new_secret
    assert stale.status == 401 and not stale.acked
    fresh = sender.slash_command("/k8s", "help", via="http")
    assert fresh.status == 200 and fresh.acked
    answer = workspace.wait_for(lambda: workspace.responses(fresh.response_url_id), 20)
    assert "nodes" in answer[0].all_text()
    assert workspace.responses(stale.response_url_id) == [], "the stale request ran nothing"
    assert "Traceback" not in bot.output()
