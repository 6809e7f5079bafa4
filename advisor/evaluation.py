"""Run a question set with expected answers: hit@1, hit@3 and MRR per language and per intent."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from advisor.advisor import Advisor
from advisor.answer import Answer


class EvalFileError(Exception):
    """The question set cannot be read; the message names the item to fix."""


@dataclass(frozen=True)
class Case:
    """One question with the record ids a correct answer ranks near the top."""

    q: str
    lang: str
    intent: str
    expect: tuple[str, ...]


def load_cases(path: Path) -> list[Case]:
    """Read a YAML list of {q, lang, intent, expect}."""
    try:
        items = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise EvalFileError(f"cannot read {path}: {exc}") from exc
    if not isinstance(items, list):
        raise EvalFileError(f"{path} must be a YAML list of questions")
    cases = []
    for n, item in enumerate(items, 1):
        try:
            cases.append(Case(str(item["q"]), item["lang"], item["intent"], tuple(item.get("expect") or ())))
        except (AttributeError, KeyError, TypeError) as exc:
            raise EvalFileError(f"{path}, item {n}: needs q, lang, intent and expect ({exc})") from exc
    return cases


def ranked_ids(answer: Answer) -> list[str]:
    """The record ids an answer puts forward, best first."""
    return list(dict.fromkeys(s.id for s in answer.sources))


def rank_of(case: Case, answer: Answer) -> int | None:
    """1-based rank of the first expected record in the answer, or None when it is missing.

    Questions that expect nothing (greetings, off-topic) count as found at rank 1 when the intent is right.
    """
    if not case.expect:
        return 1 if answer.intent == case.intent or (case.intent == "offtopic" and not answer.answered) else None
    ids = ranked_ids(answer)
    positions = [ids.index(e) + 1 for e in case.expect if e in ids]
    return min(positions) if positions else None


def evaluate(advisor: Advisor, cases: list[Case]) -> dict[str, Any]:
    """Answer every case and aggregate hit@1, hit@3, MRR, language and intent accuracy."""
    groups: dict[str, list[tuple[int | None, bool, bool]]] = defaultdict(list)
    worst: list[dict[str, Any]] = []
    for case in cases:
        answer = advisor.ask(case.q)
        rank = rank_of(case, answer)
        row = (rank, answer.lang == case.lang, answer.intent == case.intent)
        for key in ("all", f"lang:{case.lang}", f"intent:{case.intent}"):
            groups[key].append(row)
        if rank is None or rank > 3:
            worst.append({"q": case.q, "lang": case.lang, "intent": case.intent, "got_intent": answer.intent,
                          "expect": list(case.expect), "got": ranked_ids(answer)[:5]})
    return {"groups": {key: _metrics(rows) for key, rows in sorted(groups.items())}, "worst": worst}


def _metrics(rows: list[tuple[int | None, bool, bool]]) -> dict[str, float]:
    n = len(rows)
    return {
        "n": n,
        "hit@1": round(sum(1 for r, _, _ in rows if r == 1) / n, 3),
        "hit@3": round(sum(1 for r, _, _ in rows if r is not None and r <= 3) / n, 3),
        "mrr": round(sum(1 / r for r, _, _ in rows if r) / n, 3),
        "lang_acc": round(sum(1 for _, lang, _ in rows if lang) / n, 3),
        "intent_acc": round(sum(1 for _, _, intent in rows if intent) / n, 3),
    }


def format_report(report: dict[str, Any], worst: int = 15) -> str:
    """A table of the metrics and the questions answered worst."""
    lines = [f"{'group':<22}{'n':>5}{'hit@1':>8}{'hit@3':>8}{'MRR':>7}{'lang':>7}{'intent':>8}"]
    for key, m in report["groups"].items():
        lines.append(f"{key:<22}{m['n']:>5}{m['hit@1']:>8.3f}{m['hit@3']:>8.3f}{m['mrr']:>7.3f}"
                     f"{m['lang_acc']:>7.3f}{m['intent_acc']:>8.3f}")
    if report["worst"]:
        lines.append(f"\nworst questions ({len(report['worst'])} missed the top 3):")
        for item in report["worst"][:worst]:
            lines.append(f"- [{item['lang']}/{item['intent']}→{item['got_intent']}] {item['q']!r}: "
                         f"expected {item['expect']}, got {item['got']}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Turn:
    """One message of a conversation case and what its answer must and must not say."""

    q: str
    must: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConversationCase:
    """A single question or a whole dialogue, with the language and type of answer it needs."""

    turns: tuple[Turn, ...]
    lang: str
    type: str


def is_conversation_file(path: Path) -> bool:
    """True for the answer-content format (must / must_not, dialogues) rather than ranked record ids."""
    items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return bool(items) and isinstance(items[0], dict) and ("dialogue" in items[0] or "must" in items[0])


def load_conversation_cases(path: Path) -> list[ConversationCase]:
    """Read a YAML list of {q, lang, type, must, must_not} or {dialogue: [turns], lang, type}."""
    try:
        items = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise EvalFileError(f"cannot read {path}: {exc}") from exc
    cases = []
    for n, item in enumerate(items or [], 1):
        try:
            raw_turns = item.get("dialogue", [item])
            turns = tuple(Turn(str(t["q"]), tuple(t.get("must") or ()), tuple(t.get("must_not") or ()))
                          for t in raw_turns)
            cases.append(ConversationCase(turns, item["lang"], item["type"]))
        except (AttributeError, KeyError, TypeError) as exc:
            raise EvalFileError(f"{path}, item {n}: needs q (or dialogue), lang and type ({exc})") from exc
    return cases


def turn_failures(turn: Turn, answer: Answer, lang: str) -> list[str]:
    """What an answer got wrong: a missing must, a present must_not, the wrong language."""
    text = answer.answer.lower()
    failures = [f"missing {m!r}" for m in turn.must if not any(alt.lower() in text for alt in m.split("|"))]
    failures += [f"has {m!r}" for m in turn.must_not if any(alt.lower() in text for alt in m.split("|"))]
    if answer.lang != lang:
        failures.append(f"answered in {answer.lang}")
    return failures


def evaluate_conversations(advisor: Advisor, cases: list[ConversationCase]) -> dict[str, Any]:
    """Hold every case as a fresh chat; the share of cases whose every turn passes, per type and language, and
    the share of turns that pass, per language (`turns:<lang>`)."""
    groups: dict[str, list[bool]] = defaultdict(list)
    failed: list[dict[str, Any]] = []
    for case in cases:
        conversation = None
        problems: list[str] = []
        for turn in case.turns:
            answer, conversation = advisor.converse(turn.q, conversation)
            wrong = turn_failures(turn, answer, case.lang)
            groups[f"turns:{case.lang}"].append(not wrong)
            problems += [f"{turn.q!r}: {p}" for p in wrong]
        kind = "dialogue" if len(case.turns) > 1 else "single"
        for key in ("all", f"lang:{case.lang}", f"{kind}:{case.lang}", f"type:{case.type}"):
            groups[key].append(not problems)
        if problems:
            failed.append({"type": case.type, "lang": case.lang, "problems": problems})
    return {"groups": {k: {"n": len(v), "pass": round(sum(v) / len(v), 3)} for k, v in sorted(groups.items())},
            "failed": failed}


def format_conversation_report(report: dict[str, Any], shown: int = 20) -> str:
    """A table of pass shares, then the failed cases."""
    lines = [f"{'group':<28}{'n':>5}{'pass':>8}"]
    lines += [f"{key:<28}{m['n']:>5}{m['pass']:>8.3f}" for key, m in report["groups"].items()]
    if report["failed"]:
        lines.append(f"\nfailed cases ({len(report['failed'])}):")
        for item in report["failed"][:shown]:
            lines.append(f"- [{item['lang']}/{item['type']}] " + "; ".join(item["problems"][:3]))
    return "\n".join(lines)
