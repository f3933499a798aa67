"""`--help` of every command reads one way: flags take no value, choices are listed, and a
default is always `[default: X]`."""

from __future__ import annotations

import re

import pytest


def all_commands():  # typer vendors its own click: duck-typed
    import typer.main

    from factory.cli import app

    def walk(command, path):
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    return list(walk(typer.main.get_command(app), []))


def help_text(cli, monkeypatch, path: list[str]) -> str:
    monkeypatch.setenv("COLUMNS", "250")  # one line per option: no wrapping to match across
    result = cli(*path, "--help")
    assert result.code == 0, result.err
    return result.out


def test_every_command_uses_the_factory_help():
    from factory.cli.help_format import FactoryCommand, FactoryGroup

    for path, command in all_commands():
        wanted = FactoryGroup if hasattr(command, "commands") else FactoryCommand
        assert isinstance(command, wanted), f"factory {' '.join(path)} is a {type(command)}"


@pytest.mark.parametrize("path", [p for p, _ in all_commands()], ids=" ".join)
def test_help_shows_flags_as_flags_and_defaults_alike(cli, monkeypatch, path):
    text = help_text(cli, monkeypatch, path)
    assert "<bool>" not in text
    assert "(default" not in text, "a default written into the help text instead of shown"
    assert "[default: (" not in text


def test_a_flag_line_names_no_type_and_choices_are_listed(cli, monkeypatch):
    generate = help_text(cli, monkeypatch, ["generate"])
    dry_run = next(line for line in generate.splitlines() if "--dry-run" in line)
    assert re.search(r"--dry-run\s+Use the scripted backend", dry_run)
    assert "<local|openai|vllm|distilabel|scripted>" in generate
    assert "[default: 5]" in generate and "[default: local]" in generate
    curate = help_text(cli, monkeypatch, ["curate"])
    assert "<major|minor|patch>" in curate and "[default: minor]" in curate
    export = help_text(cli, monkeypatch, ["export"])
    assert "<messages|esconv>" in export and "<train|validation|test>" in export


def test_generate_groups_its_options_in_panels(cli, monkeypatch):
    text = help_text(cli, monkeypatch, ["generate"])
    panels = re.findall(r"╭─ (.+?) ─", text)
    assert panels == ["Options", "What to make", "Output", "Backend", "Budget", "Scale-out"]


def test_help_defaults_come_from_the_config_models():
    from factory.cli.help_format import config_default
    from factory.runs.config import GenerationConfig
    from factory.scenarios.builder import ScenarioConfig

    assert config_default(GenerationConfig, "n") == str(GenerationConfig().n)
    assert config_default(GenerationConfig, "backend") == "local"
    assert config_default(GenerationConfig, "roleplay.taxonomy") == "esconv"
    assert config_default(ScenarioConfig, "mix") == "uniform"


def test_help_leaves_the_options_as_they_were(cli, monkeypatch, tmp_path):
    # Help dresses options for display only: a run after it still reads the config's n.
    help_text(cli, monkeypatch, ["generate"])
    config = tmp_path / "c.yaml"
    config.write_text("n: 2\n")
    result = cli("generate", "--dry-run", "-c", str(config), "-o", str(tmp_path / "run"))
    assert result.code == 0, result.err
    assert "wrote 2 dialogues" in result.out
