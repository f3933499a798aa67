"""The dataset card: README.md with the YAML header the Hub reads (configs, license, task
categories, size category) and a body that says how the version was made."""

from __future__ import annotations

from typing import Any

import yaml


def size_category(n: int) -> str:
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if n < limit:
            return label
    return "1M<n<10M"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _shares(shares: dict[str, float], limit: int = 25) -> str:
    if not shares:
        return "(none recorded)"
    rows = [[k, f"{100 * v:.1f}%"] for k, v in list(shares.items())[:limit]]
    more = f"\n\n... and {len(shares) - limit} more" if len(shares) > limit else ""
    return _table(["value", "share"], rows) + more


def _preference_section(preferences: dict[str, Any]) -> str:
    if not preferences:
        return ""
    settings, counts = preferences["settings"], preferences["counts"]
    backend = settings["backend"]
    return f"""## Preference pairs (config `preferences`)

For up to {settings["turns_per_dialogue"]} supporter turns per dialogue, the supporter wrote
replies with {settings["alternatives"]} other strategies from the same context; a judge
(`prompts/reply_judge.jinja`, hash `{preferences["judge_prompt"]}`) scored each candidate and
the original 1-5; the best is `chosen`, the worst `rejected`, when they differ by at least
{settings["min_margin"]} point(s). Backend: {backend["kind"]} {backend.get("model") or ""}.
Counts: {", ".join(f"{k} {v}" for k, v in counts.items())}. Columns follow TRL's
conversational preference format (`prompt`, `chosen`, `rejected`), with the strategies and
scores beside them: `load_dataset(PATH, "preferences")`.

"""


