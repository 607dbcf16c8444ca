"""The bot, end to end, against the simulated world: what every end-to-end test drives.

``BotUnderTest`` points every client at a running ``SimServer`` (Slack Web
API, Socket Mode, response_urls, the Kubernetes and Google APIs), builds the
real router and the real bolt app, connects them over Socket Mode and HTTP,
and plays the user through the simulated Slack: ``slash``, ``mention`` and
``click`` send what Slack would send and return what the user then sees.

    with BotUnderTest(world) as bot:
        answer = bot.slash("nodes")
        assert "us-west1-b" in answer.all_text()

Tests that need a command set of their own pass ``registry=Registry(...)``;
the alerting tests pass ``alerts`` and ``thread_defaults``.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from slack_bolt import App
from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.alerts.engine import IncidentEngine
from bot.alerts.notifier import SlackNotifier
from bot.alerts.store import IncidentStore
from bot.blocks import Attachment, Reply
from bot.clusters import ClusterRegistry, build_clusters
from bot.commands.door import Door
from bot.commands.registry import AlertCommands, Arg, CommandContext, CommandSpec, Flag, ParsedArgs, Registry
from bot.health import Health
from bot.metrics import Metrics
from bot.settings import AccessConfig, AlertConfig, ClusterConfig, GkeConfig, HealthConfig, Settings, SlackConfig
from bot.slack.app import build_slack_app
from bot.slack.client import build_web_client
from bot.slack.transports import HttpTransport, SocketModeTransport
from sim.kube.kubeconfig import write_kubeconfig
from sim.server import Endpoints, SimServer
from sim.slack.records import Ephemeral, Message, ResponsePost
from sim.slack.sender import Delivery, SlackSender
from sim.world import World

Via = Literal["socket", "http"]
ANSWER_TIMEOUT = 20.0  # generous: a rate-limited answer waits out Retry-After first
CONNECT_TIMEOUT = 10.0


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` for state that is not on the Slack record (e.g. a socket being connected)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout}s")
        time.sleep(0.02)


def sim_cluster_configs(world: World, endpoints: Endpoints, directory: Path) -> list[ClusterConfig]:
    """The simulated world's cluster as the bot's configuration names it."""
    kubeconfig = directory / "kubeconfig"
    write_kubeconfig(kubeconfig, endpoints.kube)
    gke_clusters = world.google.clusters()
    if not gke_clusters:
        return [ClusterConfig(name="sim", kubeconfig=kubeconfig)]
    first = gke_clusters[0]
    return [
        ClusterConfig(
            name=first["name"],
            kubeconfig=kubeconfig,
            gke=GkeConfig(
                project=world.project,
                location=first["location"],
                cluster=first["name"],
                container_endpoint=endpoints.gke,
                compute_endpoint=endpoints.compute,
                logging_endpoint=endpoints.logging,
                anonymous=True,
            ),
        )
    ]


def build_cluster_registry(settings: Settings, clock: Any = None) -> ClusterRegistry:
    """The real cluster registry; ``clock`` is the world's, so log links span the simulated window."""
    if not settings.clusters:
        return ClusterRegistry([], settings.slack.channel_clusters)
    return build_clusters(settings, clock=clock)


def default_registry() -> Registry:
    """Every command the bot runs, as the runtime builds it."""
    from handlers import command_registry

    return command_registry()


@contextmanager
def incident_engine(alerts: AlertConfig, database: Path) -> Iterator[tuple[IncidentEngine, World]]:
    """The incident engine alone, on an SQLite store at ``database``, posting to a fresh simulated Slack."""
    world = World()
    with SimServer(world) as server:
        assert server.endpoints is not None
        store = IncidentStore(f"sqlite:///{database}")
        client = build_web_client(SlackConfig(bot_token=world.slack.bot_token, api_url=server.endpoints.slack))
        try:
            yield IncidentEngine(store, SlackNotifier(client, store, world.clock), world.clock, alerts), world
        finally:
            store.close()


