"""The targets, the verdicts and the Markdown table of a benchmark report."""

from __future__ import annotations

import statistics

from bench.measure import MB

FULL_SCALE = 1_000_000  # the size the digest and memory targets are set for

# The project's targets (issue 8); the text target is the README's.
TARGETS = {
    "ingest": 20_000,  # posts/s, at least
    "process": 2_000,  # posts/s, at least
    "classify": 3_000,  # posts/s, at least
    "classify_ratio": 0.3,  # x the bare baseline's speed, at least
    "digest_s": 3.0,  # seconds on a 1,000,000-post database, at most
    "process_rss_mb": 500,  # MB peak while processing 1,000,000 posts, at most
    "db_bytes_per_post": 2_000,  # bytes per post without raw payloads, at most
    "text": 5_000,  # posts/s, at least (README, Text understanding)
}

HOW = (
    "Every stage runs in a fresh process, and every timed repetition is cold: a model and "
    "gazetteer just loaded, a fresh copy of the database, every per-text and per-word cache "
    "of `monitor` emptied (the {caches} caches named in the JSON: the `functools.lru_cache` "
    "caches of clean text, tokens, stems, char n-grams, pseudonyms and URL parsing, and "
    "PySastrawi's own word cache), and no warm-up pass, so each post is timed as a new post "
    "in a fresh `monitor run` meets it. Resources read once per process (lexicons, stop "
    "words, the stemmer's dictionary) are loaded before timing; their cost is the first "
    "post's, in the model-load rows. The operating system's file cache is not dropped."
)

LOAD_ROWS = (
    ("import_s", "model load: `from monitor.classify import load_model`"),
    ("first_load_s", "model load: first `load_model()` (with what it imports)"),
    ("load_s", "model load: `load_model()` again (the model alone)"),
    ("first_post_s", "model load: the first post (resources read on first use)"),
)


def _rate(value: float) -> str:
    return f"{value:,.0f} posts/s"


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def judge(report: dict) -> list[dict]:
    """Each target with its figure and verdict."""
    stages, posts = report["stages"], report["posts"]
    at_scale = posts >= FULL_SCALE
    small = f"measured on {posts:,} posts; the target is for {FULL_SCALE:,}"
    rows = []

    def add(what: str, figure: str, target: str, ok: bool, note: str = "") -> None:
        rows.append({"what": what, "figure": figure, "target": target, "met": ok, "note": note})

    def rate_target(what: str, stage: str, key: str) -> None:
        r = stages[stage]["results"][0]
        ok = r["median_per_s"] >= TARGETS[key]
        add(what, _rate(r["median_per_s"]), f"≥ {TARGETS[key]:,} posts/s", ok)

    if "ingest" in stages:
        rate_target("ingest", "ingest", "ingest")
    if "process" in stages:
        s = stages["process"]
        rate_target("process", "process", "process")
        mb = s["peak_rss_bytes"] / MB
        add(
            "peak RSS while processing",
            f"{mb:,.0f} MB",
            f"≤ {TARGETS['process_rss_mb']} MB on {FULL_SCALE:,} posts",
            mb <= TARGETS["process_rss_mb"],
            "" if at_scale else small,
        )
        per_post = s["db_bytes_per_post"]
        add(
            "database per post, raw payloads off (after processing)",
            f"{per_post:,} bytes",
            f"≤ {TARGETS['db_bytes_per_post']:,} bytes",
            per_post <= TARGETS["db_bytes_per_post"],
        )
    if "classify" in stages:
        rate_target("classify (`monitor classify` path)", "classify", "classify")
        ratio = stages["classify"]["results"][0]["ratio_to_bare_baseline"]
        add(
            "classify ÷ bare baseline",
            f"{ratio:.3f}×",
            f"≥ {TARGETS['classify_ratio']}×",
            ratio >= TARGETS["classify_ratio"],
        )
    if "digest" in stages:
        r = stages["digest"]["results"][1]
        add(
            "digest (write_digest, one day)",
            f"{r['median_s']:.2f} s",
            f"≤ {TARGETS['digest_s']:.0f} s on {FULL_SCALE:,} posts",
            r["median_s"] <= TARGETS["digest_s"],
            "" if at_scale else small,
        )
    if "text" in stages:
        rate_target("normalise + redact + resolve (README)", "text", "text")
    return rows


def model_load(stages: dict) -> dict:
    """Median and spread of the model-load probes of the stage processes that ran one."""
    probes = [s["model_load"] for s in stages.values() if s.get("model_load")]
    if not probes:
        return {}
    summary: dict = {
        "processes": len(probes),
        "model_version": probes[0]["model_version"],
        "clean_processes": sum(p["clean_process"] for p in probes),
        "heavy_imported": probes[0]["heavy_imported"],
        "heavy_after_first_load": probes[0]["heavy_after_first_load"],
    }
    samples = {key: [p[key] for p in probes] for key, _ in LOAD_ROWS if key != "load_s"}
    samples["load_s"] = [t for s in stages.values() for t in s.get("model_load_again_s", [])]
    summary["loads_after_imports"] = len(samples["load_s"])
    for key, values in samples.items():
        if not values:
            continue
        summary[key] = {
            "median_s": round(statistics.median(values), 3),
            "min_s": min(values),
            "max_s": max(values),
            "seconds": values,
        }
    return summary


