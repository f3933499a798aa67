"""The documentation cannot drift from the code: the configuration reference is generated
from the settings models, and every settings key is described."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_configuration_page_is_the_one_the_models_generate():
    from factory.cli.reference import render_reference

    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == render_reference(), (
        "docs/configuration.md differs from the settings models: regenerate it with"
        " `python -m factory.cli.reference > docs/configuration.md`"
    )


def test_every_settings_key_is_described():
    from factory.cli.reference import reference_sections

    bare = [
        f"{page}: {row.key}"
        for page, sections in reference_sections().items()
        for section in sections
        for row in section.rows
        if not row.meaning
    ]
    assert not bare, f"give these fields a description=: {bare}"


def test_the_reference_shows_types_bounds_defaults_and_choices():
    from factory.cli.reference import render_reference

    page = render_reference()
    assert "| `concurrency` | integer, >= 1, <= 4096 | `8` |" in page
    assert "| `structured` | `json_schema` \\| `json_object` \\| `prompt` | `json_schema` |" in page
    assert "| `budget.prices.NAME.prompt` | number, >= 0 | required |" in page
    assert "### `kind: openai`" in page and "### `minhash_dedup`" in page
    # Every link inside the page lands on an anchor the page defines.
    import re

    anchors = set(re.findall(r'<a id="([^"]+)"></a>', page))
    headings = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", page, re.M)
    }
    for target in re.findall(r"\]\(#([^)]+)\)", page):
        assert target in anchors | headings, target


# -- examples/ ---------------------------------------------------------------------------


def load_example(path: Path):
    """An example through the loader its command uses; the file name says which."""
    from factory.dataset.preferences import PreferenceConfig
    from factory.filters.recipe import load_recipe
    from factory.runs.config import load_config
    from factory.scenarios.builder import ScenarioConfig
    from factory.settings import load_settings

    if path.name.startswith("recipe"):
        return load_recipe(str(path))
    if path.name.startswith("preferences"):
        return load_settings(PreferenceConfig, path)
    if path.name.startswith("personas"):
        return load_settings(ScenarioConfig, path)
    return load_config(path)


def test_every_example_loads_through_the_real_config_models():
    examples = sorted((ROOT / "examples").glob("*.yaml"))
    assert len(examples) >= 8
    for path in examples:
        load_example(path)  # a stale key or value raises ConfigError naming it


def test_the_examples_say_what_they_promise():
    from factory.backends.config import OpenAIOptions, StructuredMode

    llama = load_example(ROOT / "examples" / "llama-cpp.yaml")
    assert llama.backend.structured is StructuredMode.json_object
    replicas = load_example(ROOT / "examples" / "replicas.yaml")
    assert isinstance(replicas.backend, OpenAIOptions) and len(replicas.backend.base_urls) > 1
    hosted = load_example(ROOT / "examples" / "openai.yaml")
    assert hosted.budget.cost(hosted.backend.model, 10**6, 0) is not None  # priced
    recipe = load_example(ROOT / "examples" / "recipe-strict.yaml")
    assert "judge" in [name for name, _ in recipe.entries]
    # The example shown in datasets.md is the file.
    assert (ROOT / "examples" / "preferences.yaml").exists()


def test_the_all_keys_example_names_every_key_at_its_default():
    import yaml
    from pydantic import BaseModel

    from factory.backends.config import OpenAIOptions
    from factory.runs.config import GenerationConfig

    path = ROOT / "examples" / "generate-all-keys.yaml"
    written = yaml.safe_load(path.read_text())

    def keys(model, prefix=""):
        for name, info in model.model_fields.items():
            sub = OpenAIOptions if name == "backend" else info.annotation
            if isinstance(sub, type) and issubclass(sub, BaseModel):
                yield from keys(sub, f"{prefix}{name}.")
            else:
                yield f"{prefix}{name}"

    def has(data, dotted):
        for part in dotted.split("."):
            if not isinstance(data, dict) or part not in data:
                return False
            data = data[part]
        return True

    expected = list(keys(GenerationConfig))
    assert "backend.max_retry_after_s" in expected and "budget.prices" in expected
    missing = [k for k in expected if not has(written, k)]
    assert not missing, f"{path.name} lacks {missing}"
    model = written["backend"]["model"]
    assert load_example(path) == GenerationConfig(backend=OpenAIOptions(model=model))


# -- the README's quickstart, run as written ---------------------------------------------

QUICKSTART_MODEL = "Qwen/Qwen2.5-7B-Instruct"


def quickstart_commands() -> list[str]:
    """The shell lines of the README's quickstart block, continuations joined, comments
    and blank lines left out."""
    import re

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart on your own endpoint", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the quickstart section has no ```bash block"
    text = block.group(1).replace("\\\n", " ")
    lines = [line.split(" #", 1)[0].strip() for line in text.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_the_quickstart_runs_as_written(cli, tmp_path, monkeypatch):
    """Every command of the quickstart, verbatim, against the fake server; only the base
    URL the quickstart exports is pointed at it (and the Hub is a stand-in)."""
    import os
    import shlex

    from test_dataset import FakeHub

    from factory.dataset import hub
    from factory.testing.fake_openai import FakeOpenAIServer

    monkeypatch.chdir(tmp_path)
    fake_hub = FakeHub()
    monkeypatch.setattr(hub, "_api", lambda token: fake_hub)
    commands = quickstart_commands()
    assert [c.split()[1] for c in commands if c.startswith("factory ")] == [
        "generate", "filter", "curate", "versions", "eval", "view", "push"
    ]  # fmt: skip
    with FakeOpenAIServer(models=(QUICKSTART_MODEL,)) as server:
        for command in commands:
            words = shlex.split(command)
            if words[0] == "export":
                name, _, value = words[1].partition("=")
                if name == "OPENAI_BASE_URL":
                    value = server.url  # the one substitution
                monkeypatch.setenv(name, value)
                continue
            assert words[0] == "factory", f"the quickstart runs only factory: {command}"
            args = [os.path.expandvars(word) for word in words[1:]]
            result = cli(*args)
            assert result.code == 0, f"{command}\n{result.err}"
        assert server.requests, "generate never reached the server"
        assert {r["model"] for r in server.requests} == {QUICKSTART_MODEL}
    assert (tmp_path / "outputs/eval/first/report.md").is_file()
    assert (tmp_path / "outputs/first.html").is_file()
    assert [name for name, _ in fake_hub.calls][-1] == "create_tag"


# -- docs/cli.md and --help, held together -----------------------------------------------

TOP_LEVEL = "(top level)"


def cli_commands() -> dict[str, object]:
    """Every `factory` command by its name in the docs ("generate", "personas sample"), and
    the root group's own options under TOP_LEVEL."""
    import typer.main

    from factory.cli import app

    root = typer.main.get_command(app)
    found: dict[str, object] = {TOP_LEVEL: root}

    def walk(group, path):
        for name, sub in group.commands.items():  # typer vendors its own click: duck-typed
            if hasattr(sub, "commands"):
                walk(sub, [*path, name])
            else:
                found[" ".join([*path, name])] = sub

    walk(root, [])
    return found


