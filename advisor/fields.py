"""Which field of study an interest message points to: treating people is medicine, engines are transport.

Retrieval finds specialities whose words are near the message; a counsellor first decides the field. This
model learns that decision from the suggest messages of the corpus labelled with their `field` (the group of
specialities the first suggestion must come from), plus each speciality's own names and keywords under its
group. The ranking then tips each speciality by the probability of its group (`FieldSettings.weight`, chosen on
the dev part).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from advisor.intents import TextClassifier
from knowledge.intents import Example
from knowledge.loader import KnowledgeBase


class FieldSettings(BaseModel):
    """How the field model is built and used (the `fields:` section of config.yaml); chosen on dev."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weight: float = Field(1.0, ge=0)  # a speciality's score is multiplied by 1 + weight × P(its group)
    sure: float = Field(0.5, ge=0, le=1)  # a group this probable is named as the reason for its specialities
    c: float = Field(10.0, gt=0)  # inverse regularisation of the logistic regression
    dense_weight: float = Field(1.0, ge=0)  # scale of the e5 vector against the n-gram features


def field_texts(examples: Sequence[Example], kb: KnowledgeBase) -> tuple[list[str], list[str]]:
    """Training texts and their groups: labelled interest messages, then every speciality's names and keywords."""
    groups = {spec.group.value for spec in kb.specialities}
    texts = [e.text for e in examples if e.group in groups]
    labels = [e.group for e in examples if e.group in groups]
    for spec in kb.specialities:
        for text in (spec.name_ru, spec.name_kk, *spec.keywords_ru, *spec.keywords_kk):
            if text:
                texts.append(text)
                labels.append(spec.group.value)
    return texts, labels


class FieldModel:
    """P(group | message) for the groups of specialities in the knowledge base."""

    def __init__(self, classifier: TextClassifier, settings: FieldSettings, trained_on: str = ""):
        self._classifier = classifier
        self.settings = settings
        self.trained_on = trained_on  # a key of what it learnt from, given by the caller (see app.wiring)

    @classmethod
    def train(cls, texts: Sequence[str], groups: Sequence[str], vectors: np.ndarray,
              settings: FieldSettings | None = None, trained_on: str = "") -> FieldModel:
        """Fit on texts (from `field_texts`), their groups and their vectors."""
        settings = settings or FieldSettings()
        classifier = TextClassifier.fit(texts, [(group,) for group in groups], vectors, settings.c, settings.dense_weight)
        return cls(classifier, settings, trained_on)

    def probabilities(self, text: str, vector: Sequence[float]) -> dict[str, float]:
        """Each group's probability for one message."""
        row = self._classifier.probabilities([text], np.asarray([vector]))[0]
        return {label: float(p) for label, p in zip(self._classifier.labels, row)}

    def read(self, text: str, vector: Sequence[float]) -> tuple[dict[str, float], str]:
        """The factor each group's specialities are scored by for this message, and the group it surely points
        to ('' when no group is at least `sure` probable)."""
        probabilities = self.probabilities(text, vector)
        top = max(probabilities, key=probabilities.__getitem__)
        boosts = {group: 1.0 + self.settings.weight * p for group, p in probabilities.items()}
        return boosts, top if probabilities[top] >= self.settings.sure else ""
