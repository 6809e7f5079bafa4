"""The labelled corpus of messages: what people write to the bot, each with the intent it asks and its slots.

Kept as YAML beside the knowledge records, one file per intent and split:
`<corpus>/train/<label>.yaml` and `<corpus>/dev/<label>.yaml`, each
`{label: <intent>, examples: [{text, lang, also?, slots?, field?}, ...]}`; `field` (suggest only) is the group of
specialities a counsellor would take the first suggestion from. The test part has the same shape and lives
apart (tests/eval/intents/), read only by the evaluation. An admin adds an example to train/<label>.yaml (for
instance from /unanswered) and reloads; the intent model learns it at the reload.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.schema import Group
from knowledge.text import KAZAKH_LETTERS

# The C parser when PyYAML has it: the corpus is thousands of lines, read at every start and reload.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

GROUPS = tuple(group.value for group in Group)  # what a suggest example's `field` may name
# Every intent the advisor tells apart. Order is the order reports list them in.
LABELS: tuple[str, ...] = (
    "suggest", "speciality_info", "speciality_compare", "speciality_code", "speciality_length",
    "colleges", "free", "quota", "stipend",
    "admission_dates", "admission_documents", "admission_exams", "medical_certificate",
    "ent", "pass_mark", "university", "grade_choice", "dormitory", "paid_cost", "salary", "demand", "dual", "targeted",
    "greeting", "thanks", "goodbye", "who_are_you", "more", "pick_option", "back", "change_detail", "feedback",
    "offtopic", "injection", "crisis", "illegal",
)
SPLITS = ("train", "dev")
SLOTS = ("speciality", "place", "grade", "category", "option")
CATEGORIES = ("rural", "disabled", "orphan", "large_family", "kandas", "veterans", "low_income", "military_family",
              "other")
LANGS = ("ru", "kk")
MIN_PER_LANGUAGE = 40  # the least examples of every intent in each language, over all splits


class CorpusError(Exception):
    """The corpus cannot be used; the message names the file and the example to fix."""


@dataclass(frozen=True)
class Example:
    """One labelled message."""

    text: str
    lang: str
    label: str
    also: tuple[str, ...] = ()
    slots: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    group: str = ""  # for suggest (`field:` in the file): the speciality group the first suggestion must come from

    @property
    def labels(self) -> tuple[str, ...]:
        """The intent first, then the others the message also asks."""
        return (self.label, *self.also)

    @property
    def script(self) -> str:
        """'ru', 'kk' (Cyrillic) or 'kk_latin' (Kazakh typed mostly in Latin letters): the reporting groups."""
        if self.lang != "kk":
            return self.lang
        latin = sum(ch.isascii() and ch.isalpha() for ch in self.text)
        cyrillic = sum(ch.isalpha() and not ch.isascii() for ch in self.text)
        return "kk_latin" if latin > cyrillic else "kk"

    @property
    def without_kazakh_letters(self) -> bool:
        """Kazakh typed in Latin letters or on a Russian keyboard: the forms word lists miss most."""
        return self.lang == "kk" and not (set(self.text.lower()) & KAZAKH_LETTERS)


@dataclass
class Corpus:
    """The examples of each split, and the problems found reading them."""

    splits: dict[str, list[Example]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def examples(self, split: str) -> list[Example]:
        return self.splits.get(split, [])

    def counts(self) -> dict[str, dict[str, int]]:
        """Examples per intent and language over all splits read."""
        counts: dict[str, Counter[str]] = {label: Counter() for label in LABELS}
        for examples in self.splits.values():
            for example in examples:
                counts[example.label][example.lang] += 1
        return {label: dict(c) for label, c in counts.items()}


def read_split(folder: Path, split: str = "") -> tuple[list[Example], list[str]]:
    """The examples of every <label>.yaml in the folder, and the problems met; never raises on bad content."""
    examples: list[Example] = []
    problems: list[str] = []
    if not folder.is_dir():
        return [], [f"{folder}: corpus folder not found"]
    for path in sorted(folder.glob("*.yaml")):
        name = f"{split}/{path.name}" if split else path.name
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # _Loader is a safe loader
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(f"{name}: not valid YAML: {str(exc).splitlines()[0]}")
            continue
        if not isinstance(data, dict) or data.get("label") not in LABELS or not isinstance(data.get("examples"), list):
            problems.append(f"{name}: must be a mapping with `label:` (one of {', '.join(LABELS)}) and `examples:`")
            continue
        for n, raw in enumerate(data["examples"], 1):
            example, problem = _parse_example(raw, data["label"])
            if problem:
                problems.append(f"{name}, example {n}: {problem}")
            elif example:
                examples.append(example)
    return examples, problems


def _parse_example(raw: Any, label: str) -> tuple[Example | None, str]:
    """One example, or the reason it cannot be used."""
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str) or not raw["text"].strip():
        return None, "needs a non-empty `text`"
    if raw.get("lang") not in LANGS:
        return None, f"`lang` must be one of {', '.join(LANGS)}"
    also = raw.get("also") or []
    if not isinstance(also, list) or any(a not in LABELS or a == label for a in also):
        return None, f"`also` must list other intents among: {', '.join(LABELS)}"
    slots = raw.get("slots") or {}
    if not isinstance(slots, dict) or any(k not in SLOTS for k in slots):
        return None, f"`slots` may only name: {', '.join(SLOTS)}"
    if "category" in slots and slots["category"] not in CATEGORIES:
        return None, f"slot `category` must be one of {', '.join(CATEGORIES)}"
    if "grade" in slots and slots["grade"] not in (9, 11):
        return None, "slot `grade` must be 9 or 11"
    wanted_field = raw.get("field") or ""
    if not isinstance(wanted_field, str) or (wanted_field and label != "suggest") or \
            (wanted_field and wanted_field not in GROUPS):
        return None, f"`field` is a speciality group ({', '.join(GROUPS)}), given only on suggest examples"
    return Example(raw["text"].strip(), raw["lang"], label, tuple(also), dict(slots), wanted_field), ""


def load_corpus(folder: Path) -> Corpus:
    """Train and dev examples under the folder, checked: each split read, every intent covered, no leaks."""
    corpus = Corpus()
    for split in SPLITS:
        examples, problems = read_split(folder / split, split)
        corpus.splits[split] = examples
        corpus.problems += problems
    corpus.problems += _coverage_problems(corpus)
    train_texts = {_key(e.text) for e in corpus.examples("train")}
    leaked = sorted({e.text for e in corpus.examples("dev") if _key(e.text) in train_texts})
    corpus.problems += [f"dev/: {text!r} is also in train/ (a dev figure must come from unseen text)"
                        for text in leaked[:10]]
    return corpus


def _coverage_problems(corpus: Corpus) -> list[str]:
    """Every intent needs examples in both languages in train, and some in dev to tune on."""
    problems = []
    for split in SPLITS:
        seen = Counter((e.label, e.lang) for e in corpus.examples(split))
        missing = [f"{label}/{lang}" for label in LABELS for lang in LANGS if not seen[(label, lang)]]
        if missing:
            problems.append(f"{split}/: no examples for {', '.join(missing[:8])}"
                            + (f" and {len(missing) - 8} more" if len(missing) > 8 else ""))
    return problems


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def load_test_part(folder: Path) -> list[Example]:
    """The held-out test part; raises CorpusError when it cannot be read, since a partial test is no result."""
    examples, problems = read_split(folder)
    if problems:
        raise CorpusError("; ".join(problems[:5]))
    if not examples:
        raise CorpusError(f"{folder}: no test examples found")
    return examples


def add_example(folder: Path, label: str, text: str, lang: str) -> bool:
    """Append one message to train/<label>.yaml (an admin labelling an unanswered question); False when the corpus
    has it already. The intent model learns it at the next reload."""
    if label not in LABELS or lang not in LANGS or not text.strip():
        raise CorpusError(f"cannot add {text!r}: the intent must be one of {', '.join(LABELS)} and the language "
                          f"one of {', '.join(LANGS)}")
    corpus = load_corpus(folder)
    if _key(text) in {_key(e.text) for split in SPLITS for e in corpus.examples(split)}:
        return False
    path = folder / "train" / f"{label}.yaml"
    line = yaml.safe_dump([{"lang": lang, "text": text.strip()}], allow_unicode=True, default_flow_style=None,
                          width=10 ** 6)
    if not path.exists():
        path.write_text(f"label: {label}\nexamples:\n", encoding="utf-8")
    existing = path.read_text(encoding="utf-8")
    with path.open("a", encoding="utf-8") as file:
        file.write(("" if existing.endswith("\n") else "\n") + "  " + line)
    return True
