"""How well the intent model reads messages: accuracy and macro-F1 per language, confusions, safety recall.

The protocol keeps the test part honest. Settings are tuned on dev with a model trained on train alone; the
shipped model is then trained on train + dev, and the test part (tests/eval/intents/, never trained or tuned on)
is read once to report it.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from advisor.advisor import Advisor
from advisor.fields import FieldModel
from advisor.intents import IntentModel, IntentSettings
from advisor.safety import risk_of
from embeddings.retriever import HybridRetriever
from knowledge.intents import Example
from knowledge.loader import KnowledgeBase
from knowledge.schema import Speciality

Vectors = Callable[[Sequence[Example]], np.ndarray]
SCRIPTS = ("ru", "kk", "kk_latin")
# The grid `eval-intents --tune` searches on dev.
GRID = {"dense_weight": (0.5, 1.0, 1.5, 2.0), "c": (10.0, 30.0, 100.0)}
FIELD_WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0)  # the field model's weights `--tune` tries


def predictions(model: IntentModel, examples: Sequence[Example], vectors: np.ndarray) -> list[tuple[str, float]]:
    """The model's intent and confidence for each example."""
    rows = model.probabilities([e.text for e in examples], vectors)
    return [(p.intent, p.confidence) for p in (model.read(row) for row in rows)]


def report(model: IntentModel, examples: Sequence[Example], vectors: np.ndarray) -> dict[str, Any]:
    """Accuracy and macro-F1 per script, safety recall and precision, and the most frequent confusions."""
    predicted = predictions(model, examples, vectors)
    result: dict[str, Any] = {}
    for script in SCRIPTS:
        pairs = [(e.label, p) for e, (p, _) in zip(examples, predicted) if e.script == script]
        if pairs:
            truth, guess = zip(*pairs)
            result[script] = {"n": len(pairs), "accuracy": round(float(np.mean([t == g for t, g in pairs])), 3),
                              "macro_f1": round(float(f1_score(truth, guess, labels=sorted(set(truth)),
                                                               average="macro", zero_division=0)), 3)}
    result["crisis"] = _safety(examples, predicted)
    for label in ("offtopic", "injection", "illegal"):
        hits = [p == label for e, (p, _) in zip(examples, predicted) if e.label == label]
        result[label] = {"n": len(hits), "recall": round(float(np.mean(hits)), 3) if hits else None}
    confusions = Counter((e.label, p) for e, (p, _) in zip(examples, predicted) if e.label != p)
    result["confusions"] = [{"true": t, "predicted": p, "n": n} for (t, p), n in confusions.most_common(10)]
    result["threshold"] = _threshold_table(examples, predicted)
    return result


def _safety(examples: Sequence[Example], predicted: list[tuple[str, float]]) -> dict[str, Any]:
    """Crisis recall and precision of what the bot does: the model or the word-list floor, whichever fires."""
    flagged = [p == "crisis" or risk_of(e.text) == "crisis" for e, (p, _) in zip(examples, predicted)]
    truth = [e.label == "crisis" for e in examples]
    caught = sum(f and t for f, t in zip(flagged, truth))
    return {"n": sum(truth), "recall": round(caught / sum(truth), 3) if any(truth) else None,
            "precision": round(caught / sum(flagged), 3) if any(flagged) else None}


def _threshold_table(examples: Sequence[Example], predicted: list[tuple[str, float]]) -> list[dict[str, float]]:
    """For a few thresholds: the share of messages the model is sure of, and its accuracy on those and the rest."""
    table = []
    for threshold in (0.3, 0.4, 0.5, 0.6):
        sure = [(e.label == p) for e, (p, c) in zip(examples, predicted) if c >= threshold]
        unsure = [(e.label == p) for e, (p, c) in zip(examples, predicted) if c < threshold]
        table.append({"threshold": threshold, "sure_share": round(len(sure) / len(examples), 3),
                      "sure_accuracy": round(float(np.mean(sure)), 3) if sure else 0.0,
                      "unsure_accuracy": round(float(np.mean(unsure)), 3) if unsure else 0.0})
    return table


