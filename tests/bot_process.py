"""`k8s-chatops run` as an operator starts it: its own process, a config file, nothing from the test's environment.

Tests that need the real process (a SIGKILL, an exit code, what it prints)
start it with ``BotProcess``; ``free_port`` picks a port for its health
server, and ``probe`` reads that server the way kubelet does.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

PROCESS_TIMEOUT = 30  # a generous bound on a process that should already be gone


def bot_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test's environment without any bot setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("K8S_CHATOPS_", "SLACK_"))}
    env.update(extra or {})
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return int(probe_socket.getsockname()[1])


def probe(port: int, path: str, method: str = "GET") -> tuple[int | None, str]:
    """(status, body) of the bot's health server, or (None, why) when nothing answers."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (urllib.error.URLError, OSError) as error:
        return None, str(error)


class BotProcess:
    """`k8s-chatops run --config CONFIG`, its stdout and stderr in ``log``."""

    def __init__(self, config: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
                stdout=out, stderr=subprocess.STDOUT, env=bot_env(env),
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self, timeout: float = PROCESS_TIMEOUT) -> int:
        return self.popen.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(PROCESS_TIMEOUT)

    def stop(self) -> None:
        """SIGTERM, as Kubernetes stops a pod; SIGKILL if it does not end."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(PROCESS_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
