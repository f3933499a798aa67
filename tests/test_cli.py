"""`factory generate` from the command line: the happy path and every user error as one line."""

import json
from pathlib import Path

import pytest


def test_dry_run_writes_a_run(cli, tmp_path):
    out = tmp_path / "run"
    result = cli("generate", "--dry-run", "-n", "3", "--out", str(out))
    assert result.code == 0, result.err
    assert "wrote 3 dialogues (0 already there)" in result.out
    assert "end reasons:" in result.out
    assert len((out / "dialogues.jsonl").read_text().splitlines()) == 3
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    assert "progress: 3/3 dialogues" in result.err  # not a terminal: plain progress lines


def test_openai_backend_against_fake_server(cli, tmp_path, fake_server):
    out = tmp_path / "run"
    result = cli(
        "generate",
        "-b",
        "openai",
        "--model",
        "fake",
        "--base-url",
        fake_server.url,
        "-m",
        "served",
        "-n",
        "2",
        "-o",
        str(out),
    )
    assert result.code == 0, result.err
    assert {r["model"] for r in fake_server.requests} == {"served"}
    row = json.loads((out / "dialogues.jsonl").read_text().splitlines()[0])
    assert row["generation"]["backend"] == "openai"
    assert row["generation"]["model"] == "served"


def test_config_file_and_flags(cli, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "n: 2\nseed: 3\nroleplay:\n  taxonomy: extes\n  max_exchanges: 2\n  min_exchanges: 1\n"
    )
    out = tmp_path / "run"
    result = cli("generate", "--config", str(config), "--dry-run", "--seed", "4", "-o", str(out))
    assert result.code == 0, result.err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["seed"] == 4  # the flag wins over the file
    assert manifest["config"]["n"] == 2
    assert manifest["taxonomy"] == "extes"


def test_scenario_bank(cli, tmp_path, scenario):
    bank = tmp_path / "bank.jsonl"
    bank.write_text(scenario.model_dump_json() + "\n")
    out = tmp_path / "run"
    result = cli("generate", "--dry-run", "-n", "1", "--scenarios", str(bank), "-o", str(out))
    assert result.code == 0, result.err
    row = json.loads((out / "dialogues.jsonl").read_text())
    assert row["scenario"]["id"] == "s1" and row["persona"]["name"] == "Ana"


def test_a_bank_is_one_bank_by_any_path_and_an_edited_bank_is_refused(
    cli, tmp_path, scenario, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    bank = tmp_path / "bank.jsonl"
    others = [scenario.model_copy(update={"id": f"s{i}"}) for i in range(2, 7)]
    bank.write_text("".join(s.model_dump_json() + "\n" for s in [scenario, *others]))
    out = tmp_path / "run"

    def run(n: str, path: str):
        return cli("generate", "--dry-run", "-n", n, "--scenarios", path, "-o", str(out))

    assert run("3", "./bank.jsonl").code == 0
    # The same bank by its absolute path extends the run: it used to be "another config".
    result = run("4", str(bank))
    assert result.code == 0, result.err
    assert "wrote 1 dialogues (3 already there)" in result.out
    # Edited in place: the planned dialogues differ, so the run is refused, not mixed.
    edited = [s.model_copy(update={"situation": "Something else happened."}) for s in others]
    bank.write_text("".join(s.model_dump_json() + "\n" for s in [scenario, *edited]))
    refused = run("6", str(bank))
    one_line_error(refused, "was made from other scenarios", "was the scenario bank edited?")
    assert len((out / "dialogues.jsonl").read_text().splitlines()) == 4


def one_line_error(result, *fragments: str) -> None:
    assert result.code == 1
    lines = [x for x in result.err.strip().splitlines() if not x.startswith("progress: ")]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    "yaml_text, fragments",
    [
        ("n: 2\nbogus: 1\n", ["unknown key 'bogus'", "allowed here: n, seed"]),
        (
            "roleplay:\n  max_exchange: 3\n",
            ["unknown key 'roleplay.max_exchange'", "max_exchanges"],
        ),
        ("sampling:\n  temperature: 9\n", ["sampling.temperature", "less than or equal to 2"]),
        (
            "backend:\n  kind: openai\n  transport: nope\n",
            ["backend.transport", "'http' or 'sdk'"],
        ),
        (
            "roleplay:\n  min_exchanges: 5\n  max_exchanges: 2\n",
            ["min_exchanges (5) must not exceed"],
        ),
        ("n: true\n", ["n: expected a number, not true"]),
        ("roleplay: {strategy_mix: false}\n", ["strategy_mix: expected text, not false"]),
        ("[1, 2]\n", ["top level must be a mapping"]),
        ("n: [unclosed\n", ["not valid YAML"]),
    ],
)
def test_bad_config_is_one_line(cli, tmp_path, yaml_text, fragments):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml_text)
    out = tmp_path / "run"
    one_line_error(
        cli("generate", "--config", str(config), "--dry-run", "-o", str(out)),
        str(config),
        *fragments,
    )
    assert not out.exists()


