"""``photosense eval``: score a model on evaluation data set folders (no library needed)."""

from __future__ import annotations

import argparse
from pathlib import Path

from photosense.cli import render
from photosense.cli.common import Commands, positive, without_library
from photosense.library.evaluation import evaluate_folders
from photosense.progress import run_to_end

_COLUMNS = ("t2i_r1", "t2i_r5", "t2i_r10", "i2t_r1", "i2t_r5", "i2t_r10", "zs_top1", "zs_top5")


def register(commands: Commands) -> None:
    evaluate = commands.add_parser("eval", help="score the model on evaluation data sets")
    evaluate.add_argument("datasets", nargs="+", type=Path, metavar="DATASET")
    evaluate.add_argument(
        "--split",
        choices=["test", "train", "all"],
        help="default: test if the set has split.csv, else all",
    )
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument(
        "--batch-size", type=positive, help="images per batch (default: suits the device)"
    )
    without_library(evaluate, _eval)


def _eval(args: argparse.Namespace) -> int:
    """Score a model on data set folders; needs no library ("auto" means the starter)."""
    job = evaluate_folders(
        args.datasets,
        model=args.model,
        device=args.device,
        split=args.split,
        batch_size=args.batch_size,
    )
    with render.bar_per_message("image", quiet=args.json, leave=False) as update:
        evaluation = run_to_end(job, update)
    model_id = evaluation.model_id
    results = {name: result.as_dict() for name, result in evaluation.results.items()}
    if args.json:
        render.print_json({"model": model_id, "datasets": results})
        return 0
    columns = [render.Column("dataset", 20), render.Column("split", 5)]
    columns += [render.Column("n", 6, right=True)]
    columns += [render.Column(c, 7, right=True) for c in _COLUMNS]
    columns += [render.Column("", gap="  ")]
    render.print_table(
        columns,
        (
            [name, row["split"], row["n"]]
            + [f"{row[c]:.3f}" if c in row else "-" for c in _COLUMNS]
            + [f"skipped {row['skipped']}"]
            for name, row in results.items()
        ),
    )
    return 0
