"""Turn knowledge records into searchable documents with metadata for filters."""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.loader import KnowledgeBase, content_hash
from knowledge.schema import Admission, College, Faq, KnowledgeRecord, Profession, Programme, Speciality
from knowledge.vocabulary import label

Scalar = str | int | float | bool


@dataclass(frozen=True)
class Document:
    """One record as search sees it: id, text in both languages, filterable metadata, content hash."""

    id: str
    text: str
    metadata: dict[str, Scalar]
    hash: str


def build_documents(kb: KnowledgeBase) -> list[Document]:
    """A document for every record of the knowledge base."""
    return [record_document(record, kb) for record in kb.all()]


def record_document(record: KnowledgeRecord, kb: KnowledgeBase) -> Document:
    """The searchable text and metadata of one record."""
    parts, metadata = _describe(record, kb)
    metadata = {"kind": record.kind, **metadata}
    text = "\n".join(part for part in parts if part)
    return Document(record.id, text, metadata, content_hash(record))


def _describe(record: KnowledgeRecord, kb: KnowledgeBase) -> tuple[list[str], dict[str, Scalar]]:
    if isinstance(record, Speciality):
        quals = [f"{q.name_ru} {q.name_kk}" for q in record.qualifications]
        tags = [label(v, lang) for v in [*record.subjects, *record.interests] for lang in ("ru", "kk")]
        professions = [f"{p.name_ru} {p.name_kk}" for p in kb.professions if record.id in p.specialities]
        meta: dict[str, Scalar] = {"group": record.group.value, "code": record.code or ""}
        return [record.name_ru, record.name_kk, record.code or "", " ".join(quals), " ".join(professions),
                " ".join(record.keywords_ru), " ".join(record.keywords_kk), record.description_ru,
                record.description_kk, record.work_ru, record.work_kk, " ".join(tags)], meta
    if isinstance(record, College):
        names = [f"{s.name_ru} {s.name_kk}" for sid in record.specialities if (s := kb.get(sid))]
        return [record.name, record.city, record.region, " ".join(names), " ".join(record.specialities_text)], \
            {"city": record.city, "region": record.region}
    if isinstance(record, Programme):
        return [record.title_ru, record.title_kk, " ".join(record.keywords_ru), " ".join(record.keywords_kk),
                record.summary_ru, record.summary_kk, record.eligibility_ru, record.eligibility_kk], {}
    if isinstance(record, Admission):
        return [record.title_ru, record.title_kk, " ".join(record.keywords_ru), " ".join(record.keywords_kk),
                record.text_ru, record.text_kk], {"grade": record.grade or 0, "topic": record.topic}
    if isinstance(record, Profession):
        return [record.name_ru, record.name_kk, " ".join(record.keywords_ru), " ".join(record.keywords_kk),
                record.description_ru, record.description_kk], {}
    if isinstance(record, Faq):
        return [record.question_ru, record.question_kk, " ".join(record.keywords_ru),
                " ".join(record.keywords_kk), record.answer_ru, record.answer_kk], {}
    raise TypeError(f"no document layout for {type(record).__name__}")
