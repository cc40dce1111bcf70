"""``photosense finetune``: teach the model the user's captioned photos (a new model)."""

from __future__ import annotations

import argparse
from pathlib import Path

from photosense.cli import render, words
from photosense.cli.common import EXIT_USAGE, Commands, cancel_on_ctrl_c, on_library, positive
from photosense.enums import FineTuneVerdict
from photosense.library import GENERAL_DROP_LIMIT, LIBRARY_KEEP_LIMIT, FineTuneSettings, Library


def register(commands: Commands) -> None:
    defaults = FineTuneSettings()
    finetune = commands.add_parser(
        "finetune",
        help="teach the model your captioned photos (a new model; the old one stays)",
        description="Fine-tune the active model on captioned photos: your albums, captions "
        "you wrote or imported, or a path,caption CSV. The result is a new model "
        "(fine-tuned/NAME); it is activated when it scores better on held-out photos "
        "and keeps most of what your other photos found before "
        "(see --activate). `photosense models use BASE` reverts.",
    )
    finetune.add_argument(
        "--album", action="append", dest="albums", metavar="NAME", help="train on this album"
    )
    finetune.add_argument(
        "--captions",
        type=Path,
        metavar="FILE",
        help="a path,caption CSV file, or a data set folder with captions.csv",
    )
    finetune.add_argument("--split", help="with a data set folder: which split to train on")
    finetune.add_argument("--epochs", type=positive, default=defaults.epochs, help="at most")
    finetune.add_argument("--name", help="the new model's name (fine-tuned/NAME)")
    finetune.add_argument(
        "--general",
        action="append",
        default=[],
        type=Path,
        metavar="DATASET",
        help="a labelled data set folder to check general knowledge on, before and after",
    )
    finetune.add_argument(
        "--activate",
        choices=["auto", "yes", "no"],
        default="auto",
        help="auto: only if held-out recall improved, no general set fell "
        f"{GENERAL_DROP_LIMIT * 100:.0f}+ points and your photos unlike the training ones "
        f"kept at least {LIBRARY_KEEP_LIMIT:.0%} of their neighbours and everyday-search "
        "answers",
    )
    finetune.add_argument("--json", action="store_true")
    advanced = finetune.add_argument_group("advanced")
    advanced.add_argument(
        "--rank", type=positive, default=defaults.rank, help="adapter rank (%(default)s)"
    )
    advanced.add_argument(
        "--learning-rate", type=float, default=defaults.learning_rate, help="(%(default)s)"
    )
    advanced.add_argument(
        "--batch-size", type=positive, default=defaults.batch_size, help="pairs per step"
    )
    advanced.add_argument(
        "--views",
        type=positive,
        default=defaults.views,
        help="augmented views per photo, the photo itself included (%(default)s)",
    )
    advanced.add_argument(
        "--extra-negatives",
        type=int,
        default=defaults.extra_negatives,
        metavar="N",
        help="N more training pairs in every batch (%(default)s; docs/finetuning.md)",
    )
    advanced.add_argument("--no-wise", action="store_true", help="keep the unblended weights")
    advanced.add_argument(
        "--seed", type=int, default=defaults.seed, help="held-out split and sampling"
    )
    on_library(finetune, _finetune)


def _finetune(library: Library, args: argparse.Namespace) -> int:
    try:
        settings = FineTuneSettings(
            epochs=args.epochs,
            rank=args.rank,
            learning_rate=args.learning_rate,
            batch_size=args.batch_size,
            views=args.views,
            extra_negatives=args.extra_negatives,
            wise=not args.no_wise,
            seed=args.seed,
        )
    except ValueError as exc:
        render.print_error(words.describe(exc))
        return EXIT_USAGE
    with cancel_on_ctrl_c() as cancel:
        job = library.finetune.run(
            albums=args.albums,
            captions=args.captions,
            split=args.split,
            settings=settings,
            general=args.general,
            name=args.name,
            cancel=cancel,
        )
        report = render.drive(job, args.json, "step")
    activate = args.activate == "yes" or (args.activate == "auto" and report.improved)
    activated = False
    if activate:
        with cancel_on_ctrl_c() as cancel:
            switch = render.drive(library.models.use(report.model_id, cancel), args.json, "photo")
        activated = switch.activated
    document = report.as_dict(activated)
    if args.json:
        render.print_json(document)
        return 0
    before, after = document["heldout"]["before"], document["heldout"]["after"]  # type: ignore[index]
    print(f"{report.model_id}: {report.result.pairs} pairs, {report.result.seconds:.0f} s")
    print(
        "held-out text->image recall@1/5/10: "
        + " / ".join(f"{before[k]:.2f} -> {after[k]:.2f}" for k in before)
    )
    for name, scores in document["general"]["sets"].items():  # type: ignore[index]
        print(
            f"general check {name}: zero-shot top-1 {scores['before']:.3f} -> {scores['after']:.3f}"
        )
    check = report.result.library
    if check is None:
        print("library check: left out (too few photos in the library besides the training ones)")
    elif check.neighbours is None or check.answers is None:
        print(
            f"library check: {check.photos} of your other photos sampled, {check.unlike} unlike "
            "the ones it learned from: the held-out gain speaks for them"
        )
    else:
        print(
            f"library check on {check.unlike} of your photos unlike the ones it learned from "
            f"(of {check.photos} sampled): neighbours kept {check.neighbours:.0%}, "
            f"everyday-search answers kept {check.answers:.0%} (top {check.k}; at least "
            f"{LIBRARY_KEEP_LIMIT:.0%} to activate by itself)"
        )
    if activated:
        print(
            f"active model: {report.model_id}; "
            f"revert with `photosense models use {report.result.base}`"
        )
    elif report.improved:
        print(f"not activated; use it with `photosense models use {report.model_id}`")
    else:
        why = "it did not find your held-out photos better"
        if report.result.verdict is FineTuneVerdict.LOST_GENERAL:
            why = (
                "it lost general knowledge (zero-shot accuracy fell by more than "
                f"{GENERAL_DROP_LIMIT * 100:.0f} points)"
            )
        elif report.result.verdict is FineTuneVerdict.CHANGES_LIBRARY:
            why = (
                "it changes what searches find among your photos unlike the ones it learned "
                f"from (it kept less than {LIBRARY_KEEP_LIMIT:.0%} of the old model's "
                "neighbours or answers there)"
            )
        print(f"not activated: {why}; use it anyway with `photosense models use {report.model_id}`")
    return 0
