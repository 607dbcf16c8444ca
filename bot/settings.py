"""The bot's configuration: one typed object, loaded once and passed down.

Sources, in order of precedence: keyword overrides (tests, the demo), the
environment (``K8S_CHATOPS_...`` with ``__`` between nested names, then the
conventional ``SLACK_BOT_TOKEN`` / ``SLACK_APP_TOKEN`` / ``SLACK_SIGNING_SECRET``
/ ``SLACK_API_URL``), then a YAML file (``--config`` or ``K8S_CHATOPS_CONFIG``).
A key the environment sets wins over the file's, nested keys one by one (the
file's other ``slack:`` keys stay), so a secret rotated in the environment
replaces the one a ConfigMap still holds. Nothing else in the code base reads
the environment.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from bot.errors import BadInput

CLUSTER_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
SENSITIVE_COMMANDS = ("logs", "ssh")


class Section(BaseModel):
    """Nested configuration: an unknown key is a typo, and a typo should not pass silently."""

    model_config = ConfigDict(extra="forbid")


class GkeConfig(Section):
    """Where the cluster lives in Google Cloud; turns on everything GKE-specific."""

    project: str
    location: str = Field(description="Region for a regional cluster, zone for a zonal one")
    cluster: str
    container_endpoint: str | None = Field(
        None, description="Override of container.googleapis.com (http://host:port for the simulated world)"
    )
    compute_endpoint: str | None = Field(None, description="Override of compute.googleapis.com")
    logging_endpoint: str | None = Field(None, description="Override of logging.googleapis.com")
    anonymous: bool = Field(False, description="Use no credentials (only for the simulated world)")


class ClusterConfig(Section):
    """One cluster the bot serves."""

    name: str
    kubeconfig: Path | None = Field(None, description="Kubeconfig file; default ~/.kube/config")
    context: str | None = Field(None, description="Kubeconfig context; default the current one")
    in_cluster: bool = Field(False, description="Use the pod's service account")
    gke: GkeConfig | None = None
    cloud_logging: bool = Field(True, description="Read logs from Cloud Logging (GKE only)")
    request_timeout_seconds: float = Field(10.0, gt=0, le=120)
    alert_channel: str | None = Field(
        None, description="Channel ID or name for this cluster's incidents; default alerts.channel"
    )

    @field_validator("name")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not CLUSTER_NAME.match(value):
            raise ValueError("cluster names are lowercase letters, digits and '-', at most 40 characters")
        return value

    @property
    def uses_cloud_logging(self) -> bool:
        return self.gke is not None and self.cloud_logging


class SlackConfig(Section):
    mode: Literal["socket", "http"] = "socket"
    command: str = Field("/k8s", description="The slash command, as configured in the Slack app")
    bot_token: SecretStr | None = None
    app_token: SecretStr | None = Field(None, description="xapp- token, Socket Mode only")
    signing_secret: SecretStr | None = Field(None, description="HTTP mode only")
    api_url: str | None = Field(None, description="Web API base URL; default https://slack.com/api/")
    timeout_seconds: float = Field(30.0, gt=0, le=300, description="How long one Slack Web API request may take")
    http_host: str = "0.0.0.0"
    http_port: int = Field(3000, ge=0, le=65535)
    http_path: str = "/slack/events"
    channel_clusters: dict[str, str] = Field(
        default_factory=dict, description="Default cluster per channel (ID or name)"
    )
    answer_workers: int = Field(4, ge=1, le=64, description="Answers computed at once; acks never wait for them")
    answer_backlog: int = Field(100, ge=0, description="Answers waiting beyond that before requests are refused as busy")

    @field_validator("command")
    @classmethod
    def _slash(cls, value: str) -> str:
        if not re.fullmatch(r"/[a-z0-9_-]{1,31}", value):
            raise ValueError("the command is a slash followed by up to 31 lowercase letters, digits, '-' or '_'")
        return value


class AccessRule(Section):
    """Grants ``commands`` to whoever matches any of users, usergroups or channels."""

    commands: list[str]
    users: list[str] = Field(default_factory=list, description="Slack user IDs")
    usergroups: list[str] = Field(default_factory=list, description="User group handles or IDs")
    channels: list[str] = Field(default_factory=list, description="Channel IDs or names")


class AccessConfig(Section):
    sensitive: list[str] = Field(
        default_factory=lambda: list(SENSITIVE_COMMANDS),
        description="Commands nobody may run unless a rule grants them",
    )
    open_to_all: bool = Field(True, description="Non-sensitive commands are allowed to everyone")
    rules: list[AccessRule] = Field(default_factory=list)


class AlertConfig(Section):
    enabled: bool = True
    channel: str = Field("#k8s-alerts", description="Channel ID or name for incidents")
    interval_seconds: int = Field(60, ge=5)
    jitter_seconds: int = Field(5, ge=0)
    pending_grace_seconds: int = Field(300, ge=0, description="Pods unschedulable this long open an incident")
    notready_grace_seconds: int = Field(180, ge=0)
    unregistered_grace_seconds: int = Field(600, ge=0, description="VMs running this long without a node")
    clear_after_checks: int = Field(3, ge=1, description="Consecutive clean checks before an incident resolves")
    recovery_seconds: int = Field(
        600, ge=0,
        description="A node Ready again this long has recovered; NotReady sooner continues the same trouble, as a flap",
    )
    reopen_seconds: int = Field(
        1800, ge=0, description="An incident back this soon after resolving reopens in its own thread"
    )
    vm_refresh_seconds: int = Field(
        300, ge=0, description="Node-pool VM lists are re-read at most this often (0: every check)"
    )
    change_threshold: float = Field(
        0.2, ge=0, description="Relative change of a count that is worth a thread update"
    )
    digest_cron: str = Field("0 9 * * *", description="Crontab line for the daily digest")
    timezone: str = "UTC"
    evidence: bool = Field(
        True, description="Post a new incident's evidence in its thread (logs, console, conditions, the operation)"
    )
    evidence_budget_seconds: float = Field(
        20.0, gt=0, le=300, description="Gathering one incident's evidence stops after this long; what is unread is named"
    )


class LeaderElectionConfig(Section):
    """Two replicas, one poster: a Lease in the cluster the bot runs in picks the leader."""

    enabled: bool = Field(False, description="Off: this process always leads (one replica)")
    cluster: str | None = Field(None, description="Cluster holding the Lease; default the in-cluster one")
    namespace: str = "k8s-chatops"
    lease_name: str = "k8s-chatops-leader"
    identity: str = Field(default_factory=socket.gethostname, description="This replica's name (the pod name)")
    lease_seconds: int = Field(15, ge=5, le=300)


class StateConfig(Section):
    """Where the incident store lives: SQLite in ``state_dir`` for one replica, PostgreSQL for two or more."""

    database_url: SecretStr | None = Field(
        None,
        description="PostgreSQL URL (postgresql://USER:PASSWORD@HOST:5432/DATABASE); it holds a password, so give it "
        "as K8S_CHATOPS_STATE__DATABASE_URL from a Secret. Unset: SQLite in state_dir (one replica only)",
    )
    migrate_on_start: bool = Field(
        True, description="Bring the schema up to date at start-up (one replica at a time); off: refuse an old schema"
    )
    pool_size: int = Field(5, ge=1, le=50, description="Connections kept open to PostgreSQL")
    max_overflow: int = Field(5, ge=0, le=50, description="Connections opened beyond pool_size under load")
    pool_timeout_seconds: float = Field(10.0, gt=0, le=300, description="Wait for a free pooled connection this long")
    connect_timeout_seconds: int = Field(5, ge=1, le=120, description="Give up connecting to PostgreSQL after this long")
    statement_timeout_seconds: float = Field(30.0, gt=0, le=3600, description="Cancel one SQL statement after this long")
    migration_lock_seconds: float = Field(
        120.0, gt=0, le=3600, description="Wait this long for another replica's migration to finish"
    )

    @field_validator("database_url")
    @classmethod
    def _supported(cls, value: SecretStr | None) -> SecretStr | None:
        scheme = value.get_secret_value().split(":", 1)[0] if value is not None else "postgresql"
        if scheme.split("+", 1)[0] not in ("postgresql", "postgres", "sqlite"):
            raise ValueError(f"a {scheme}: URL is not supported: PostgreSQL (postgresql://...) or SQLite (sqlite:///PATH)")
        return value


class HealthConfig(Section):
    enabled: bool = True
    host: str = "0.0.0.0"
    port: int = Field(8080, ge=0, le=65535)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="K8S_CHATOPS_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    clusters: list[ClusterConfig] = Field(default_factory=list)
    slack: SlackConfig = Field(default_factory=SlackConfig)
    access: AccessConfig = Field(default_factory=AccessConfig)
    alerts: AlertConfig = Field(default_factory=AlertConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    leader_election: LeaderElectionConfig = Field(default_factory=LeaderElectionConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    state_dir: Path = Field(Path(".k8s-chatops"), description="Incident store (SQLite) and other state")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        names = [c.name for c in self.clusters]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"cluster names must be unique; repeated: {', '.join(duplicates)}")
        if self.leader_election.cluster and self.leader_election.cluster not in names:
            raise ValueError(f"leader_election.cluster names unknown cluster {self.leader_election.cluster!r}")
        for channel, cluster in self.slack.channel_clusters.items():
            if cluster not in names:
                raise ValueError(f"slack.channel_clusters[{channel!r}] names unknown cluster {cluster!r}")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, ConventionalSlackEnv(settings_cls)]
        if settings_cls.model_config.get("yaml_file"):
            sources.append(YamlConfigSettingsSource(settings_cls))
        return tuple(sources)

    def cluster(self, name: str) -> ClusterConfig:
        for cluster in self.clusters:
            if cluster.name == name:
                return cluster
        known = ", ".join(c.name for c in self.clusters) or "none"
        raise BadInput(f"No cluster named `{name}` is configured (known: {known}).")


_CONVENTIONAL_ENV = {
    "SLACK_BOT_TOKEN": "bot_token",
    "SLACK_APP_TOKEN": "app_token",
    "SLACK_SIGNING_SECRET": "signing_secret",
    "SLACK_API_URL": "api_url",
}


class ConventionalSlackEnv(PydanticBaseSettingsSource):
    """``SLACK_BOT_TOKEN`` and the like, the names Slack's own tools read, as ``slack.*`` keys.

    Below ``K8S_CHATOPS_SLACK__...`` and above the YAML file.
    """

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # the whole source is read at once, by __call__

    def __call__(self) -> dict[str, Any]:
        slack = {field: os.environ[var] for var, field in _CONVENTIONAL_ENV.items() if os.environ.get(var)}
        return {"slack": slack} if slack else {}


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


def _check_yaml(config_file: Path) -> None:
    """A file that is not YAML, or not a mapping, is one sentence, not a parser's trace."""
    try:
        data = yaml.safe_load(config_file.read_text())
    except OSError as exc:
        raise ConfigError(f"configuration file {config_file} cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise ConfigError(f"configuration file {config_file} is not valid YAML: {problem}{where}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(
            f"configuration file {config_file} must be a mapping of settings (clusters:, slack:, ...), "
            f"not a {type(data).__name__}"
        )


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Build the settings from a YAML file, the environment and ``overrides``."""
    path = path or os.environ.get("K8S_CHATOPS_CONFIG")
    settings_cls: type[Settings] = Settings
    if path:
        config_file = Path(path)
        if not config_file.is_file():
            raise ConfigError(f"configuration file {config_file} does not exist")
        _check_yaml(config_file)
        settings_cls = type(
            "FileSettings", (Settings,), {"model_config": {**Settings.model_config, "yaml_file": str(config_file)}}
        )
    try:
        settings = settings_cls(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
    return settings