def render_card(manifest: dict[str, Any], stats: dict[str, Any]) -> str:
    name, version = manifest["name"], manifest["version"]
    splits = manifest["splits"]
    header = {
        "license": manifest["license"],
        "language": ["en"],
        "pretty_name": f"{name} {version}",
        "task_categories": ["text-generation"],
        "tags": ["emotional-support", "synthetic", "dialogue", "esc-factory"],
        "size_categories": [size_category(stats["dialogues"])],
        "configs": [
            {
                "config_name": "default",
                "data_files": [
                    {"split": split, "path": path}
                    for split, path in manifest["split_files"].items()
                ],
            }
        ]
        if manifest["split_files"]
        else [],
    }
    preferences = manifest.get("preferences") or {}
    if preferences.get("split_files"):
        header["configs"].append(
            {
                "config_name": "preferences",
                "data_files": [
                    {"split": split, "path": path}
                    for split, path in preferences["split_files"].items()
                ],
            }
        )
    if not header["configs"]:
        del header["configs"]
        header["viewer"] = False  # no data files: the Hub viewer has nothing to show
    funnel = _table(
        ["filter", "in", "dropped", "kept", "drop reasons"],
        [
            [
                step["filter"],
                step["in"],
                step["dropped"],
                step["kept"],
                ", ".join(f"{r} {n}" for r, n in step["drop_reasons"].items()) or "-",
            ]
            for step in manifest["funnel"]
        ],
    )
    sources = _table(
        ["source", "dialogues read", "run status", "backend", "taxonomy"],
        [
            [
                s["name"],
                s["dialogues"],
                (s.get("run") or {}).get("status", "-"),
                " ".join(f"{k}={v}" for k, v in ((s.get("run") or {}).get("backend") or {}).items())
                or "-",
                (s.get("run") or {}).get("taxonomy", "-"),
            ]
            for s in manifest["sources"]
        ],
    )
    prompts = sorted(
        {(role, digest) for s in manifest["sources"] for role, digest in s["prompt_hashes"].items()}
    )
    settings = [
        f"- `{s['name']}`: " + ", ".join(f"{k}={v}" for k, v in s["settings"].items())
        for s in manifest["sources"]
        if s["settings"]
    ]
    words = stats["words_per_seeker_turn"], stats["words_per_supporter_turn"]
    counts = manifest["counts"]
    license_note = (
        "\n\nThe license is not chosen yet (`other`): pass `--license` to `factory curate`, and"
        " check the terms of the model that wrote the dialogues."
        if manifest["license"] == "other"
        else ""
    )
    imported = bool(stats["models"]) and all(m.startswith("human:") for m in stats["models"])
    origin = (
        "Human emotional-support conversations (imported with `factory import`), curated by"
        f" esc-factory {manifest['tool_version']}: a filter recipe keeps what passes."
        if imported
        else "Synthetic emotional-support conversations (ESC) made by esc-factory"
        f" {manifest['tool_version']}: a seeker with a persona and a hidden situation, a strategy"
        " counselor and a supporter, three LLM roles with different knowledge, role-play each"
        " dialogue; a filter recipe then keeps what passes."
    )
    empty_note = (
        "\n\n**This version holds no dialogues**: the recipe dropped every input (see the funnel"
        " below and `rejected/`). It was saved with `--allow-empty` to keep the audit trail."
        if not stats["dialogues"]
        else ""
    )
    used = {f["use"] for f in manifest["recipe"]["filters"]}
    origin_note = (
        "These are human conversations brought in with `factory import`; the source data set's"
        " licence and terms of use apply to them."
        if imported
        else "Every dialogue was written by language models playing both sides; none is a real"
        " conversation. Seekers are personas, not people, and their feelings follow a prompt."
    )
    emotion_note = (
        " Emotion labels were checked by a calibrated classifier (`emotion_consistency`) that"
        " lets some mismatches through and drops some good dialogues."
        if "emotion_consistency" in used
        else " Emotion labels were not checked (the recipe has no `emotion_consistency`)."
    )
    safety_note = (
        "The `safety` filter dropped a dialogue when a supporter encouraged harm or when a"
        " seeker's crisis mention got no pointer to help; it does not make the data clinically"
        " sound."
        if "safety" in used
        else "**The recipe had no `safety` filter: crisis handling was not checked.**"
    )
    pii_note = (
        "E-mails, phone numbers and URLs were redacted (`pii_redact`)."
        if "pii_redact" in used
        else "**The recipe had no `pii_redact`: e-mails, phone numbers and URLs were not redacted.**"
    )
    body = f"""# {name} {version}

{origin}
{stats["dialogues"]} dialogues: {", ".join(f"{k} {v}" for k, v in splits.items())}.{license_note}{empty_note}

## Load it

```python
from datasets import load_dataset

ds = load_dataset("PATH_OR_REPO_ID", revision="{version}")  # revision: the Hub tag
ds["train"][0]["messages"]  # system prompt, the seeker as user, the supporter as assistant
```

Columns: `messages` (chat format for SFT), `turns` (role, text, strategy, self-rated
intensity, the counselor's rationale), `problem_type`, `emotion_type`,
`initial_intensity`, `situation`, `end_reason`, `backend`, `model`; `persona`, `scenario`,
`generation` and `verdicts` are JSON text (the full records). `esconv/` holds the same
dialogues in ESConv.json's schema; `rejected/` holds every dropped dialogue with the verdicts
that dropped it.

## How it was made

Sources:

{sources}

Models (share of kept dialogues): {", ".join(f"`{m}` {100 * v:.0f}%" for m, v in stats["models"].items()) or "none"}.

Generation settings (from each run's manifest):

{chr(10).join(settings) or "- (dialogue files without a run manifest)"}

Prompt template hashes (sha256, first 16 hex): {", ".join(f"{r} `{d}`" for r, d in prompts) or "none recorded"}.

Curation: recipe `{manifest["recipe"]["name"]}` (sha256 `{manifest["recipe"]["sha256"]}`),
{counts["read"]} dialogues read, {counts["malformed"]} malformed lines, {counts["kept"]} kept.

{funnel}

Splits: by seeker (dialogues that share a scenario or a persona stay in one split), drawn from
a hash of seed {manifest["seed"]} and the scenario, shares
{"/".join(str(f) for f in manifest["split_fractions"])} (train/validation/test). A seeker keeps
its split in later versions curated with the same seed.

## Statistics

| measure | mean | median | min | max |
|---|---|---|---|---|
| turns per dialogue | {stats["turns_per_dialogue"]["mean"]} | {stats["turns_per_dialogue"]["median"]} | {stats["turns_per_dialogue"]["min"]} | {stats["turns_per_dialogue"]["max"]} |
| words per seeker turn | {words[0]["mean"]} | {words[0]["median"]} | {words[0]["min"]} | {words[0]["max"]} |
| words per supporter turn | {words[1]["mean"]} | {words[1]["median"]} | {words[1]["min"]} | {words[1]["max"]} |

Strategies (supporter turns):

{_shares(stats["strategy"])}

Emotions:

{_shares(stats["emotion"])}

Problems:

{_shares(stats["problem"])}

{_preference_section(preferences)}## Limitations

- {origin_note}
- The filters catch the failure modes they look for (see the funnel); what they pass is not
  checked by a person.{emotion_note}
- Small local models (the embedded SmolLM2-135M) drift out of role and repeat themselves;
  data for training needs a capable model behind an OpenAI-compatible endpoint.
- English only; the personas, problems and strategies reflect the shipped data files.

## Safety

These dialogues may discuss distress, grief, self-harm and suicide. {safety_note} Models
trained on it are not a substitute for professional care and should point people at risk to
crisis services. {pii_note}
"""
    return "---\n" + yaml.safe_dump(header, sort_keys=False) + "---\n\n" + body
