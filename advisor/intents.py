"""The learned intent model: what a message asks, from its e5 vector and its letters, trained on the corpus.

Two kinds of evidence are joined in one logistic regression:
- the message's e5 vector, which retrieval computes anyway (the model never encodes a second time);
- character n-grams of the message's folded words (Kazakh letters as Russian ones, Latin typing transliterated),
  which carry Latin-typed and Russian-keyboard Kazakh, slang and typos that the vector reads poorly.

It is trained from the corpus in seconds, at start and at every reload, and is deterministic; nothing is
unpickled. A message may ask two things («сколько учиться на повара и есть ли стипендия»): the second intent is
kept when its probability passes `also_threshold`. Below `threshold` (chosen on dev) the prediction is marked
unsure, and the understanding front settles it by the slots or asks one short question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from advisor.language import LanguageDetector
from knowledge.intents import Example
from knowledge.text import letters

# Intents that can be asked together with another one in the same message; chat acts and safety cannot.
COMBINABLE = frozenset({
    "suggest", "speciality_info", "speciality_compare", "speciality_code", "speciality_length", "colleges", "free",
    "quota", "stipend", "admission_dates", "admission_documents", "admission_exams", "medical_certificate", "ent",
    "pass_mark", "university", "grade_choice", "dormitory", "paid_cost", "salary", "demand", "dual", "targeted",
})


class IntentSettings(BaseModel):
    """How the model is built and read (the `intents:` section of config.yaml); values chosen on the dev split."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    corpus_path: Path = Path("knowledge/data/intents")  # the labelled corpus: train/ and dev/ folders of <intent>.yaml
    vector_cache: Path = Path("var/cache")  # where the corpus's vectors are kept between starts, per embedding model
    dense_weight: float = Field(1.0, ge=0)  # scale of the e5 vector against the n-gram features
    c: float = Field(30.0, gt=0)  # inverse regularisation of the logistic regression
    min_df: int = Field(5, ge=1)  # n-grams in fewer messages than this are left out: fewer features, faster training
    threshold: float = Field(0.45, ge=0, le=1)  # below it a prediction is unsure: a named slot may settle it
    clarify_below: float = Field(0.2, ge=0, le=1)  # below it, with no slot to settle, the bot asks which of two
    also_threshold: float = Field(0.25, ge=0, le=1)  # a second intent at least this probable is answered too
    worry: float = Field(0.1, ge=0, le=1)  # P(crisis) from which an answer to another intent ends with the helplines


@dataclass(frozen=True)
class Prediction:
    """The intent a message asks, how sure the model is, and what else it asks."""

    intent: str
    confidence: float
    also: tuple[str, ...] = ()
    ranked: tuple[tuple[str, float], ...] = ()  # the best few intents with their probabilities
    sure: bool = True
    guess: bool = False  # too unsure to answer: better to ask which of the two best it is
    worried: bool = False  # not read as a crisis, yet crisis is probable enough that the answer ends with the helplines


