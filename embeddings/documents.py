"""Turn knowledge records into searchable documents with metadata for filters."""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.loader import KnowledgeBase, content_hash
from knowledge.schema import Admission, College, Faq, KnowledgeRecord, LabourFact, Profession, Programme, Speciality
from knowledge.vocabulary import label, name_words_in_other_language

Scalar = str | int | float | bool


@dataclass(frozen=True)
class Document:
    """One record as search sees it: id, text in both languages, filterable metadata, content hash."""

    id: str
    text: str
    metadata: dict[str, Scalar]
    hash: str
    key_text: str = ""  # names, titles and keywords: the words that show what the record is about


def build_documents(kb: KnowledgeBase) -> list[Document]:
    """A document for every record of the knowledge base."""
    return [record_document(record, kb) for record in kb.all()]


def record_document(record: KnowledgeRecord, kb: KnowledgeBase) -> Document:
    """The searchable text and metadata of one record."""
    parts, key_parts, metadata = _describe(record, kb)
    metadata = {"kind": record.kind, **metadata}
    text = "\n".join(part for part in parts if part)
    return Document(record.id, text, metadata, content_hash(record), " ".join(p for p in key_parts if p))


Layout = tuple[list[str], list[str], dict[str, Scalar]]



def _describe(record: KnowledgeRecord, kb: KnowledgeBase) -> Layout:
    """Full text, key text and metadata of a record."""
    if isinstance(record, Speciality):
        quals = [f"{q.name_ru} {q.name_kk}" for q in record.qualifications]
        tags = [label(v, lang, interest=v in record.interests) for v in [*record.subjects, *record.interests]
                for lang in ("ru", "kk")]
        professions = [f"{p.name_ru} {p.name_kk}" for p in kb.professions if record.id in p.specialities]
        key = [record.name_ru, record.name_kk, *quals, *professions, *record.keywords_ru, *record.keywords_kk, *tags]
        return [*key, record.code or "", record.description_ru, record.description_kk, record.work_ru,
                record.work_kk], key, {"group": record.group.value, "code": record.code or ""}
    if isinstance(record, College):
        names = [f"{s.name_ru} {s.name_kk}" for sid in record.specialities if (s := kb.get(sid))]
        key = [record.name, record.name_kk, name_words_in_other_language(record.name)]
        return [record.name, record.city, record.region, *names, *record.specialities_text], key, \
            {"city": record.city, "region": record.region}
    if isinstance(record, Programme):
        key = [record.title_ru, record.title_kk, *record.keywords_ru, *record.keywords_kk]
        return [*key, record.summary_ru, record.summary_kk, record.eligibility_ru, record.eligibility_kk], key, {}
    if isinstance(record, Admission):
        key = [record.title_ru, record.title_kk, *record.keywords_ru, *record.keywords_kk]
        return [*key, record.text_ru, record.text_kk], key, {"grade": record.grade or 0, "topic": record.topic}
    if isinstance(record, Profession):
        key = [record.name_ru, record.name_kk, *record.keywords_ru, *record.keywords_kk]
        return [*key, record.description_ru, record.description_kk], key, {}
    if isinstance(record, Faq):
        key = [record.question_ru, record.question_kk, *record.keywords_ru, *record.keywords_kk]
        return [*key, record.answer_ru, record.answer_kk], key, {}
    if isinstance(record, LabourFact):
        return [record.text_ru, record.text_kk, record.region], [], {"topic": record.topic, "region": record.region}
    raise TypeError(f"no document layout for {type(record).__name__}")
