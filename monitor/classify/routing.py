"""The routing set: posts labelled with the agency a careful Ombudsman staffer would
route them to ("" when the text does not say), scored through the same path
processing takes (model -> sector -> gazetteer, own-account rule included).

A line of ``labeled_samples/routing/routing_set.jsonl``::

    {"id": "r0001", "text": "...", "agency": "pdam-kota-kupang", "source_region":
     "kota-kupang", "author": "", "is_complaint": true, "sector": "air_bersih",
     "note": "why"}

The set uses example handles for the agencies' own accounts (the shipped config
leaves handles empty until an operator checks the real ones); they are in
``labeled_samples/routing/handles.json`` and added to the gazetteer for scoring.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from monitor.agencies import Gazetteer
from monitor.config import AgencyConfig, Config, RegionConfig
from monitor.understand import Model, resolve

HANDLES_FILE = "handles.json"


@dataclass
class RoutingCase:
    id: str
    text: str
    agency: str
    source_region: str = ""
    author: str = ""
    is_complaint: bool | None = None
    note: str = ""


@dataclass
class RoutingResult:
    count: int
    correct: int
    named_expected: int  # posts whose expected agency is not ""
    named_correct: int
    unresolved_expected: int
    unresolved_correct: int
    own_account: int  # posts by an agency's own account
    own_account_not_complaint: int
    errors: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    # (id, text, expected, got, evidence)

    @property
    def accuracy(self) -> float:
        return self.correct / self.count if self.count else 0.0

    def summary(self) -> dict[str, float | int | str]:
        return {
            "count": self.count,
            "accuracy": round(self.accuracy, 4),
            "named_accuracy": round(self.named_correct / max(self.named_expected, 1), 4),
            "unresolved_accuracy": round(
                self.unresolved_correct / max(self.unresolved_expected, 1), 4
            ),
            "own_account_not_complaint": f"{self.own_account_not_complaint}/{self.own_account}",
        }


def load_routing_set(path: Path) -> tuple[list[RoutingCase], list[str]]:
    """The cases of a routing-set file, and a problem line for each bad one."""
    cases, problems = [], []
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            case = RoutingCase(
                id=str(record["id"]),
                text=str(record["text"]),
                agency=str(record.get("agency") or ""),
                source_region=str(record.get("source_region") or ""),
                author=str(record.get("author") or ""),
                is_complaint=record.get("is_complaint"),
                note=str(record.get("note") or ""),
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            problems.append(f"{Path(path).name}:{number}: {exc}")
            continue
        cases.append(case)
    return cases, problems


def routing_gazetteer(
    agencies: Sequence[AgencyConfig], regions: Sequence[RegionConfig], folder: Path
) -> Gazetteer:
    """The gazetteer with the routing set's example handles added."""
    path = Path(folder) / HANDLES_FILE
    handles = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    handles.pop("_comment", None)
    with_handles = [replace(a, handles=[*a.handles, *handles.get(a.id, [])]) for a in agencies]
    return Gazetteer(with_handles, list(regions))


def evaluate_routing(
    model: Model, gazetteer: Gazetteer, cases: Sequence[RoutingCase]
) -> RoutingResult:
    predictions = model.predict([c.text for c in cases])
    result = RoutingResult(len(cases), 0, 0, 0, 0, 0, 0, 0)
    unknown: Counter[str] = Counter()
    for case, prediction in zip(cases, predictions, strict=True):
        if case.agency and case.agency not in gazetteer.agencies:
            unknown[case.agency] += 1
        _, match, _, decided = resolve(
            case.text,
            prediction,
            gazetteer,
            case.source_region,
            gazetteer.agency_of_handle(case.author),
        )
        right = match.agency_id == case.agency
        result.correct += right
        if case.agency:
            result.named_expected += 1
            result.named_correct += right
        else:
            result.unresolved_expected += 1
            result.unresolved_correct += right
        if case.author and gazetteer.agency_of_handle(case.author):
            result.own_account += 1
            result.own_account_not_complaint += not decided.is_complaint
        if not right:
            result.errors.append(
                (case.id, case.text, case.agency or "-", match.agency_id or "-", match.evidence)
            )
    if unknown:
        raise ValueError(f"the routing set names agencies not in the config: {dict(unknown)}")
    return result


def score_routing_set(
    model: Model, path: Path, config: Config | None = None
) -> tuple[RoutingResult, list[str]]:
    """The routing set at ``path`` scored with ``config``'s agencies and regions (default:
    the shipped example, which the set is written for); also the lines it could not read."""
    from monitor.config import example_config

    places = config or example_config(Path(path).parent)
    cases, problems = load_routing_set(path)
    gazetteer = routing_gazetteer(places.agencies, places.regions, Path(path).parent)
    return evaluate_routing(model, gazetteer, cases), problems


def routing_markdown(result: RoutingResult, show: int = 40) -> str:
    s = result.summary()
    lines = [
        f"## Routing set ({result.count} posts): agency accuracy {s['accuracy']:.3f}",
        "",
        "| measure | value |",
        "|---|---|",
        f"| posts routed to the right agency (or rightly to none) | {result.correct} of "
        f"{result.count} ({s['accuracy']:.1%}) |",
        f"| posts naming an agency, routed right | {result.named_correct} of "
        f"{result.named_expected} |",
        f"| posts naming none, left unidentified | {result.unresolved_correct} of "
        f"{result.unresolved_expected} |",
        f"| posts by an agency's own account, not counted as complaints | "
        f"{s['own_account_not_complaint']} |",
        "",
    ]
    if result.errors:
        lines += [
            f"Wrong routes (first {min(show, len(result.errors))} of {len(result.errors)}):",
            "",
            "| id | text | expected | got | evidence |",
            "|---|---|---|---|---|",
        ]
        for case_id, text, expected, got, evidence in result.errors[:show]:
            cell = text.replace("|", "/").replace("\n", " ")
            cell = cell if len(cell) <= 90 else cell[:87] + "..."
            lines.append(f"| {case_id} | {cell} | {expected} | {got} | {evidence} |")
        lines.append("")
    return "\n".join(lines)