class TextClassifier:
    """A logistic regression over [e5 vector, character n-grams of the folded words]; built by `fit`."""

    def __init__(self, vectorizer: TfidfVectorizer, classifier: LogisticRegression, dense_weight: float):
        self._vectorizer = vectorizer
        self.labels: tuple[str, ...] = tuple(str(label) for label in classifier.classes_)
        # The regression's weights split by feature kind: scoring a message then needs no stacked matrix,
        # which keeps a prediction well under a millisecond.
        grams = len(vectorizer.vocabulary_)
        self._gram_weights = np.ascontiguousarray(classifier.coef_[:, :grams].T)
        self._dense_weights = np.ascontiguousarray(classifier.coef_[:, grams:].T * dense_weight)
        self._intercept = classifier.intercept_

    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[str], vectors: np.ndarray, c: float, dense_weight: float,
            weights: Sequence[float] | None = None, min_df: int = 2) -> TextClassifier:
        """Fit on texts, their labels and their vectors (one row each, in the same order); n-grams seen in fewer
        than `min_df` texts are left out."""
        if not len(texts) == len(labels) == len(vectors):
            raise ValueError(f"{len(texts)} texts, {len(labels)} labels and {len(vectors)} vectors")
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=min_df, sublinear_tf=True,
                                     dtype=np.float32)
        grams = vectorizer.fit_transform([letters(t) for t in texts])
        classifier = LogisticRegression(C=c, max_iter=3000)
        classifier.fit(_features(grams, np.asarray(vectors, dtype=np.float32), dense_weight), list(labels),
                       sample_weight=None if weights is None else np.asarray(weights))
        return cls(vectorizer, classifier, dense_weight)

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """One row of label probabilities per text, columns in `labels` order."""
        grams = self._vectorizer.transform([letters(t) for t in texts])
        logits = grams @ self._gram_weights + np.asarray(vectors, dtype=np.float32) @ self._dense_weights
        logits += self._intercept
        logits -= logits.max(axis=1, keepdims=True)  # softmax, as the multinomial regression's predict_proba
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


class IntentModel:
    """The intents of messages, read with the thresholds chosen on dev; built by `train`."""

    def __init__(self, classifier: TextClassifier, settings: IntentSettings, language: LanguageDetector,
                 trained_on: str = ""):
        self._classifier = classifier
        self.settings = settings
        self.language = language  # the message's language, learnt from the same examples
        self.labels = classifier.labels
        self.trained_on = trained_on  # a key of what it learnt from, given by the caller (see app.wiring)

    @classmethod
    def train(cls, examples: Sequence[Example], vectors: np.ndarray,
              settings: IntentSettings | None = None, trained_on: str = "") -> IntentModel:
        """Fit on labelled examples and their vectors (one row each, in the same order)."""
        settings = settings or IntentSettings()
        if len(examples) != len(vectors):
            raise ValueError(f"{len(examples)} examples but {len(vectors)} vectors")
        texts, rows, labels, weights = [], [], [], []
        for example, vector in zip(examples, vectors):
            for label in example.labels:  # a message asking two things teaches both, at half weight each
                texts.append(example.text)
                rows.append(vector)
                labels.append(label)
                weights.append(1.0 / len(example.labels))
        classifier = TextClassifier.fit(texts, labels, np.asarray(rows, dtype=np.float32), settings.c,
                                        settings.dense_weight, weights, settings.min_df)
        language = LanguageDetector.train([e.text for e in examples], [e.lang for e in examples])
        return cls(classifier, settings, language, trained_on)

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """One row of intent probabilities per text, columns in `labels` order."""
        return self._classifier.probabilities(texts, vectors)

    def predict(self, text: str, vector: Sequence[float]) -> Prediction:
        """The prediction for one message and its vector."""
        return self.read(self.probabilities([text], np.asarray([vector]))[0])

    def read(self, row: np.ndarray) -> Prediction:
        """A prediction from one row of probabilities."""
        order = np.argsort(-row)
        ranked = tuple((self.labels[i], round(float(row[i]), 4)) for i in order[:3])
        best, confidence = ranked[0]
        # An injection wrapped around a real question («ignore your instructions. какие документы нужны?») keeps
        # the question: the answer comes from the knowledge base only, so it can reveal nothing.
        also = tuple(label for label, p in ranked[1:2] if p >= self.settings.also_threshold
                     and (best in COMBINABLE or best == "injection") and label in COMBINABLE)
        worry = float(row[self.labels.index("crisis")]) if "crisis" in self.labels else 0.0
        return Prediction(best, confidence, also, ranked, sure=confidence >= self.settings.threshold,
                          guess=confidence < self.settings.clarify_below,
                          worried=best != "crisis" and worry >= self.settings.worry)


def _features(grams: sparse.spmatrix, vectors: np.ndarray, dense_weight: float) -> sparse.csr_matrix:
    return sparse.hstack([grams, sparse.csr_matrix(vectors * dense_weight)], format="csr")