def tenth_rates(points: list, column: int = 1) -> list[float]:
    """Items per second (column 1: wall clock, 2: CPU) between consecutive checkpoints."""
    return [
        (later[0] - earlier[0]) / (later[column] - earlier[column])
        for earlier, later in zip(points, points[1:], strict=False)
        if later[column] > earlier[column]
    ]


def _code_line(m: dict) -> str:
    changed = m["code"]["uncommitted"]
    named = ", ".join(changed[:8]) + (f" and {len(changed) - 8} more" if len(changed) > 8 else "")
    return f"- Code: commit {m['code']['commit']}" + (
        f" with uncommitted changes to {named}"
        if changed
        else " (no uncommitted change to monitor/ or models/)"
    )


def _header(report: dict) -> list[str]:
    m, corpus = report["machine"], report["corpus"]
    caches = max((len(s.get("cold_caches", [])) for s in report["stages"].values()), default=0)
    return [
        f"## monitor benchmark: {report['posts']:,} posts, {report['repeat']} repetitions",
        "",
        f"- Command: `{report['command']}`",
        _code_line(m),
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram_bytes'] / 2**30:.1f} GiB RAM; "
        f"Python {m['python']}, SQLite {m['sqlite']}, "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items())
        + f"; {m['system']}",
        f"- Corpus: {corpus['posts']:,} raw posts ({corpus['reposts']:,} reposts) as JSON lines, "
        f"{corpus['bytes'] / MB:,.1f} MB, local days {corpus['first_day']} to "
        f"{corpus['last_day']}, {corpus['author_pool']:,} invented authors, seed "
        f"{report['seed']}; written in {corpus['seconds']:.1f} s",
        f"- Run {report['started_at']}, {report['seconds']:,.0f} s in all. Median and spread "
        "(min–max) of the repetitions; peak RSS is the stage process's high-water mark "
        "(VmHWM); MB = 10^6 bytes. Verdicts use the wall-clock median; the rate per CPU "
        "second of the stage's process is what the code costs whatever else the machine runs.",
        "- How: " + HOW.format(caches=caches),
        "",
        "| stage | measured on | median | spread (min–max) | median per CPU second | peak RSS "
        "| target | |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]


