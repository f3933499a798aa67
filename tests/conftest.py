from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from factory.backends.scripted import ScriptedBackend
from factory.models import Persona, Scenario, ScenarioCore
from factory.roleplay.views import PublicTurn
from factory.runs.config import GenerationConfig, load_config
from factory.testing.fake_openai import FakeOpenAIServer


@pytest.fixture
def persona() -> Persona:
    return Persona(
        id="p1",
        name="Ana",
        age=30,
        gender="woman",
        occupation="a nurse",
        traits=["shy", "kind"],
        style="Short and quiet.",
    )


@pytest.fixture
def scenario(persona: Persona) -> Scenario:
    return Scenario(
        id="s1",
        persona=persona,
        problem_type="job crisis",
        emotion_type="anxiety",
        initial_intensity=4,
        situation="My ward is closing and I may lose my job.",
    )


@pytest.fixture
def core(scenario: Scenario) -> ScenarioCore:
    return scenario.core()


@pytest.fixture
def turns() -> tuple[PublicTurn, ...]:
    return (
        PublicTurn("seeker", "I feel awful."),
        PublicTurn("supporter", "What happened?", "Question"),
        PublicTurn("seeker", "My boss yelled at me in front of everyone."),
    )


@pytest.fixture
def config() -> GenerationConfig:
    return load_config(None, {"backend.kind": "scripted", "n": 4, "concurrency": 2})


@pytest.fixture
def scripted() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "run"


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Runs `factory ARGS...` in process, as the console script would."""
    from factory.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Small clean runs of every writing command (tests/clean_runs.py), made once: what the
    fault tests compare against."""
    from clean_runs import make_world

    return make_world(tmp_path_factory.mktemp("world"))