class BotUnderTest:
    """The whole Slack side of the bot, running against ``world``; a context manager."""

    def __init__(
        self,
        world: World | None = None,
        *,
        server: SimServer | None = None,
        registry: Registry | None = None,
        access: AccessConfig | None = None,
        clusters: list[ClusterConfig] | None = None,
        cluster_registry: ClusterRegistry | None = None,
        alerts: AlertCommands | None = None,
        thread_defaults: Callable[[str, str], dict[str, str]] | None = None,
        transports: Sequence[Via] = ("socket", "http"),
        health: bool = False,
        command: str = "/k8s",
        state_dir: Path | None = None,
        settings_overrides: dict[str, Any] | None = None,
    ) -> None:
        self.world = world or World()
        self.server = server
        self._owns_server = server is None
        self._registry = registry
        self._access = access or AccessConfig()
        self._clusters = clusters
        self._cluster_registry = cluster_registry
        self._alerts = alerts
        self._thread_defaults = thread_defaults
        self._transport_names = tuple(transports)
        self._with_health = health
        self._command = command
        self._state_dir = state_dir
        self._overrides = dict(settings_overrides or {})
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.metrics = Metrics()
        self.settings: Settings | None = None
        self.door: Door | None = None
        self.app: App | None = None
        self.socket: SocketModeTransport | None = None
        self.http: HttpTransport | None = None
        self.health: Health | None = None
        self.sender: SlackSender | None = None

    # -- life cycle ------------------------------------------------------------------

    @property
    def endpoints(self) -> Endpoints:
        assert self.server is not None and self.server.endpoints is not None, "the bot is not started"
        return self.server.endpoints

    def start(self) -> BotUnderTest:
        if self.server is None:
            self.server = SimServer(self.world)
        if self.server.endpoints is None:
            self.server.start()
        self._tmp = tempfile.TemporaryDirectory(prefix="k8s-chatops-test-")
        work_dir = Path(self._tmp.name)
        self.settings = self._settings(work_dir)
        clusters = self._cluster_registry or build_cluster_registry(self.settings, self.world.clock)
        self.door = Door(
            self.settings,
            clusters,
            self.world.clock,
            self._registry or default_registry(),
            alerts=self._alerts,
            metrics=self.metrics,
        )
        self.app = build_slack_app(
            self.settings,
            self.door,
            thread_defaults=self._thread_defaults,
            metrics=self.metrics,
        )
        if "http" in self._transport_names:
            self.http = HttpTransport(
                self.app, host="127.0.0.1", port=0, path=self.settings.slack.http_path,
                signing_secret=self.world.slack.signing_secret, metrics=self.metrics,
            )
            self.http.start()
        if "socket" in self._transport_names:
            self.socket = SocketModeTransport(self.app, self.world.slack.app_token)
            self.socket.connect()
            wait_until(self.socket.is_ready, CONNECT_TIMEOUT, "the Socket Mode connection")
        if self._with_health:
            self.health = Health(metrics=self.metrics)
            self.health.add_check("slack", self.slack_ready)
            self.health.start("127.0.0.1", 0)
        self.sender = SlackSender(self.world, self.server, bot_url=self.http.url if self.http else None)
        return self

    def slack_ready(self) -> bool | str:
        transports = [t for t in (self.socket, self.http) if t is not None]
        if transports and all(t.is_ready() for t in transports):
            return True
        return "Slack is not connected"

    def stop(self) -> None:
        if self.health is not None:
            self.health.stop()
        if self.socket is not None:
            if self._owns_server and self.sender is not None:
                # Slack's side first, when no other bot shares this server: the SDK's reader, blocked in a
                # read with a 3 s timeout that close() waits out, then returns at once.
                self.sender.drop_socket_connections()
            self.socket.close()
        if self.http is not None:
            self.http.stop()
        if self._owns_server and self.server is not None:
            self.server.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> BotUnderTest:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _settings(self, work_dir: Path) -> Settings:
        ws = self.world.slack
        clusters = self._clusters if self._clusters is not None else sim_cluster_configs(self.world, self.endpoints, work_dir)
        values: dict[str, Any] = {
            "clusters": clusters,
            "slack": SlackConfig(
                mode="socket" if "socket" in self._transport_names else "http",
                command=self._command,
                bot_token=ws.bot_token,
                app_token=ws.app_token,
                signing_secret=ws.signing_secret,
                api_url=self.endpoints.slack,
                http_host="127.0.0.1",
                http_port=0,
            ),
            "access": self._access,
            "health": HealthConfig(host="127.0.0.1", port=0),
            "state_dir": self._state_dir or work_dir / "state",
        }
        overrides = dict(self._overrides)
        slack = overrides.pop("slack", None)
        if isinstance(slack, dict):  # fields on top of the simulated workspace's tokens and URLs
            values["slack"] = values["slack"].model_copy(update=slack)
        elif slack is not None:
            values["slack"] = slack
        values.update(overrides)
        return Settings(**values)

    # -- what a user does ------------------------------------------------------------

    def send_slash(
        self, text: str, *, user: str = "alice", channel: str = "ops", via: Via | None = None, **signing: Any
    ) -> Delivery:
        """Send the slash command and return Slack's view of the ack, without waiting for the answer."""
        assert self.sender is not None and self.settings is not None, "the bot is not started"
        return self.sender.slash_command(
            self.settings.slack.command, text, user=user, channel=channel, via=via or self._default_via(), **signing
        )

    def answer_to(self, delivery: Delivery, timeout: float = ANSWER_TIMEOUT) -> ResponsePost:
        """The bot's (first) answer posted to the delivery's response_url."""
        url_id = delivery.response_url_id

        def answered() -> ResponsePost | None:
            posts = [p for p in self.world.slack.responses(url_id) if p.via == "response_url"]
            return posts[0] if posts else None

        return self.world.slack.wait_for(answered, timeout)

    def slash(self, text: str, *, user: str = "alice", channel: str = "ops", via: Via | None = None) -> ResponsePost:
        """Type ``/k8s text`` and return the answer as recorded at the response_url."""
        delivery = self.send_slash(text, user=user, channel=channel, via=via)
        if not delivery.acked:
            raise AssertionError(f"the bot did not ack the slash command: {delivery}")
        return self.answer_to(delivery)

    def mention(
        self,
        text: str,
        *,
        user: str = "alice",
        channel: str = "alerts",
        thread_ts: str | None = None,
        via: Via | None = None,
        timeout: float = ANSWER_TIMEOUT,
    ) -> Message | Ephemeral:
        """Mention the bot (in ``thread_ts``'s thread, or as a new message) and return its reply in the thread."""
        assert self.sender is not None, "the bot is not started"
        ws = self.world.slack
        seen_ephemerals = len(ws.ephemerals())  # counted first: the answer may beat the sender's return
        delivery = self.sender.app_mention(text, user=user, channel=channel, thread_ts=thread_ts, via=via or self._default_via())
        thread = thread_ts or delivery.message_ts
        assert thread is not None
        user_id = ws.user_id(user)

        def replied() -> Message | Ephemeral | None:
            for message in ws.thread(channel, thread):
                if message.user == ws.bot_user_id and float(message.ts) > float(delivery.message_ts or 0):
                    return message
            for ephemeral in ws.ephemerals()[seen_ephemerals:]:
                if ephemeral.user == user_id and ephemeral.thread_ts == thread:
                    return ephemeral
            return None

        return ws.wait_for(replied, timeout)

    def click(
        self,
        action_id: str,
        value: str = "",
        *,
        user: str = "alice",
        channel: str = "alerts",
        message_ts: str | None = None,
        thread_ts: str | None = None,
        via: Via | None = None,
        timeout: float = ANSWER_TIMEOUT,
    ) -> ResponsePost:
        """Click a button; without ``message_ts`` the bot first posts a message carrying it."""
        assert self.sender is not None, "the bot is not started"
        ws = self.world.slack
        if message_ts is None:
            button = {"type": "button", "action_id": action_id, "value": value, "text": {"type": "plain_text", "text": "Run"}}
            posted = ws.post_message(
                channel, user=ws.bot_user_id, text="buttons", thread_ts=thread_ts,
                blocks=[{"type": "actions", "block_id": "buttons", "elements": [button]}],
            )
            message_ts = posted.ts
        delivery = self.sender.block_action(
            action_id, value, user=user, channel=channel, message_ts=message_ts, thread_ts=thread_ts,
            via=via or self._default_via(),
        )
        if not delivery.acked:
            raise AssertionError(f"the bot did not ack the click: {delivery}")
        return self.answer_to(delivery, timeout)

    def _default_via(self) -> Via:
        return "socket" if "socket" in self._transport_names else "http"


