"""Text normalisation, the persistent index (incremental, atomic, self-healing) and hybrid retrieval."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FIXTURE_RECORDS, SPECIALITIES, FakeEmbeddings, write_knowledge
from embeddings.documents import build_documents
from embeddings.index import CURRENT, MANIFEST, IndexHome, IndexUnavailable
from embeddings.retriever import Filters, HybridRetriever
from knowledge.loader import load_knowledge
from knowledge.text import latin_to_cyrillic, stemmed_tokens


def test_russian_and_kazakh_word_forms_share_stems() -> None:
    assert set(stemmed_tokens("медсестрой")) & set(stemmed_tokens("медсестра"))
    assert set(stemmed_tokens("мамандықтарға")) & set(stemmed_tokens("мамандық"))
    assert set(stemmed_tokens("дәнекерлеушіге")) & set(stemmed_tokens("дәнекерлеуші"))
    # Kazakh typed on a Russian keyboard still meets the Kazakh spelling.
    assert set(stemmed_tokens("данекерлеуши")) & set(stemmed_tokens("дәнекерлеуші"))


def test_a_russian_word_never_meets_a_kazakh_word_of_the_same_letters() -> None:
    assert not set(stemmed_tokens("устала")) & set(stemmed_tokens("ұста"))  # tired is not a carpenter
    assert set(stemmed_tokens("устага")) & set(stemmed_tokens("ұстаға"))  # Kazakh typed without Kazakh letters


def test_stop_words_do_not_reach_bm25() -> None:
    assert stemmed_tokens("хочу в колледж после 9 класса") == ["9"]


def test_latin_typing_is_transliterated() -> None:
    assert latin_to_cyrillic("hochu na povara") == "хочу на повара"
    assert latin_to_cyrillic("men bagdarlamashy bolgym keledi") == "мен багдарламашы болгым келеди"
    assert latin_to_cyrillic("kompiuterdi jaqsy koremin") == "компютерди жақсы коремин"  # Kazakh j, iu


@pytest.fixture
def home(tmp_path: Path, fake_embeddings: FakeEmbeddings):
    with IndexHome(tmp_path / "index", fake_embeddings) as home:
        yield home


@pytest.fixture
def built(knowledge_dir: Path, home: IndexHome):
    kb = load_knowledge(knowledge_dir)
    index, report = home.reindex(build_documents(kb))
    return kb, index, report


def test_full_build_then_nothing_to_embed(built, home: IndexHome, fake_embeddings: FakeEmbeddings) -> None:
    kb, _, report = built
    assert report.full_rebuild and report.added == FIXTURE_RECORDS and report.changed == report.removed == 0
    calls = fake_embeddings.calls
    _, again = home.reindex(build_documents(kb))
    assert (again.added, again.changed, again.removed, again.unchanged) == (0, 0, 0, FIXTURE_RECORDS)
    assert fake_embeddings.calls == calls  # nothing embedded again


def test_incremental_reindex_embeds_only_the_changed_record(built, home: IndexHome, tmp_path: Path,
                                                            fake_embeddings: FakeEmbeddings) -> None:
    folder = write_knowledge(tmp_path / "edited", {
        "specialities.yaml": SPECIALITIES.replace("Учат писать программы.", "Учат писать программы и сайты.")})
    kb = load_knowledge(folder)
    calls = fake_embeddings.calls
    index, report = home.reindex(build_documents(kb))
    assert (report.added, report.changed, report.removed) == (0, 1, 0)
    assert fake_embeddings.calls - calls == 1
    assert index.count() == FIXTURE_RECORDS


def test_removed_records_leave_the_index(built, home: IndexHome) -> None:
    kb, _, _ = built
    documents = [d for d in build_documents(kb) if d.id != "welder"]
    index, report = home.reindex(documents)
    assert report.removed == 1
    assert "welder" not in {doc_id for doc_id, _ in index.search("сварщик", k=20)}


class ExplodingEmbeddings(FakeEmbeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("killed halfway")


def test_failed_reindex_leaves_the_old_index_serving(built, tmp_path: Path) -> None:
    kb, old, _ = built
    live = (tmp_path / "index" / CURRENT).read_text()
    folder = write_knowledge(tmp_path / "edited", {"specialities.yaml": SPECIALITIES.replace("сварка", "сварка, сварной шов")})
    exploding = ExplodingEmbeddings()
    exploding.name = FakeEmbeddings.name  # same model: an incremental build that fails midway
    with IndexHome(tmp_path / "index", exploding) as other, pytest.raises(RuntimeError):
        other.reindex(build_documents(load_knowledge(folder)))
    assert (tmp_path / "index" / CURRENT).read_text() == live
    assert sorted(p.name for p in (tmp_path / "index").glob("gen-*")) == [live]  # the failed build is gone
    with IndexHome(tmp_path / "index", FakeEmbeddings()) as reopened:
        assert reopened.current().count() == FIXTURE_RECORDS
    assert old.search("сварщик", k=1)  # and the index already open still serves


def test_model_change_rebuilds_everything(built, tmp_path: Path) -> None:
    kb, _, _ = built
    other = FakeEmbeddings()
    other.name = "another-model"
    with IndexHome(tmp_path / "index", other) as other_home:
        with pytest.raises(IndexUnavailable, match="another-model"):
            other_home.current()
        _, report = other_home.reindex(build_documents(kb))
        assert report.full_rebuild and report.added == FIXTURE_RECORDS
        assert other_home.current().model == "another-model"


def test_corrupt_index_is_reported_then_rebuilt(built, tmp_path: Path, fake_embeddings: FakeEmbeddings) -> None:
    kb, _, _ = built
    root = tmp_path / "index"
    generation = root / (root / CURRENT).read_text()
    (generation / MANIFEST).write_text("{not json", encoding="utf-8")
    with IndexHome(root, fake_embeddings) as fresh:  # a fresh process: the damage is seen on opening
        with pytest.raises(IndexUnavailable, match="unreadable"):
            fresh.current()
        _, report = fresh.reindex(build_documents(kb))
        assert report.full_rebuild
        assert fresh.current().count() == FIXTURE_RECORDS


def test_hybrid_search_finds_by_keyword_and_filters_by_kind(built) -> None:
    kb, index, _ = built
    retriever = HybridRetriever(build_documents(kb), index)
    assert retriever.search("хочу стать медсестрой", k=3)[0].id == "nursing"
    hits = retriever.search("сварщик", k=5, filters=Filters(kinds=("profession",)))
    assert [h.id for h in hits] == ["welder"]
    assert "сварщик" in hits[0].key_terms


def test_typos_are_corrected_against_the_knowledge_vocabulary(built) -> None:
    kb, index, _ = built
    retriever = HybridRetriever(build_documents(kb), index)
    terms, corrections = retriever.query_terms("хачу на праграмиста")
    assert "программист" in corrections
    assert retriever.search("праграмист", k=1)[0].id == "software"
    assert retriever.search("svarshik", k=1)[0].id in {"welding", "welder"}  # «щ» typed as «sh»


def test_region_filter_keeps_other_kinds(built) -> None:
    kb, index, _ = built
    retriever = HybridRetriever(build_documents(kb), index)
    hits = retriever.search("колледж медсестра", k=10, filters=Filters(region="Астана"))
    assert "karaganda-med" not in {h.id for h in hits}
    assert "nursing" in {h.id for h in hits}
