#!/usr/bin/env python3
"""Measure monitor's speed, memory and storage at Ombudsman scale, against a bare baseline,
as new posts meet it: cold caches, a fresh process.

    python scripts/benchmark.py                     # 10,000 posts, 3 repetitions, about 1 minute
    python scripts/benchmark.py --posts 1000000 --repeat 1 --out results-1m.json
                                                    # Ombudsman scale, half an hour or more

The corpus is built from the labeled samples' texts with seeded perturbations
(slang and Kupang Malay swaps, typos, elongation, agency mentions from the
default gazetteer, lengths from one line to a paragraph), so every run on every
machine measures the same texts. It is written, line by line (never held in
memory), as raw source payloads: JSON lines in the push/replay post schema
(``id``, ``text``, ``created_at`` spread over the 30 local days before the day
of the run, ``platform``, ``author`` from an invented pool, ``url``, and
``repost_of`` on one post in ten, which carries its original's text). Every
text is one of the 4,713 samples (or two joined), perturbed, so a large corpus
repeats each sample hundreds of times: far more near-copies than real posts
have, which makes case detection (near-duplicate search) work harder than it
would on real data. The same seed gives the same file, only the calendar days
move with the day of the run.

How it measures. Every stage runs in a fresh subprocess of this script (hidden
``--stage``), so its peak resident memory (VmHWM, the high-water mark of the
stage's own address space) is its own; inside it the stage runs --repeat times
and the median and the spread (min-max) are reported, per wall-clock second
(what a run takes) and per CPU second of the stage's process (what the code
costs, whatever else the machine runs). Every timed repetition is cold, as a new
post in a fresh `monitor run` is: a model and gazetteer just loaded, a fresh copy
of the database, every per-text and per-word cache of ``monitor`` emptied (each
``functools.lru_cache`` but the size-1 resource loaders; see scripts/bench/cold.py),
and no warm-up pass over the texts. The stages that load the model (process,
classify, digest) first time, before anything else of ``monitor`` is imported,
the import of the classifier, ``load_model()``, a second ``load_model()`` (the
model alone) and the first post (resources read on first use). Long stages also
record their rate per tenth of the corpus: does it hold up as the database grows?

Stages:
  ingest    the replay collector through monitor.pipeline.collect_job into a fresh
            SQLite file, raw payloads off (privacy.raw_retention_days = 0):
            parse, redact, pseudonymise, dedup, store; then database bytes per post
  process   monitor.pipeline.process on a copy of the ingested database: cases
            (reposts, near-duplicates), classify, normalise, resolve agency, store;
            then database bytes per post
  classify  the `monitor classify` path, monitor.classify.batch.classify_stream over
            the JSONL file to /dev/null, beside a bare baseline (word TF-IDF +
            LinearSVC, no normalisation) reading and writing the same way;
            and, in memory on the first --sample texts, the model's predict in chunks
            of 1,000 beside the bare baseline's predict (the earlier comparison)
  digest    on the processed database: monitor.aggregate.aggregate_days for every
            day, then monitor.report.digest.write_digest for the last day
  text      (in memory, the first --sample texts) normalise + redact + resolve agency

Results: a Markdown table on stdout (machine, command line, how each figure was
measured, each figure beside its target, met / missed), with --markdown also to a
file, and with --out all of it as JSON. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

# Nothing of `monitor` is imported here: a stage process times importing it first.
from bench.cold import clear_caches, model_load_probe
from bench.measure import CHECKPOINTS, ROOT, machine_info, peak_rss, say
from bench.report import FULL_SCALE, TARGETS, judge, markdown, model_load  # noqa: F401

sys.path.insert(0, str(ROOT))

STAGES = ("ingest", "process", "classify", "digest", "text")
LOADS_MODEL = ("process", "classify", "digest")


def stage_functions() -> dict:
    from bench.classify import stage_classify
    from bench.stages import stage_digest, stage_ingest, stage_process, stage_text

    return {
        "ingest": stage_ingest,
        "process": stage_process,
        "classify": stage_classify,
        "digest": stage_digest,
        "text": stage_text,
    }


def run_stage_here(args: argparse.Namespace) -> int:
    """The hidden --stage mode: one stage, its result (and peak memory) as JSON."""
    reached_main = time.time()
    work = Path(args.workdir)
    probe = model_load_probe() if args.stage in LOADS_MODEL else None
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    result = stage_functions()[args.stage](args, work)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    result["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    if args.spawned_at:
        result["process_start_s"] = round(reached_main - args.spawned_at, 3)
    if probe:
        result["model_load"] = probe
    result["cold_caches"] = clear_caches()
    result["checkpoints"] = CHECKPOINTS
    result.update(peak_rss())
    Path(args.result).write_text(json.dumps(result, indent=2))
    return 0


def run_stage(name: str, args: argparse.Namespace, work: Path) -> dict:
    result_path = work / f"stage-{name}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--stage", name]
    command += ["--workdir", str(work), "--result", str(result_path)]
    for option in ("posts", "repeat", "seed", "sample"):
        command += [f"--{option}", str(getattr(args, option))]
    say(f"stage {name} ...")
    started = time.perf_counter()
    command += ["--spawned-at", repr(time.time())]
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise SystemExit(f"stage {name} failed (exit {done.returncode})")
    result = json.loads(result_path.read_text())
    say(f"stage {name}: {time.perf_counter() - started:.0f} s")
    return result


def parse_args(argv: list[str] | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=10_000, help="corpus size (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per stage (default 3)")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--markdown", type=Path, help="also write the Markdown table here (it is printed anyway)"
    )
    parser.add_argument(
        "--stages",
        default=",".join(STAGES),
        help=f"comma-separated subset of {','.join(STAGES)} (process needs ingest; digest "
        "needs process, or a --workdir kept from an earlier run)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=2_000,
        help="texts held in memory by the in-memory text and predict measures (default 2000)",
    )
    parser.add_argument(
        "--workdir", type=Path, help="folder for the corpus and databases (default: a temp folder)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--spawned-at", type=float, help=argparse.SUPPRESS)
    return parser, parser.parse_args(argv)


def ensure_corpus(args: argparse.Namespace, work: Path) -> dict:
    """The corpus for these --posts and --seed, written unless the work folder has it."""
    from bench.corpus import local_midnight_utc, write_corpus

    from monitor.config import example_config

    corpus, meta_path = work / "corpus.jsonl", work / "corpus.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if meta.get("posts") == args.posts and meta.get("seed") == args.seed and corpus.exists():
        return meta
    say(f"writing a corpus of {args.posts:,} posts (seed {args.seed}) to {corpus} ...")
    began = time.perf_counter()
    meta = write_corpus(
        corpus, args.posts, args.seed, local_midnight_utc(example_config(ROOT).timezone)
    )
    meta.update(seed=args.seed, seconds=round(time.perf_counter() - began, 1))
    meta_path.write_text(json.dumps(meta, indent=2))
    return meta


def main(argv: list[str] | None = None) -> int:
    parser, args = parse_args(argv)
    if args.stage:
        return run_stage_here(args)

    chosen = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = set(chosen) - set(STAGES)
    if unknown:
        parser.error(f"unknown stage(s): {', '.join(sorted(unknown))}")
    command = shlex.join(["python", "scripts/benchmark.py", *sys.argv[1:]])
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    started = time.perf_counter()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="monitor-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        meta = ensure_corpus(args, work)
        stages = {name: run_stage(name, args, work) for name in STAGES if name in chosen}
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
        elif args.keep:
            say(f"kept {work}")

    report = {
        "benchmark": "monitor scripts/benchmark.py",
        "command": command,
        "started_at": started_at,
        "seconds": round(time.perf_counter() - started, 1),
        "posts": args.posts,
        "repeat": args.repeat,
        "seed": args.seed,
        "measured": "each stage in a fresh process, every timed repetition cold: "
        "see scripts/bench/cold.py",
        "machine": machine_info(),
        "corpus": meta,
        "targets": TARGETS,
        "stages": stages,
    }
    report["model_load"] = model_load(stages)
    report["verdicts"] = judge(report)
    # The flat list of rate results, as earlier versions of this script wrote them.
    report["results"] = [r for s in stages.values() for r in [*s["results"], *s.get("predict", [])]]
    table = markdown(report)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        say(f"wrote {args.out}")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(table)
        say(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
