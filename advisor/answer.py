"""The advisor's answer: text for the user plus the structured suggestions and sources behind it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SpecialitySuggestion:
    id: str
    code: str
    name_ru: str
    name_kk: str
    score: float
    why: str

    def name(self, lang: str) -> str:
        """The name in the answer's language, falling back to Russian when no Kazakh name is sourced."""
        return (self.name_kk or self.name_ru) if lang == "kk" else self.name_ru


@dataclass
class CollegeSuggestion:
    id: str
    name: str
    city: str
    region: str
    specialities: list[str]


@dataclass
class ProgrammeSuggestion:
    id: str
    title: str
    option: bool = False  # listed by number as an option of the answer: «расскажи про третий» picks among them


@dataclass
class SourceRef:
    id: str
    kind: str
    title: str
    score: float
    source: str


@dataclass
class Answer:
    """Everything the bot, the CLI and the tests need from one question."""

    question: str
    lang: str
    intent: str
    answer: str
    specialities: list[SpecialitySuggestion] = field(default_factory=list)
    colleges: list[CollegeSuggestion] = field(default_factory=list)
    programmes: list[ProgrammeSuggestion] = field(default_factory=list)
    sources: list[SourceRef] = field(default_factory=list)
    grade: int | None = None
    city: str = ""
    answered: bool = True
    label: str = ""  # the intent the model read in the message (finer than `intent`, the kind of answer)
    confidence: float | None = None  # the model's probability for it

    def to_json(self) -> dict[str, Any]:
        """The JSON object `ask --json` prints."""
        data = asdict(self)
        for item in data["specialities"] + data["sources"]:
            item["score"] = round(item["score"], 4)
        if self.confidence is not None:
            data["confidence"] = round(self.confidence, 3)
        return data