def evaluate_intents(train: Sequence[Example], dev: Sequence[Example], test: Sequence[Example], vectors: Vectors,
                     settings: IntentSettings) -> dict[str, Any]:
    """Dev figures of a model trained on train; test figures of the shipped model (train + dev)."""
    tuned = IntentModel.train(train, vectors(train), settings)
    shipped = IntentModel.train([*train, *dev], vectors([*train, *dev]), settings)
    return {"sizes": {"train": len(train), "dev": len(dev), "test": len(test)},
            "dev": report(tuned, dev, vectors(dev)), "test": report(shipped, test, vectors(test))}


def tune(train: Sequence[Example], dev: Sequence[Example], vectors: Vectors,
         settings: IntentSettings) -> list[dict[str, Any]]:
    """Dev macro-F1 (mean over scripts) for every point of GRID, best first; the test part is not read."""
    train_vectors, dev_vectors = vectors(train), vectors(dev)
    rows = []
    for dense_weight, c in itertools.product(GRID["dense_weight"], GRID["c"]):
        candidate = settings.model_copy(update={"dense_weight": dense_weight, "c": c})
        result = report(IntentModel.train(train, train_vectors, candidate), dev, dev_vectors)
        rows.append({"dense_weight": dense_weight, "c": c,
                     "macro_f1": round(float(np.mean([result[s]["macro_f1"] for s in SCRIPTS if s in result])), 3),
                     **{s: result[s]["macro_f1"] for s in SCRIPTS if s in result}})
    return sorted(rows, key=lambda r: -r["macro_f1"])


def field_report(kb: KnowledgeBase, retriever: HybridRetriever, intents: IntentModel, fields: FieldModel,
                 examples: Sequence[Example]) -> dict[str, Any]:
    """`first_suggestion_fields` of the answers an advisor with these models gives."""
    advisor = Advisor(kb, retriever, intents, fields)

    def groups(text: str) -> list[str]:
        return [spec.group.value for s in advisor.ask(text).specialities if isinstance(spec := kb.get(s.id), Speciality)]

    return first_suggestion_fields(groups, examples)


def first_suggestion_fields(ask: Callable[[str], Sequence[str]], examples: Sequence[Example]) -> dict[str, Any]:
    """Share of interest messages whose first suggested speciality is from the field a counsellor would pick.

    `ask` returns the groups of the specialities an answer suggests, best first."""
    rows = [(e.lang, e.group, list(ask(e.text))) for e in examples if e.group]
    result: dict[str, Any] = {}
    for lang in ("ru", "kk"):
        hits = [bool(groups) and groups[0] == wanted for lang_, wanted, groups in rows if lang_ == lang]
        result[lang] = {"n": len(hits), "first_in_field": round(float(np.mean(hits)), 3) if hits else None}
    misses = Counter((wanted, groups[0] if groups else "none") for _, wanted, groups in rows
                     if not groups or groups[0] != wanted)
    result["confusions"] = [{"true": t, "predicted": p, "n": n} for (t, p), n in misses.most_common(8)]
    return result


def format_report(result: dict[str, Any]) -> str:
    """The figures as a short table for a terminal."""
    sizes = result["sizes"]
    lines = [f"corpus: train {sizes['train']}, dev {sizes['dev']}, test {sizes['test']}"]
    for part in ("dev", "test"):
        r = result[part]
        lines.append(f"\n{part}:")
        for script in SCRIPTS:
            if script in r:
                lines.append(f"  {script:<9} n={r[script]['n']:<4} accuracy {r[script]['accuracy']:.3f}  "
                             f"macro-F1 {r[script]['macro_f1']:.3f}")
        lines.append(f"  crisis    recall {r['crisis']['recall']}  precision {r['crisis']['precision']}")
        lines.append("  recall    " + ", ".join(f"{k} {r[k]['recall']}" for k in ("offtopic", "injection", "illegal")))
        lines.append("  confusions: " + "; ".join(f"{c['true']}→{c['predicted']} ×{c['n']}" for c in r["confusions"]))
        if fields := r.get("fields"):
            lines.append("  first suggestion in the expected field: " + ", ".join(
                f"{lang} {fields[lang]['first_in_field']} (n={fields[lang]['n']})" for lang in ("ru", "kk")))
            lines.append("    misses: " + "; ".join(f"{c['true']}→{c['predicted']} ×{c['n']}"
                                                   for c in fields["confusions"]))
    return "\n".join(lines)