def long_flags(command) -> list[tuple[set[str], set[str]]]:
    """Each option of a command as (its long names, its short names); --help left out."""
    options = []
    for param in command.params:
        if param.param_type_name != "option":
            continue
        names = [*param.opts, *param.secondary_opts]
        longs = {n for n in names if n.startswith("--")}
        if longs != {"--help"}:
            options.append((longs, {n for n in names if not n.startswith("--")}))
    return options


def flag_table() -> list[tuple[set[str], set[str], set[str]]]:
    """docs/cli.md's table of every flag: (long names, short names, commands) per row."""
    import re

    page = (ROOT / "docs" / "cli.md").read_text()
    table = page.split("## Every flag", 1)[1]
    rows = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].startswith("`--"):
            continue
        longs = set(re.findall(r"`(--[a-z-]+)`", cells[0]))
        shorts = set(re.findall(r"`(-[a-z])`", cells[1]))
        commands = {c.strip() for c in cells[3].split(",")}
        rows.append((longs, shorts, commands))
    return rows


def test_the_flag_table_lists_every_flag_of_every_command_and_nothing_else():
    commands, rows = cli_commands(), flag_table()
    assert len(rows) > 30
    for name, command in commands.items():
        for longs, shorts in long_flags(command):
            mine = [row for row in rows if row[0] & longs and name in row[2]]
            assert mine, f"docs/cli.md: no row lists {sorted(longs)} for {name}"
            listed = set().union(*(row[1] for row in mine))
            assert shorts <= listed, f"docs/cli.md: {name} {sorted(longs)} has {shorts}"
            assert longs <= set().union(*(row[0] for row in rows)), longs
    for longs, shorts, listed in rows:
        for name in listed:
            assert name in commands, f"docs/cli.md lists a command that does not exist: {name}"
            options = long_flags(commands[name])
            actual = [s for ls, s in options if longs & ls]
            assert actual, f"docs/cli.md: {name} has no {sorted(longs)}"
            assert shorts <= set().union(*actual), f"docs/cli.md: {name} has no {shorts}"