def test_missing_config_file(cli, tmp_path):
    one_line_error(cli("generate", "--config", str(tmp_path / "nope.yaml")), "not found")


def test_unknown_backend(cli):
    one_line_error(cli("generate", "--backend", "gpt5"), "'gpt5' is not one of")


def test_unknown_option(cli):
    one_line_error(cli("generate", "--frobnicate"), "No such option")


def test_bad_number(cli):
    one_line_error(
        cli("generate", "--dry-run", "-n", "0"), "n: Input should be greater than or equal to 1"
    )


def test_unreachable_server_leaves_nothing_behind(cli, tmp_path):
    out = tmp_path / "run"
    result = cli(
        "generate",
        "-b",
        "openai",
        "--model",
        "fake",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "-o",
        str(out),
    )
    one_line_error(
        result, "cannot reach an OpenAI-compatible server at http://127.0.0.1:9/v1", "--base-url"
    )
    assert not out.exists()


def test_missing_model_file(cli, tmp_path):
    one_line_error(
        cli("generate", "-m", str(tmp_path / "x.gguf"), "-o", str(tmp_path / "r")),
        "x.gguf not found",
    )


def test_unwritable_out_dir(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    one_line_error(
        cli("generate", "--dry-run", "-o", str(blocker / "run")), "cannot write to", "--out"
    )
    one_line_error(cli("generate", "--dry-run", "-o", str(blocker)), "not a directory")


def test_unknown_taxonomy(cli, tmp_path):
    one_line_error(
        cli("generate", "--dry-run", "--taxonomy", "nope", "-o", str(tmp_path / "r")),
        "esconv, extes",
    )


def test_bad_scenario_bank(cli, tmp_path):
    bank = tmp_path / "bank.jsonl"
    bank.write_text('{"id": "x"}\n')
    one_line_error(
        cli(
            "generate", "--dry-run", "-n", "1", "--scenarios", str(bank), "-o", str(tmp_path / "r")
        ),
        "bank.jsonl:1",
    )
    one_line_error(
        cli(
            "generate",
            "--dry-run",
            "-n",
            "1",
            "--scenarios",
            str(tmp_path / "no.jsonl"),
            "-o",
            str(tmp_path / "r"),
        ),
        "not found",
    )


def test_help_is_instant_without_heavy_imports():
    import subprocess
    import sys

    code = "import sys; from factory.cli import app; assert not {'llama_cpp', 'openai', 'torch', 'aiohttp'} & set(sys.modules), sorted(sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_output_path_is_printed(cli, tmp_path: Path):
    result = cli("generate", "--dry-run", "-n", "1", "-o", str(tmp_path / "r"))
    assert str(tmp_path / "r" / "dialogues.jsonl") in result.out


def test_non_utf8_files_are_one_line_errors(cli, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_bytes(b"n: 2\n# caf\xe9\n")
    one_line_error(cli("generate", "--config", str(config), "--dry-run"), "not UTF-8")
    bank = tmp_path / "bank.jsonl"
    bank.write_bytes(b"\xff\xfe")
    out = tmp_path / "run"
    one_line_error(
        cli("generate", "--dry-run", "--scenarios", str(bank), "-o", str(out)), "not UTF-8"
    )
    taxonomy = tmp_path / "t.yaml"
    taxonomy.write_bytes(b"name: x\xff\n")
    one_line_error(
        cli("generate", "--dry-run", "--taxonomy", str(taxonomy), "-o", str(out)), "not UTF-8"
    )
    assert not out.exists()


def test_bad_bank_leaves_no_run_directory(cli, tmp_path, scenario):
    bank = tmp_path / "bank.jsonl"
    bank.write_text(scenario.model_dump_json() + "\n" + scenario.model_dump_json() + "\n")
    out = tmp_path / "run"
    one_line_error(
        cli("generate", "--dry-run", "-n", "2", "--scenarios", str(bank), "-o", str(out)),
        "appears twice",
    )
    one_line_error(
        cli("generate", "--dry-run", "-n", "5", "--scenarios", str(bank), "-o", str(out)),
        "holds 2 scenarios",
    )
    assert not out.exists()


def test_run_directory_holding_a_folder_where_a_file_goes(cli, tmp_path):
    out = tmp_path / "run"
    (out / "dialogues.jsonl").mkdir(parents=True)
    one_line_error(cli("generate", "--dry-run", "-o", str(out)), "dialogues.jsonl is not a file")


def test_failed_dialogues_make_the_run_exit_1(cli, tmp_path, fake_server):
    from factory.testing.fake_openai import FakeReply

    fake_server.enqueue(FakeReply(status=503, body="{}"))  # the first dialogue fails once
    out = tmp_path / "run"
    args = ["generate", "-b", "openai", "--model", "fake", "--base-url", fake_server.url, "-n", "2"]
    args += ["--concurrency", "1", "-o", str(out), "--config", str(_no_retries(tmp_path))]
    result = cli(*args)
    assert result.code == 1
    assert "wrote 1 dialogues" in result.out
    assert "error: 1 dialogues failed on the backend" in result.err
    assert "rerun the same command to retry them" in result.err
    again = cli(*args)
    assert again.code == 0, again.err
    assert "wrote 1 dialogues (1 already there)" in again.out


def _no_retries(tmp_path: Path) -> Path:
    config = tmp_path / "no-retries.yaml"
    config.write_text("backend:\n  max_retries: 0\n")
    return config


def test_a_key_given_twice_in_a_config_is_one_line(cli, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("n: 3\nseed: 4\nn: 5\n")  # YAML keeps the last value without a word
    result = cli("generate", "--dry-run", "--config", str(config), "-o", str(tmp_path / "r"))
    one_line_error(result, "not valid YAML", "key 'n' is given twice")


def test_openai_without_a_model_is_one_line(cli, tmp_path, fake_server):
    out = tmp_path / "run"
    result = cli(
        "generate", "-b", "openai", "--base-url", fake_server.url, "-n", "1", "-o", str(out)
    )
    one_line_error(result, "backend.model is not set", f"GET {fake_server.url}/models")
    assert not out.exists() and not fake_server.requests


def test_a_model_the_server_does_not_serve_is_one_line(cli, tmp_path):
    from factory.testing.fake_openai import FakeOpenAIServer

    out = tmp_path / "run"
    with FakeOpenAIServer(models=("qwen", "qwen-small")) as server:
        result = cli("generate", "-b", "openai", "--base-url", server.url, "-m", "gpt-4o-mini",
                     "-n", "2", "-o", str(out))  # fmt: skip
        one_line_error(result, "model 'gpt-4o-mini' is not served", "it serves qwen, qwen-small")
        assert not server.requests
        served = cli("generate", "-b", "openai", "--base-url", server.url, "-m", "qwen",
                     "-n", "1", "-o", str(out))  # fmt: skip
        assert served.code == 0, served.err
    assert not (out / "failures.jsonl").exists()


def test_a_run_whose_every_dialogue_failed_is_not_complete(cli, tmp_path, fake_server):
    from factory.testing.fake_openai import FakeReply

    # A model that never writes the JSON asked of it: every dialogue ends in error:parse.
    fake_server.enqueue(*[FakeReply(content="sure, here is my answer") for _ in range(40)])
    out = tmp_path / "run"
    result = cli("generate", "-b", "openai", "--base-url", fake_server.url, "-m", "fake",
                 "-n", "3", "--concurrency", "1", "-o", str(out))  # fmt: skip
    one_line_error(result, "every one of the 3 dialogues ended in an error (error:parse 3)")
    assert json.loads((out / "manifest.json").read_text())["status"] == "failed"


def test_a_streak_of_refusals_quotes_the_server_and_does_not_say_resume(cli, tmp_path, fake_server):
    from factory.testing.fake_openai import FakeReply

    refusal = '{"error": {"message": "temperature must be at most 1.0 for this model"}}'
    fake_server.enqueue(*[FakeReply(status=400, body=refusal) for _ in range(40)])
    result = cli("generate", "-b", "openai", "--base-url", fake_server.url, "-m", "fake",
                 "-n", "30", "--concurrency", "1", "-o", str(tmp_path / "run"))  # fmt: skip
    one_line_error(result, "the server refused 10 dialogues in a row", "temperature must be")
    assert "resume" not in result.err


def test_a_short_flag_means_one_thing_in_every_command():
    import typer.main

    from factory.cli import app

    def commands(group, path: str = "factory"):  # typer vendors its own click: duck-typed
        if hasattr(group, "commands"):
            for name, sub in group.commands.items():
                yield from commands(sub, f"{path} {name}")
        else:
            yield path, group

    meanings: dict[str, list[tuple[str, set[str]]]] = {}
    for path, command in commands(typer.main.get_command(app)):
        for param in command.params:
            if param.param_type_name != "option":
                continue
            longs = {o for o in param.opts if o.startswith("--")}
            for short in (o for o in param.opts if not o.startswith("--")):
                meanings.setdefault(short, []).append((path, longs))
    assert "-n" in meanings and "-o" in meanings
    for short, uses in meanings.items():
        shared = set.intersection(*(longs for _, longs in uses))
        assert shared, f"{short} means different things: {uses}"


def test_version(cli):
    from factory import __version__

    result = cli("--version")
    assert result.code == 0 and result.out.strip() == f"esc-factory {__version__}"


def test_a_refused_rerun_names_the_setting_that_differs(cli, tmp_path):
    out = tmp_path / "run"
    assert cli("generate", "--dry-run", "-n", "1", "--seed", "4", "-o", str(out)).code == 0
    other_seed = cli("generate", "--dry-run", "-n", "1", "--seed", "5", "-o", str(out))
    one_line_error(other_seed, "another config (seed: 4 -> 5)")
    config = tmp_path / "c.yaml"
    config.write_text("roleplay: {max_exchanges: 12}\nsampling: {temperature: 0.3}\n")
    edited = cli(
        "generate", "--dry-run", "-n", "1", "--seed", "4", "-c", str(config), "-o", str(out)
    )
    one_line_error(edited, "roleplay.max_exchanges: 30 -> 12", "sampling.temperature: 0.7 -> 0.3")


def test_the_default_run_folder_names_the_model():
    from factory.runs.config import load_config
    from factory.runs.launch import default_out

    qwen = load_config(
        None, {"backend.kind": "openai", "backend.model": "Qwen/Qwen2.5-7B-Instruct"}
    )
    assert default_out(qwen) == "outputs/runs/openai-Qwen2.5-7B-Instruct-seed7"
    assert default_out(load_config(None, {})) == "outputs/runs/local-seed7"


def test_progress_gives_no_eta_from_the_first_slow_items():
    import io

    from factory.models import Usage
    from factory.progress import LogProgress

    stream = io.StringIO()
    progress = LogProgress(stream, interval_s=0.0)
    progress.start(total=100, already=0)
    progress.advance(Usage(), errors=0)
    assert "ETA ?" in stream.getvalue()  # one item is no rate
    for _ in range(9):
        progress.advance(Usage(), errors=0)
    assert stream.getvalue().splitlines()[-1].startswith("progress: 10/100 dialogues")
    assert "ETA ?" not in stream.getvalue().splitlines()[-1]