def markdown(report: dict) -> str:
    stages, repeat = report["stages"], report["repeat"]
    lines = _header(report)
    cold = f"fresh process, cold, ×{repeat}"

    def row(*cells: str) -> None:
        cells = (*cells, *[""] * (8 - len(cells)))
        lines.append("| " + " | ".join(cells) + " |")

    def rss(stage: str) -> str:
        return f"{stages[stage]['peak_rss_bytes'] / MB:,.0f} MB"

    def rate_row(stage: str, r: dict, how: str, target: str = "", verdict: str = "") -> None:
        row(
            r["stage"],
            how,
            _rate(r["median_per_s"]),
            f"{r['min_per_s']:,}–{r['max_per_s']:,}",
            _rate(r["median_per_cpu_s"]),
            rss(stage),
            target,
            verdict,
        )

    verdicts = {row["what"]: row for row in judge(report)}

    def target_of(what: str) -> tuple[str, str]:
        found = verdicts[what]
        note = f" ({found['note']})" if found["note"] else ""
        return found["target"], _verdict(found["met"]) + note

    if "ingest" in stages:
        s = stages["ingest"]
        how = f"{s['posts_stored']:,} posts, {cold}"
        rate_row("ingest", s["results"][0], how, *target_of("ingest"))
        row(
            "database after ingest (raw payloads off)",
            "",
            f"{s['db_bytes_per_post']:,} bytes/post",
            *[""] * 3,
            f"{s['db_bytes'] / MB:,.1f} MB for {s['posts_stored']:,} posts",
        )
    if "process" in stages:
        s = stages["process"]
        how = f"{s['processed']:,} posts, {cold}"
        rate_row("process", s["results"][0], how, *target_of("process"))
        row(
            "peak RSS while processing",
            "",
            rss("process"),
            *[""] * 3,
            *target_of("peak RSS while processing"),
        )
        row(
            "database after processing",
            "",
            f"{s['db_bytes_per_post']:,} bytes/post",
            *[""] * 3,
            *target_of("database per post, raw payloads off (after processing)"),
        )
    if "classify" in stages:
        s = stages["classify"]
        ours, bare = s["results"]
        how = f"{ours['items']:,} posts, {cold}"
        rate_row("classify", ours, how, *target_of("classify (`monitor classify` path)"))
        rate_row("classify", bare, f"{bare['items']:,} posts, ×{repeat} (keeps no cache)")
        cpu_ratio = ours["median_per_cpu_s"] / bare["median_per_cpu_s"]
        row(
            "classify ÷ bare baseline",
            "",
            f"{ours['ratio_to_bare_baseline']:.3f}×",
            "",
            f"{cpu_ratio:.3f}×",
            "",
            *target_of("classify ÷ bare baseline"),
        )
        mine, reference = s["predict"]
        memory = f"{s['texts']:,} texts in memory, chunks of 1,000"
        rate_row("classify", mine, f"{memory}, cold, ×{repeat}")
        rate_row("classify", reference, f"{memory}, ×{repeat}")
        row(
            "predict ÷ bare baseline predict (in memory)",
            "",
            f"{mine['ratio_to_bare_baseline']:.3f}×",
        )
    if "digest" in stages:
        s = stages["digest"]
        how = f"database of {s['posts_in_database']:,} posts, {cold}"
        for index, r in enumerate(s["results"]):
            target, verdict = (
                target_of("digest (write_digest, one day)") if index == 1 else ("", "")
            )
            row(
                r["stage"],
                how,
                f"{r['median_s']:.2f} s",
                f"{r['min_s']:.2f}–{r['max_s']:.2f} s",
                f"{r['median_cpu_s']:.2f} CPU s",
                rss("digest"),
                target,
                verdict,
            )
    if "text" in stages:
        s = stages["text"]
        how = f"{s['texts']:,} texts in memory, {cold}"
        rate_row("text", s["results"][0], how, *target_of("normalise + redact + resolve (README)"))
    load = report.get("model_load") or model_load(stages)
    for key, label in LOAD_ROWS if load else ():
        if key not in load:
            continue
        figure = load[key]
        row(
            label,
            f"{load['loads_after_imports']} loads, imports done"
            if key == "load_s"
            else f"{load['processes']} fresh processes",
            f"{figure['median_s']:.3f} s",
            f"{figure['min_s']:.3f}–{figure['max_s']:.3f} s",
        )
    lines.append("")
    lines += [f"- {note}" for note in notes(report, load)]
    return "\n".join(lines) + "\n"


def notes(report: dict, load: dict) -> list[str]:
    stages, m = report["stages"], report["machine"]
    found = []
    if load:
        later = sorted(set(load["heavy_after_first_load"]) - set(load["heavy_imported"]))
        found.append(
            f"model {load['model_version']}: loaded at the start of {load['processes']} stage "
            "processes (process, classify, digest) before anything else of `monitor`; "
            f"the import brings in {', '.join(load['heavy_imported']) or 'no heavy library'}"
            + (f", the first load_model() {', '.join(later)}" if later else "")
            + ("" if load["clean_processes"] == load["processes"] else " (not all clean!)")
        )
    if "process" in stages:
        s = stages["process"]
        found.append(
            f"process: {s['processed']:,} posts, {s['complaints']:,} complaints "
            f"({s['complaints_without_agency']:,} without an agency), "
            f"{s['posts_joining_another_case']:,} posts joined another post's case "
            "(reposts and near-copies)"
        )
    if "digest" in stages:
        s = stages["digest"]
        found.append(
            f"digest: {s['posts_in_database']:,} posts in the database, {s['days']} local days "
            f"aggregated, digest of {s['digest_day']} ({s['digest_complaints']:,} complaints, "
            f"{s['digest_spikes']} spikes); first run {s['results'][1]['seconds'][0]:.2f} s"
        )
    for stage in stages.values():
        for label, points in stage.get("checkpoints", {}).items():
            rates, cpu_rates = tenth_rates(points, 1), tenth_rates(points, 2)
            if len(rates) >= 3 and points[-1][1] >= 30:  # long enough to tell a trend
                found.append(
                    f"{label}, posts/s per tenth of the corpus (last repetition): "
                    + ", ".join(f"{r:,.0f}" for r in rates)
                    + "; per CPU second: "
                    + ", ".join(f"{r:,.0f}" for r in cpu_rates)
                )
    loads = [v for s in stages.values() for v in s.get("load_average_1min", [])]
    if loads:
        found.append(
            f"machine load (1-minute load average at the start and end of each stage): "
            f"{min(loads):.1f} to {max(loads):.1f} on {m['cores']} cores"
        )
    met = judge(report)
    missed = [r for r in met if not r["met"]]
    found.append(
        f"targets: {len(met) - len(missed)} met, {len(missed)} missed"
        + (
            ": " + "; ".join(f"{r['what']} {r['figure']} (target {r['target']})" for r in missed)
            if missed
            else ""
        )
    )
    return found
