"""Align a chat model with DPO on a version's `preferences` config (TRL's DPOTrainer).

    pip install 'esc-factory[train]'
    python examples/train_dpo.py outputs/datasets/esc/v0.2.1 --model outputs/sft

The pairs are TRL's conversational preference format (`prompt`, `chosen`, `rejected`).
Check the version's card first: pairs written and judged by the scripted or embedded backend
are not real preference data. DPOTrainer drops pairs whose prompt fills `max_length`;
`--max-length` defaults to the length that keeps 95% of the training pairs whole (prompt
plus the longer reply), from the version's manifest, and the script says how many it drops.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path


def default_max_length(version: str, fallback: int = 1024) -> int:
    """The version's 95% pair length for the train split (its manifest), else `fallback`."""
    manifest = Path(version) / "manifest.json"
    if not manifest.is_file():
        return fallback
    chat = json.loads(manifest.read_text()).get("chat") or {}
    return int(chat.get("preference_tokens", {}).get("train", {}).get("max_length_95", fallback))


def prompt_tokens(tokenizer: object, prompt: list[dict[str, str]]) -> int:
    ids = tokenizer.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True)  # type: ignore[attr-defined]
    return len(ids["input_ids"] if hasattr(ids, "keys") else ids)


def main(argv: list[str] | None = None) -> list[float]:
    """Trains and saves the model; returns the logged training losses."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("version", help="version folder or Hub repo id")
    parser.add_argument("--model", required=True, help="model id or local folder (an SFT model)")
    parser.add_argument("--out", default="outputs/dpo", help="where the model is saved")
    parser.add_argument("--max-length", type=int, default=None)
    parser.add_argument("--max-steps", type=int, default=-1, help="-1: whole epochs")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=5e-7)
    parser.add_argument("--beta", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    pairs = load_dataset(args.version, "preferences", split="train")
    pairs = pairs.select_columns(["prompt", "chosen", "rejected"])
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model)
    max_length = args.max_length or default_max_length(args.version)
    long = sum(prompt_tokens(tokenizer, p) >= max_length for p in pairs["prompt"])
    if long:
        print(
            f"warning: {long} of {len(pairs)} pairs have a prompt of {max_length}+ tokens: dropped"
        )
    config = DPOConfig(
        output_dir=args.out,
        max_length=max_length,
        beta=args.beta,
        max_steps=args.max_steps,
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        seed=args.seed,
    )
    trainer = DPOTrainer(model=model, args=config, train_dataset=pairs, processing_class=tokenizer)
    trainer.train()
    trainer.save_model(args.out)
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    if not all(math.isfinite(loss) for loss in losses):
        raise SystemExit(f"error: a training loss is not finite: {losses}")
    print(
        f"trained {len(losses)} steps, loss {losses[0]:.3f} -> {losses[-1]:.3f}; saved {args.out}"
    )
    return losses


if __name__ == "__main__":
    main()
