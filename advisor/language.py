"""Russian or Kazakh: learnt from the labelled corpus, where every message carries the language it is written in.

Character n-grams of the folded words (Kazakh letters as Russian ones, Latin typing transliterated) carry the
Kazakh typed on a Russian keyboard or in Latin letters as well as the Kazakh letters themselves do. A message
mixing both languages is labelled with its main one. On dev (trained on train) it errs on 22 of 2,461 messages,
where the letter-trigram model of the knowledge base's own texts that it replaced erred on 42.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from knowledge.text import letters

SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
# A bilingual message turns to the language of its last sentence when that sentence reads surely in it and the
# whole message does not read surely in the other. Read on dev chats: «Хромтауда қандай колледж бар? в Хромтау
# колледж есть?» (last 5.3, whole -0.3) wants Russian; «Almatyda … bar dep estidim, ras pa?» does not turn.
LAST_SENTENCE_MARGIN = 2.5
WHOLE_MESSAGE_MARGIN = 3.5


class LanguageDetector:
    """A logistic regression over character n-grams of the folded words; built by `train`."""

    def __init__(self, vectorizer: TfidfVectorizer, classifier: LogisticRegression):
        self._vectorizer = vectorizer
        # Two languages: one weight vector scores the second class; read directly, not through `predict`,
        # whose checks cost more than the arithmetic.
        self._weights = classifier.coef_[0].copy()
        self._intercept = float(classifier.intercept_[0])
        self._languages = tuple(str(c) for c in classifier.classes_)

    @classmethod
    def train(cls, texts: Sequence[str], languages: Sequence[str]) -> LanguageDetector:
        """Fit on messages and the language each is written in ('ru' or 'kk')."""
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True)
        classifier = LogisticRegression(C=10.0, max_iter=2000)
        classifier.fit(vectorizer.fit_transform([letters(t) for t in texts]), list(languages))
        return cls(vectorizer, classifier)

    def detect(self, text: str) -> str:
        """'kk' or 'ru'; Russian when the text has no words."""
        return self._languages[1] if self._score(text) > 0 else self._languages[0]

    def reply_language(self, text: str) -> str:
        """The language to answer a message in: the whole message's, or that of a last sentence written clearly in
        the other language («Шалкарда колледж бар ма? в Шалкаре есть колледж?»): the writer turns to it."""
        whole = self.detect(text)
        *_, last = SENTENCE_END.split(text.strip())
        other = self._languages[0] if whole == self._languages[1] else self._languages[1]
        # one word («…, всё понятно. Рахмет!») is too little to turn to: Russian speakers thank with «рахмет» too
        if last != text.strip() and len(last.split()) > 1 and self.sure_of(last, other, LAST_SENTENCE_MARGIN) \
                and not self.sure_of(text, whole, WHOLE_MESSAGE_MARGIN):
            return other
        return whole

    def sure_of(self, text: str, language: str, margin: float) -> bool:
        """True when the text is in this language with a log-odds of at least `margin`."""
        score = self._score(text)
        return (score if language == self._languages[1] else -score) >= margin

    def _score(self, text: str) -> float:
        """The log-odds of the second language; 0 leans to the first (Russian) for a text with no words."""
        folded = letters(text)
        if not folded:
            return -1.0 if self._languages[0] == "ru" else 1.0
        return float((self._vectorizer.transform([folded]) @ self._weights)[0]) + self._intercept