def test_a_short_flag_has_one_row_in_the_flag_table():
    seen: dict[str, set[str]] = {}
    for longs, shorts, _ in flag_table():
        for short in shorts:
            assert short not in seen, f"{short} means {seen[short]} and {longs}"
            seen[short] = longs
    assert {"-n", "-o", "-r", "-m", "-b", "-c"} <= set(seen)


def synopses(text: str) -> dict[str, str]:
    """Each command's synopsis in a page: its `factory CMD` line naming the most flags, with
    the indented continuation lines."""
    import re

    lines, found = text.splitlines(), {}
    for i, line in enumerate(lines):
        match = re.match(r"^factory ((?:personas |import )?[a-z]+)\b(.*)", line)
        if not match:
            continue
        body, j = match.group(2), i + 1
        while j < len(lines) and re.match(r"^\s{4,}\[", lines[j]):
            body, j = body + lines[j], j + 1
        name = match.group(1).strip()
        if body.count("--") >= found.get(name, "").count("--"):
            found[name] = body
    return found


def test_every_synopsis_in_docs_cli_names_every_option_and_only_real_ones():
    import re

    commands = cli_commands()
    found = synopses((ROOT / "docs" / "cli.md").read_text())
    for name, command in commands.items():
        if name == TOP_LEVEL:
            continue
        text = found.get(name, "")
        named = set(re.findall(r"--[a-z][a-z0-9-]*", text))
        own = set().union(*(longs for longs, _ in long_flags(command)))
        assert not named - own, f"docs/cli.md synopsis of {name} names {sorted(named - own)}"
        absent = sorted(
            f for f in own - named if not (f.startswith("--no-") and f"--{f[5:]}" in own)
        )
        assert not absent, f"docs/cli.md synopsis of {name} lacks {absent}"


def test_every_factory_command_written_in_the_docs_uses_real_flags():
    import re

    commands = cli_commands()
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for name, text in synopses(page.read_text()).items():
            if name not in commands:
                continue
            own = set().union(*(longs for longs, _ in long_flags(commands[name])))
            named = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text))
            assert named <= own, f"{page.name}: factory {name} {sorted(named - own)}"


# -- links ------------------------------------------------------------------------------


def anchors_of(page: str) -> set[str]:
    """The anchors a Markdown page offers: GitHub's heading slugs and explicit <a id>s."""
    import re

    slugs = set(re.findall(r'<a id="([^"]+)"></a>', page))
    for heading in re.findall(r"^#+ (.+)$", page, re.M):
        slugs.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    return slugs


def test_every_link_in_the_readme_and_docs_lands():
    import re

    pages = [
        ROOT / "README.md",
        ROOT / "ARCHITECTURE.md",
        ROOT / "examples" / "README.md",
        ROOT / "filters" / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
    ]
    for page in pages:
        text = page.read_text()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            assert file.exists(), f"{page.name}: link to {target} lands nowhere"
            if anchor and file.suffix == ".md":
                assert anchor in anchors_of(file.read_text()), (
                    f"{page.name}: no #{anchor} in {path}"
                )


def test_the_readme_is_a_map_not_a_manual():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) < 12_000
    for stage in ("generation", "personas", "filters", "datasets", "eval", "scale-out"):
        assert f"(docs/{stage}.md)" in readme
    assert "(docs/configuration.md)" in readme and "(LICENSE)" in readme
    # The two commands for a fresh machine stay as they are: CI runs `make test`.
    assert "```bash\nmake demo\n```" in readme and "```bash\nmake test\n```" in readme
