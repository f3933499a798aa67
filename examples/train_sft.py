"""Fine-tune a chat model on a dataset version with TRL's SFTTrainer, the loss on the
assistant (supporter) turns only.

    pip install 'esc-factory[train]'
    python examples/train_sft.py outputs/datasets/esc/v0.2.0 --model Qwen/Qwen2.5-0.5B-Instruct

The version is a folder (or a Hub repo id) made by `factory curate`; `--config strategy`
trains on the strategy-conditioned conversations ("[Question] How long has this been going
on?"). Curate with the `--layout` your model's chat template needs (the version's card has
the table) and `--tokenizer` to see token lengths; `--max-length` defaults to the length
that keeps 95% of the training conversations whole, from the version's manifest.
TRL swaps in a training chat template with generation markers for the families it knows
(Qwen2.5, Llama 3, Gemma, Phi-3, ...), which assistant-only loss needs.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path


def default_max_length(version: str, config: str, fallback: int = 1024) -> int:
    """The version's 95% length for the train split (its manifest), else `fallback`."""
    manifest = Path(version) / "manifest.json"
    if not manifest.is_file():
        return fallback
    chat = json.loads(manifest.read_text()).get("chat") or {}
    tokens = chat.get("strategy_tokens" if config == "strategy" else "tokens", {})
    return int(tokens.get("train", {}).get("max_length_95", fallback))


def main(argv: list[str] | None = None) -> list[float]:
    """Trains and saves the model; returns the logged training losses."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("version", help="version folder or Hub repo id")
    parser.add_argument("--model", required=True, help="model id or local folder")
    parser.add_argument("--out", default="outputs/sft", help="where the model is saved")
    parser.add_argument("--config", default="default", choices=["default", "strategy"])
    parser.add_argument("--max-length", type=int, default=None)
    parser.add_argument("--max-steps", type=int, default=-1, help="-1: whole epochs")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    train = load_dataset(args.version, args.config, split="train").select_columns(["messages"])
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model)
    config = SFTConfig(
        output_dir=args.out,
        assistant_only_loss=True,
        max_length=args.max_length or default_max_length(args.version, args.config),
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
    trainer = SFTTrainer(model=model, args=config, train_dataset=train, processing_class=tokenizer)
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
