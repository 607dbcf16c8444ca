"""What ships: the bot's wheel holds the bot alone; the simulator is a distribution of its own.

Both wheels are built offline from a copy of the source tree (the simulator
included, so a packaging rule that let it into the bot's wheel would show),
and read back as zip files. Then the production CLI is run with the simulator
made unimportable, as in the image: `k8s-chatops demo` and `k8s-chatops sim`
say in one line what to install and exit 2.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 300
BUILD_LEFTOVERS = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")


def _build_wheel(source: Path, out: Path) -> zipfile.ZipFile:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(out), str(source)],
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [wheel] = out.glob("*.whl")
    return zipfile.ZipFile(wheel)


def _metadata(wheel: zipfile.ZipFile) -> list[str]:
    [name] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return Parser().parsestr(wheel.read(name).decode()).get_all("Requires-Dist") or []


def _top_level(wheel: zipfile.ZipFile) -> set[str]:
    return {n.split("/")[0] for n in wheel.namelist() if not n.split("/")[0].endswith(".dist-info")}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files a build would see, copied so that building leaves nothing in the working tree."""
    major = int(metadata.version("setuptools").split(".")[0])
    assert major >= 77, "building offline needs setuptools>=77 in this environment: pip install -e '.[dev]'"
    tree = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, tree / name)
    for package in ("bot", "handlers", "sim"):
        shutil.copytree(REPO / package, tree / package, ignore=BUILD_LEFTOVERS)
    return tree


@pytest.fixture(scope="module")
def bot_wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    return _build_wheel(source, tmp_path_factory.mktemp("bot-wheel"))


@pytest.fixture(scope="module")
def sim_wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    return _build_wheel(source / "sim", tmp_path_factory.mktemp("sim-wheel"))


def test_the_bot_wheel_holds_only_bot_and_handlers(bot_wheel: zipfile.ZipFile) -> None:
    assert _top_level(bot_wheel) == {"bot", "handlers"}
    assert "bot/cli.py" in bot_wheel.namelist()
    assert not [n for n in bot_wheel.namelist() if n.startswith("sim/") or n.endswith(("/demo.py", ".yaml"))]


def test_the_bot_wheel_does_not_ask_for_the_simulators_libraries(bot_wheel: zipfile.ZipFile) -> None:
    requires = [r.split(";")[0].strip().lower() for r in _metadata(bot_wheel)]
    assert requires, "no Requires-Dist at all: the metadata was not read"
    assert not [r for r in requires if r.startswith(("aiohttp", "k8s-chatops-sim"))], requires


def test_the_simulator_wheel_holds_every_module_and_scenario(sim_wheel: zipfile.ZipFile) -> None:
    names = set(sim_wheel.namelist())
    assert _top_level(sim_wheel) == {"sim"}
    # Its package list is written by hand; a new module or subpackage must not be left behind.
    sources = {
        "sim/" + path.relative_to(REPO / "sim").as_posix()
        for path in (REPO / "sim").rglob("*.py")
        if not {"build", "__pycache__"} & set(path.relative_to(REPO / "sim").parts)
    }
    assert sources <= names, sorted(sources - names)
    assert "sim/demo.py" in names
    scenarios = {p.name for p in (REPO / "sim" / "scenarios").glob("*.yaml")}
    assert scenarios and {f"sim/scenarios/{s}" for s in scenarios} <= names
    requires = [r.split(";")[0].strip().lower() for r in _metadata(sim_wheel)]
    assert "k8s-chatops" in requires
    assert any(r.startswith("aiohttp") for r in requires), requires


# The production CLI without the simulator: a finder ahead of every other refuses `sim`,
# as if only the bot's wheel were installed.
WITHOUT_SIM = textwrap.dedent(
    """
    import sys

    class NoSimulator:
        def find_spec(self, name, path=None, target=None):
            if name == "sim" or name.startswith("sim."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoSimulator())
    from bot.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.parametrize("command", ["demo", "sim"])
def test_simulator_commands_without_the_simulator_say_what_to_install(command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_SIM, command, "--scenario", "zonal-shortfall"],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"k8s-chatops {command} needs the simulator: pip install -e ./sim (from a checkout of this repository)"
    ]


def test_simulator_commands_hand_their_options_to_the_simulator() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "sim", "--help"],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: k8s-chatops sim ")
    assert "--scenario" in done.stdout and "--port-base" in done.stdout
