"""The folders are the pipeline: a module imports only from its own stage or earlier ones,
and the modules import each other without cycles. Imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "factory"

# The pipeline's stages in order. Modules directly under factory/ are the shared bottom
# layer (vocabulary, errors, text, JSONL, embeddings, templates); `cli` sits on top.
STAGES = (
    "shared",
    "backends",
    "scenarios",
    "roleplay",
    "runs",
    "importers",
    "filters",
    "dataset",
    "evaluation",
    "view",
    "testing",
    "cli",
)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def stage_of(module: str, root: Path) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "shared"
    if parts[1] == "__main__":
        return "cli"
    if (root / parts[1]).is_dir():
        return parts[1]
    return "shared"


def imports_of(path: Path, root: Path) -> set[str]:
    """Every factory module `path` imports, at the top or inside a function."""
    package = root.name
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module
            names = [base]
            # `from factory.x import y` may name the submodule factory.x.y.
            names += [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name == package or name.startswith(package + "."):
                found.add(name)
    return found


def graph(root: Path) -> dict[str, set[str]]:
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = {t for t in imports_of(path, root) if t in modules and t != name}
        edges[name] = targets
    return edges


def back_edges(root: Path) -> list[str]:
    """Imports that point from a stage to a later one."""
    order = {stage: i for i, stage in enumerate(STAGES)}
    bad = []
    for source, targets in graph(root).items():
        for target in targets:
            if target == root.name:  # the package root (its __version__) is shared
                continue
            if order[stage_of(target, root)] > order[stage_of(source, root)]:
                bad.append(f"{source} -> {target}")
    return sorted(bad)


def cycles(root: Path) -> list[list[str]]:
    """Each import cycle once, as the list of modules around it."""
    edges = graph(root)
    found: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def walk(node: str, path: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt in path:
                loop = path[path.index(nxt) :]
                key = frozenset(loop)
                if key not in seen:
                    seen.add(key)
                    found.append(loop)
            elif len(path) < 12:
                walk(nxt, [*path, nxt])

    for start in sorted(edges):
        walk(start, [start])
    return found


def test_every_folder_is_a_known_stage() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    folders.discard("_data")
    assert folders <= set(STAGES)


def test_no_module_imports_a_later_stage() -> None:
    assert back_edges(PACKAGE) == []


def test_no_import_cycles() -> None:
    assert cycles(PACKAGE) == []


def _plant(tmp_path: Path) -> Path:
    root = tmp_path / "factory"
    for folder in ("filters", "backends"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "models.py").write_text("X = 1\n")
    (root / "backends" / "local.py").write_text("from factory.models import X\n")
    (root / "filters" / "judge.py").write_text("from factory.backends.local import X\n")
    return root


def test_the_check_fails_on_a_planted_back_edge(tmp_path: Path) -> None:
    root = _plant(tmp_path)
    assert back_edges(root) == []
    # A backend that reaches up into filters, inside a function, is caught.
    (root / "backends" / "local.py").write_text(
        "from factory.models import X\n\ndef f():\n    from factory.filters import judge\n"
    )
    assert back_edges(root) == [
        "factory.backends.local -> factory.filters",
        "factory.backends.local -> factory.filters.judge",
    ]


def test_the_check_finds_a_planted_cycle(tmp_path: Path) -> None:
    root = _plant(tmp_path)
    assert cycles(root) == []
    (root / "models.py").write_text("import factory.backends.local\n")
    assert cycles(root) == [["factory.backends.local", "factory.models"]]