class SampleCommands:
    """A tiny command set on its own registry, for testing the Slack side without real handlers.

    ``ran`` lists the handlers that actually ran, so a test can tell a refused
    command from one that ran and failed.
    """

    def __init__(self) -> None:
        self.ran: list[str] = []
        self._lock = threading.Lock()
        self.registry = Registry()
        for spec in (
            CommandSpec("echo", "Repeat words, and the thread's defaults", self._echo,
                        args=(Arg("words", optional=True),), flags=(Flag("--loud", takes_value=False),),
                        needs_cluster=False),
            CommandSpec("explode", "Always fails", self._explode, needs_cluster=False),
            CommandSpec("logs", "Component logs", self._logs, needs_cluster=False, sensitive=True),
            CommandSpec("table", "A long table", self._table, needs_cluster=False),
        ):
            self.registry.add(spec)

    def count(self, name: str) -> int:
        with self._lock:
            return self.ran.count(name)

    def _record(self, name: str) -> None:
        with self._lock:
            self.ran.append(name)

    def _echo(self, ctx: CommandContext, args: ParsedArgs) -> Reply:
        self._record("echo")
        text = f"echo: {args.get('words', '')}" + (" (loud)" if args.get("loud") else "")
        if ctx.invocation.defaults:
            text += " " + ",".join(f"{k}={v}" for k, v in sorted(ctx.invocation.defaults.items()))
        return Reply(text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=text))], plain=text)

    def _explode(self, ctx: CommandContext, args: ParsedArgs) -> Reply:
        self._record("explode")
        raise RuntimeError("Traceback secret-internal-detail at /srv/bot/handlers.py line 12")

    def _logs(self, ctx: CommandContext, args: ParsedArgs) -> Reply:
        self._record("logs")
        return Reply(text="kube-proxy log lines", plain="kube-proxy log lines")

    def _table(self, ctx: CommandContext, args: ParsedArgs) -> Reply:
        self._record("table")
        rows = "\n".join(f"node-{i} Ready" for i in range(300))
        return Reply(
            text="20 of 300 nodes shown, and 280 more",
            plain="20 of 300 nodes shown, and 280 more",
            public=ctx.public,
            attachment=Attachment(filename="nodes.txt", content=rows, title="All nodes"),
        )
