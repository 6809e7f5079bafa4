"""Russian or Kazakh? Kazakh letters decide; otherwise letter trigrams learnt from the knowledge base's own texts."""

from __future__ import annotations

import math
from collections import Counter
from typing import Iterable

from knowledge.text import KAZAKH_LETTERS, fold, normalise, tokens

# Frequent short words that tell the languages apart, as typed without Kazakh letters.
KAZAKH_WORDS = frozenset("мен маган менин сен сиз бар ма ме ба бе па пе жок иа керек калай кайда кандай канша "
                         "неше туралы ушин жане болгым келеди кейин сынып сыныптан оку тегин салем рахмет кім "
                         "кайсы болам болады бола деген айтшы берши".split())
RUSSIAN_WORDS = frozenset("я мне меня хочу хачу где как что кто это после на в и или можно нужно надо какой какая "
                          "какие сколько когда есть для по не привет здравствуйте расскажи учиться стать "
                          "колледж колледжи "
                          "медколледж медколледжи ку чо че про дают программе программа бесплатно там учат ли а "
                          "это ето чем".split())
WORD_WEIGHT = 3.0


class LanguageDetector:
    """Scores a text under letter-trigram models of the knowledge base's Russian and Kazakh fields."""

    def __init__(self, russian_texts: Iterable[str], kazakh_texts: Iterable[str]):
        self._ru, self._ru_total = _trigram_counts(russian_texts)
        self._kk, self._kk_total = _trigram_counts(kazakh_texts)
        self._vocabulary = len(set(self._ru) | set(self._kk)) + 1

    def detect(self, text: str) -> str:
        """'kk' or 'ru'; Russian when nothing tells them apart."""
        lowered = normalise(text)
        raw_words = tokens(lowered)
        words = [fold(w) for w in raw_words]
        if not words:
            return "ru"
        kazakh_lettered = sum(1 for w in raw_words if KAZAKH_LETTERS & set(w))
        # Kazakh letters decide, unless one Kazakh name («Серпін») sits in a plainly Russian sentence.
        if kazakh_lettered >= 2 or (kazakh_lettered and sum(w in RUSSIAN_WORDS for w in words) < 2):
            return "kk"
        score = WORD_WEIGHT * (sum(w in KAZAKH_WORDS for w in words) - sum(w in RUSSIAN_WORDS for w in words))
        for gram in (g for w in words for g in _trigrams(w)):
            score += math.log((self._kk[gram] + 1) / (self._kk_total + self._vocabulary))
            score -= math.log((self._ru[gram] + 1) / (self._ru_total + self._vocabulary))
        return "kk" if score > 0 else "ru"


def _trigrams(word: str) -> list[str]:
    padded = f"^{word}$"
    return [padded[i:i + 3] for i in range(len(padded) - 2)]


def _trigram_counts(texts: Iterable[str]) -> tuple[Counter[str], int]:
    counts: Counter[str] = Counter()
    for text in texts:
        for word in tokens(text):
            counts.update(_trigrams(fold(word)))
    return counts, sum(counts.values())
