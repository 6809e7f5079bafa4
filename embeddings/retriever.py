"""Hybrid retrieval: BM25 over stemmed Russian and Kazakh text fused with dense search by reciprocal rank."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rank_bm25 import BM25Okapi
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from embeddings.documents import Document
from embeddings.index import VectorIndex
from knowledge.text import stemmed_tokens, stems, tokens


@dataclass(frozen=True)
class Filters:
    """Metadata filters: record kinds, a college region or city, a speciality group."""

    kinds: tuple[str, ...] = ()
    region: str = ""
    city: str = ""
    group: str = ""

    def accepts(self, metadata: dict[str, Any]) -> bool:
        """True when a document's metadata passes every filter set."""
        if self.kinds and metadata.get("kind") not in self.kinds:
            return False
        if self.region and metadata.get("kind") == "college" and metadata.get("region") != self.region:
            return False
        if self.city and metadata.get("kind") == "college" and metadata.get("city") != self.city:
            return False
        if self.group and metadata.get("group") != self.group:
            return False
        return True


@dataclass
class Hit:
    """One retrieved record with its fused score and the ranks behind it."""

    id: str
    kind: str
    score: float
    dense: float = 0.0  # cosine similarity, 0 when only BM25 found it
    key_terms: list[str] = field(default_factory=list)  # matched in names, titles or keywords


class HybridRetriever:
    """Searches knowledge documents by keywords (BM25) and meaning (vectors) at once."""

    def __init__(self, documents: list[Document], index: VectorIndex, rrf_k: int = 60,
                 dense_weight: float = 1.0, sparse_weight: float = 1.0):
        self.documents = documents
        self.by_id = {d.id: d for d in documents}
        self.index = index
        self.rrf_k = rrf_k
        self.dense_weight = dense_weight
        self.sparse_weight = sparse_weight
        self._doc_terms = [stemmed_tokens(d.text) for d in documents]
        self._positions = {d.id: i for i, d in enumerate(documents)}
        self._key_sets = [set(stemmed_tokens(d.key_text)) for d in documents]
        self.bm25 = BM25Okapi(self._doc_terms)
        # One question is searched several times (by kind); remember its terms and scores.
        self._bm25_scores = lru_cache(maxsize=256)(lambda terms: self.bm25.get_scores(list(terms)))
        self.query_terms = lru_cache(maxsize=256)(self._query_terms)  # type: ignore[method-assign]
        self._dense_all = lru_cache(maxsize=256)(lambda query: self.index.search(query, k=len(self.documents)))
        # Known stems grouped by first letter, each with a word it came from, to correct typos in questions.
        self._stem_word: dict[str, str] = {}
        for document in documents:
            for word in tokens(document.text):
                for term in stems(word):
                    self._stem_word.setdefault(term, word)
        self._by_initial: dict[str, list[str]] = defaultdict(list)
        for term in self._stem_word:
            self._by_initial[term[0]].append(term)

    def _query_terms(self, query: str) -> tuple[list[str], list[str]]:
        """BM25 terms of the query, with typos corrected («павара» → «повар»), and the words corrected to."""
        terms: list[str] = []
        corrections: list[str] = []
        for term in stemmed_tokens(query):
            terms.append(term)
            if term in self._stem_word or len(term) < 4 or term.isdigit():
                continue
            close = self._closest_term(term)
            if close:
                terms.append(close)
                corrections.append(self._stem_word[close])
        return terms, corrections

    def _closest_term(self, term: str) -> str | None:
        """A known stem for an unknown one: within one edit (two for long words), else a prefix relation.

        Prefixes catch slang and derived forms: «комп» → «компьютер», «барбершоп» → «барбер».
        """
        candidates = self._by_initial.get(term[0], [])
        limit = 1 if len(term) < 7 else 2
        best = process.extractOne(term, candidates, scorer=Levenshtein.distance, score_cutoff=limit)
        if best:
            return best[0]
        shorter = [c for c in candidates if len(c) >= 5 and term.startswith(c)]
        if shorter:
            return max(shorter, key=len)
        longer = [c for c in candidates if c.startswith(term)]
        return min(longer, key=len) if longer else None

    def dense_text(self, query: str) -> str:
        """What dense search embeds for a query: the query with its typo corrections appended."""
        return " ".join([query, *self.query_terms(query)[1]])

    def query_vector(self, query: str) -> tuple[float, ...]:
        """The query's vector exactly as dense search uses it (one encode per question, shared with the intents)."""
        return self.index.embed(self.dense_text(query))

    def search(self, query: str, k: int = 5, filters: Filters = Filters()) -> list[Hit]:
        """The k best records for the query that pass the filters, best first."""
        pool = max(k * 4, 20)
        terms, _ = self.query_terms(query)
        sparse = self._sparse(terms, filters, pool)
        dense = self._dense(self.dense_text(query), filters, pool)
        fused: dict[str, Hit] = {}
        for weight, ranking in ((self.sparse_weight, sparse), (self.dense_weight, dense)):
            for rank, (doc_id, raw) in enumerate(ranking):
                hit = fused.setdefault(doc_id, Hit(doc_id, str(self.by_id[doc_id].metadata["kind"]), 0.0))
                hit.score += weight / (self.rrf_k + rank + 1)
                if ranking is dense:
                    hit.dense = raw
        for hit in fused.values():
            hit.key_terms = sorted(set(terms) & self._key_sets[self._positions[hit.id]])
        return sorted(fused.values(), key=lambda h: h.score, reverse=True)[:k]

    def _sparse(self, terms: list[str], filters: Filters, pool: int) -> list[tuple[str, float]]:
        if not terms:
            return []
        scores = self._bm25_scores(tuple(terms))
        ranked = sorted(((s, d.id) for s, d in zip(scores, self.documents)
                         if s > 0 and filters.accepts(d.metadata)), reverse=True)
        return [(doc_id, float(score)) for score, doc_id in ranked[:pool]]

    def _dense(self, query: str, filters: Filters, pool: int) -> list[tuple[str, float]]:
        # One nearest-neighbour query over every record per question, filtered here: a question is
        # searched several times with different filters, and the knowledge base is small.
        ranked = [(doc_id, score) for doc_id, score in self._dense_all(query)
                  if doc_id in self.by_id and filters.accepts(self.by_id[doc_id].metadata)]
        return ranked[:pool]

