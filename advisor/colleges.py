"""College choice: which colleges of the knowledge base answer a question about a place and specialities."""

from __future__ import annotations

from advisor.places import Place
from knowledge.loader import KnowledgeBase
from knowledge.schema import College, KnowledgeRecord, Speciality


def in_place(record: KnowledgeRecord | None, place: Place | None) -> bool:
    """True for a college in the place (or anywhere, when there is no place)."""
    if not isinstance(record, College) or place is None:
        return isinstance(record, College)
    return record.city == place.city if place.city else record.region == place.region


def colleges_in(kb: KnowledgeBase, place: Place) -> list[College]:
    """The colleges of the place itself (a town's own, without its region)."""
    return [c for c in kb.colleges if in_place(c, place)]


def listed_specialities(kb: KnowledgeBase, college: College) -> list[str]:
    """The speciality ids a college's card lists, in its order: known ones, not those it only returned to licence."""
    return [sid for sid in college.specialities if sid not in college.licence_return_listed
            and isinstance(kb.get(sid), Speciality)]


def near(colleges: list[College], place: Place | None) -> list[College]:
    """The colleges in the place; for a town with none, those of its region."""
    here = [c for c in colleges if in_place(c, place)]
    if not here and place and place.city:
        here = [c for c in colleges if c.region == place.region]
    return here


def teaching(kb: KnowledgeBase, speciality_ids: list[str], place: Place | None) -> list[College]:
    """Colleges near the place that teach any of these specialities."""
    return near([c for c in kb.colleges if set(speciality_ids) & set(c.specialities)], place)


def rest_of_region(kb: KnowledgeBase, place: Place | None, speciality_ids: list[str],
                   listed: frozenset[str]) -> list[College]:
    """Colleges of a town's region outside the town and not `listed` yet, teaching the specialities if any are
    given; none when the place is a whole region."""
    if not (place and place.city):
        return []
    return [c for c in kb.colleges if c.region == place.region and c.city != place.city and c.id not in listed
            and (not speciality_ids or set(speciality_ids) & set(c.specialities))]


def best_first(colleges: list[College], speciality_ids: list[str]) -> list[College]:
    """Colleges teaching more of the suggested specialities first, then those with more known details, then in the
    order given (sorting is stable)."""
    return sorted(colleges, key=lambda c: (-len(set(speciality_ids) & set(c.specialities)), -known_details(c)))


def known_details(college: College) -> int:
    """How much the knowledge says about a college: a list of all colleges shows those a teenager can act on first."""
    return bool(college.specialities) + bool(college.website) + bool(college.address)
