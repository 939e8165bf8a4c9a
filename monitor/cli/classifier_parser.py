"""The command lines of the classifier's commands: train, evaluate, classify (what they
do is in ``monitor.cli.model_commands``)."""

from __future__ import annotations

from collections.abc import Callable

from monitor.cli.model_commands import cmd_classify, cmd_evaluate, cmd_train

MODEL_OPTION_HELP = "model folder (default: the database's active model, else the shipped one)"


def add_classifier_parsers(add: Callable) -> None:
    p = add(
        "train",
        cmd_train,
        "train the classifier on the labeled samples and the office's own labels",
        "Train on the labeled samples plus the labels the office imported into the\n"
        "database (monitor labels import / review export). Reports, side by side, the\n"
        "new model, the active model and the keyword rule on: the blind set\n"
        "(labeled_samples/blind/, never trained on); the office's labels, each predicted\n"
        "by a model that never saw it (k-fold, near-duplicates kept together); and\n"
        "cross-validation on the samples. Writes <out>/<version>/ with the model files,\n"
        "card.json (their SHA-256), comparison.md, MODEL_CARD.md and evaluation.md.\n"
        "With --activate the model is put to use only when it is not worse than the\n"
        "active one on the office's held-out labels. The same data give the same model\n"
        "files. Takes about five minutes on 15,000 samples, ten with office labels.\n\n"
        "Example: monitor labels import riwayat_pengaduan.csv && monitor train --activate",
    )
    p.add_argument(
        "--samples",
        nargs="*",
        default=[],
        metavar="PATH",
        help="JSONL files or folders (default: labeled_samples/)",
    )
    p.add_argument(
        "--out",
        help="where model folders go (default: the data folder's models/ beside the "
        "database when there is a config, else models/)",
    )
    p.add_argument("--version", help="model version (default: id-<date>-<training data hash>)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument(
        "--blind",
        metavar="FILE",
        help="the blind set thresholds are chosen on and the model is scored on, never "
        "trained on (default: labeled_samples/blind/blind_set.jsonl)",
    )
    p.add_argument(
        "--office-folds",
        type=int,
        default=5,
        metavar="K",
        help="folds for the held-out scores on the office's labels (default 5)",
    )
    p.add_argument(
        "--no-office-labels",
        action="store_true",
        help="train on the samples only, even when the database holds office labels",
    )
    p.add_argument(
        "--activate",
        action="store_true",
        help="activate the new model if it is not worse than the active one on the office's "
        "held-out labels (per head, beyond the noise of the estimate); otherwise say why "
        "and exit 4, leaving the active model in place",
    )

    p = add(
        "evaluate",
        cmd_evaluate,
        "blind-set and routing-set figures, keyword rule beside",
        "The model scored on the blind set (labeled_samples/blind/blind_set.jsonl:\n"
        "posts written apart from the training samples, two annotators agreeing),\n"
        "with the keyword rule beside it and cross-validation from the model card\n"
        "(--cv runs it again); then the routing set (labeled_samples/routing/): the\n"
        "share of posts tied to the right agency, or rightly to none, with every\n"
        "wrong route listed. Prints Markdown; writes .md and .html.\n\n"
        "  monitor evaluate\n"
        "  monitor evaluate --data hasil_label_kantor.jsonl --model models/id-...",
    )
    p.add_argument("--data", metavar="FILE", help="labeled JSONL to score instead of the blind set")
    p.add_argument("--cv", action="store_true", help="run cross-validation again (a few minutes)")
    p.add_argument("--routing", metavar="FILE", help="routing set JSONL (default: the shipped one)")
    p.add_argument(
        "--routing-config",
        action="store_true",
        help="route with the agencies of --config instead of the shipped example",
    )
    p.add_argument("--model", metavar="DIR", help=MODEL_OPTION_HELP)
    p.add_argument("--out", default="reports", help="folder for the report (default: reports)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")

    p = add(
        "classify",
        cmd_classify,
        "classify posts from a file or stdin",
        'Read JSONL lines {"id": ..., "text": ...} (or CSV with id and text columns,\n'
        "--format csv; optional fields region and author) and write one result per line:\n"
        "is_complaint, complaint_score, sector, sector_score, topics, topic_scores, agency,\n"
        "agency_confidence, agency_evidence, region, needs_review, model_version; other\n"
        "input fields are passed through. A post by an agency's own handle (author) is\n"
        "never a complaint against it. Bad lines\n"
        "are reported on stderr with their line number and skipped. Streams: any size.\n\n"
        "  monitor classify --input posts.jsonl --output hasil.jsonl\n"
        "  cat posts.csv | monitor classify --input - --output - --format csv",
    )
    p.add_argument("--input", required=True, metavar="FILE", help="input file, - for stdin")
    p.add_argument("--output", required=True, metavar="FILE", help="output file, - for stdout")
    p.add_argument(
        "--format", choices=("jsonl", "csv"), default="jsonl", help="jsonl (default) or csv"
    )
    p.add_argument("--model", metavar="DIR", help=MODEL_OPTION_HELP)
