"""The learned intent model: what a message asks, from its e5 vector and its letters, trained on the corpus.

Two kinds of evidence are joined in one logistic regression:
- the message's e5 vector, which retrieval computes anyway (the model never encodes a second time);
- character n-grams of the message's folded words (Kazakh letters as Russian ones, Latin typing transliterated),
  which carry Latin-typed and Russian-keyboard Kazakh, slang and typos that the vector reads poorly.

It is trained from the corpus in seconds, at start and at every reload, and is deterministic; nothing is
unpickled. A message may ask two things («сколько учиться на повара и есть ли стипендия»): the second intent is
kept when a one-vs-rest reading of the same features, where each intent's probability stands on its own, puts it
at `also_threshold` or above (the multinomial probabilities share one unit between intents, so a second intent
stays low: on dev a message asking two things got both 0.19 of the time that way, 0.43 this way, for the same
4% of one-question messages given a second answer). Below `threshold` (chosen on dev) the prediction is marked
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
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer

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
    also_threshold: float = Field(0.35, ge=0, le=1)  # a second intent this probable on its own is answered too
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
    """Logistic regressions over [e5 vector, character n-grams of the folded words]; built by `fit`.

    A multinomial one reads the intent; a one-vs-rest one, on the same features, how probable each intent is on
    its own, which is what tells a second question in the same message."""

    def __init__(self, vectorizer: TfidfVectorizer, classifier: LogisticRegression,
                 each: OneVsRestClassifier | None, dense_weight: float):
        self._vectorizer = vectorizer
        self.labels: tuple[str, ...] = tuple(str(label) for label in classifier.classes_)
        # The regressions' weights split by feature kind: scoring a message then needs no stacked matrix,
        # which keeps a prediction well under a millisecond.
        self._weights = _split_weights(classifier.coef_, classifier.intercept_, len(vectorizer.vocabulary_),
                                       dense_weight)
        self._each_weights = None if each is None else _split_weights(
            np.vstack([e.coef_ for e in each.estimators_]), np.concatenate([e.intercept_ for e in each.estimators_]),
            len(vectorizer.vocabulary_), dense_weight)

    @classmethod
    def fit(cls, texts: Sequence[str], label_sets: Sequence[Sequence[str]], vectors: np.ndarray, c: float,
            dense_weight: float, min_df: int = 2, one_vs_rest: bool = False) -> TextClassifier:
        """Fit on texts, the labels of each (its intent first) and their vectors (one row each, in the same order);
        n-grams seen in fewer than `min_df` texts are left out. `one_vs_rest` also fits the per-label reading."""
        if not len(texts) == len(label_sets) == len(vectors):
            raise ValueError(f"{len(texts)} texts, {len(label_sets)} label sets and {len(vectors)} vectors")
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=min_df, sublinear_tf=True,
                                     dtype=np.float32)
        features = _features(vectorizer.fit_transform([letters(t) for t in texts]),
                             np.asarray(vectors, dtype=np.float32), dense_weight)
        # A message asking two things teaches the multinomial model both, at half weight each.
        rows = [i for i, labels in enumerate(label_sets) for _ in labels]
        weights = [1.0 / len(labels) for labels in label_sets for _ in labels]
        classifier = LogisticRegression(C=c, max_iter=3000)
        classifier.fit(features[rows], [label for labels in label_sets for label in labels], sample_weight=weights)
        each = None
        if one_vs_rest:
            each = OneVsRestClassifier(LogisticRegression(C=c, max_iter=3000))
            each.fit(features, MultiLabelBinarizer(classes=list(classifier.classes_)).fit_transform(label_sets))
        return cls(vectorizer, classifier, each, dense_weight)

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """One row of label probabilities per text (summing to one), columns in `labels` order."""
        return _softmax(self._logits(self._grams(texts), vectors, self._weights))

    def both_probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`probabilities`, and each label's own probability (one-vs-rest), from one reading of the n-grams."""
        if self._each_weights is None:
            raise ValueError("this classifier was fitted without one_vs_rest=True")
        grams = self._grams(texts)
        each = 1.0 / (1.0 + np.exp(-self._logits(grams, vectors, self._each_weights)))
        return _softmax(self._logits(grams, vectors, self._weights)), each

    def _grams(self, texts: Sequence[str]) -> sparse.spmatrix:
        return self._vectorizer.transform([letters(t) for t in texts])

    @staticmethod
    def _logits(grams: sparse.spmatrix, vectors: np.ndarray,
                weights: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        gram_weights, dense_weights, intercept = weights
        return grams @ gram_weights + np.asarray(vectors, dtype=np.float32) @ dense_weights + intercept


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
        classifier = TextClassifier.fit([e.text for e in examples], [e.labels for e in examples], vectors,
                                        settings.c, settings.dense_weight, settings.min_df, one_vs_rest=True)
        language = LanguageDetector.train([e.text for e in examples], [e.lang for e in examples])
        return cls(classifier, settings, language, trained_on)

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """One row of intent probabilities per text, columns in `labels` order."""
        return self._classifier.probabilities(texts, vectors)

    def predict(self, text: str, vector: Sequence[float]) -> Prediction:
        """The prediction for one message and its vector."""
        probabilities, each = self._classifier.both_probabilities([text], np.asarray([vector]))
        return self.read(probabilities[0], each[0])

    def read(self, row: np.ndarray, each: np.ndarray | None = None) -> Prediction:
        """A prediction from one row of probabilities and, to find a second intent, each intent's own."""
        order = np.argsort(-row)
        ranked = tuple((self.labels[i], round(float(row[i]), 4)) for i in order[:3])
        best, confidence = ranked[0]
        # An injection wrapped around a real question («ignore your instructions. какие документы нужны?») keeps
        # the question: the answer comes from the knowledge base only, so it can reveal nothing.
        others = [i for i in np.argsort(-each) if self.labels[i] != best][:1] if each is not None else []
        also = tuple(self.labels[i] for i in others if each[i] >= self.settings.also_threshold
                     and (best in COMBINABLE or best == "injection") and self.labels[i] in COMBINABLE)
        worry = float(row[self.labels.index("crisis")]) if "crisis" in self.labels else 0.0
        return Prediction(best, confidence, also, ranked, sure=confidence >= self.settings.threshold,
                          guess=confidence < self.settings.clarify_below,
                          worried=best != "crisis" and worry >= self.settings.worry)


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, as the multinomial regression's predict_proba."""
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _split_weights(coef: np.ndarray, intercept: np.ndarray, grams: int,
                   dense_weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A regression's weights as (n-gram part, dense part scaled by `dense_weight`, intercept)."""
    return (np.ascontiguousarray(coef[:, :grams].T), np.ascontiguousarray(coef[:, grams:].T * dense_weight),
            intercept)


def _features(grams: sparse.spmatrix, vectors: np.ndarray, dense_weight: float) -> sparse.csr_matrix:
    return sparse.hstack([grams, sparse.csr_matrix(vectors * dense_weight)], format="csr")
