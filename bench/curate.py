"""Dataset versions measured: curating ESConv (imported) into a version twice with a
structure-only recipe (so the time is the version machinery, not the filters), whether the
two versions' data files are byte-identical, the folder size, and `diff` and `load_dataset`
times.

    python bench/curate.py --shared ../shared/data
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from factory.chat import default_system_prompt
from factory.dataset.curate import curate
from factory.dataset.diff import diff_versions
from factory.filters.recipe import load_recipe
from factory.importers.esconv import import_esconv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    print(f"# {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        dialogues, _ = import_esconv(
            [args.shared / "esconv" / f"esconv_{s}.jsonl" for s in ("train", "valid", "test")]
        )
        source = tmp / "esconv.jsonl"
        source.write_text("".join(d.model_dump_json() + "\n" for d in dialogues))
        recipe_path = tmp / "structure.yaml"
        recipe_path.write_text("name: structure\nfilters:\n  - use: structure\n")
        recipe = load_recipe(str(recipe_path))
        root = tmp / "datasets"
        results, seconds = [], []
        for _ in range(2):
            began = time.perf_counter()
            results.append(
                curate([source], recipe, "esconv", root, system_prompt=default_system_prompt())
            )
            seconds.append(time.perf_counter() - began)
        manifests = [r.manifest for r in results]
        size = sum(p.stat().st_size for p in results[0].path.rglob("*") if p.is_file())
        print(
            f"curate {len(dialogues)} dialogues ({results[0].report.kept} kept): "
            + ", ".join(f"{s:.2f}s" for s in seconds)
            + f"; version folder {size / 1e6:.1f} MB"
        )
        same = manifests[0].data_files == manifests[1].data_files
        print(
            f"data files byte-identical across the two curations: {same}"
            f" ({len(manifests[0].data_files)} files)"
        )
        began = time.perf_counter()
        diff = diff_versions(results[0].path, results[1].path)
        print(
            f"diff: {time.perf_counter() - began:.2f}s, added {len(diff.added)}, removed"
            f" {len(diff.removed)}, statistics changed {len(diff.changes)}"
        )
        try:
            import datasets
        except ImportError:
            print("load_dataset: skipped (datasets not installed)")
            return
        began = time.perf_counter()
        loaded = datasets.load_dataset(str(results[0].path), cache_dir=str(tmp / "cache"))
        rows = sum(len(split) for split in loaded.values())
        print(
            f"load_dataset (first load, builds the arrow cache): {time.perf_counter() - began:.2f}s, {rows} rows"
        )


if __name__ == "__main__":
    main()
