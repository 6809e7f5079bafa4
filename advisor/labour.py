"""Work after college: demand, job prospects and wages, said only from sourced labour facts and with their year.

A speciality's wage is never given as such, because no source gives one: the answer names the average of the
occupation groups its graduates usually join, says it is a group average and gives its year.
"""

from __future__ import annotations

from knowledge.loader import KnowledgeBase
from knowledge.schema import Group, LabourFact, Speciality

# Major groups of the national occupation classifier, as answers name them.
OCCUPATION_GROUPS: dict[int, tuple[str, str]] = {
    0: ("все занятия", "барлық кәсіптер"),
    3: ("техники и специалисты среднего уровня", "техниктер мен орта деңгейдегі мамандар"),
    4: ("служащие", "қызметшілер"),
    5: ("работники сферы обслуживания и торговли", "қызмет көрсету және сауда қызметкерлері"),
    6: ("квалифицированные работники сельского хозяйства", "ауыл шаруашылығының білікті қызметкерлері"),
    7: ("квалифицированные рабочие промышленности, строительства, транспорта",
        "өнеркәсіп, құрылыс, көліктің білікті жұмысшылары"),
    8: ("операторы машин и оборудования, водители", "машиналар мен жабдық операторлары, жүргізушілер"),
}
# The groups a college graduate of a field usually works in: with a working qualification, then as a technician
# or mid-level specialist. A reading of the classifier's group definitions, said as such in every answer.
GROUPS_OF_FIELD: dict[Group, tuple[int, ...]] = {
    Group.services: (5, 3), Group.food: (5, 3), Group.beauty: (5,), Group.tourism: (5, 3), Group.sport: (3,),
    Group.agriculture_vet: (6, 3), Group.construction: (7, 3), Group.manufacturing: (7, 3),
    Group.engineering_energy: (7, 3), Group.mining: (8, 3), Group.oil_gas: (8, 3),
    Group.transport_logistics: (8, 3), Group.it: (3,), Group.health: (3,), Group.education: (3,),
    Group.arts_design: (3,), Group.humanities_law: (3, 4), Group.business_finance: (3, 4), Group.safety: (3,),
}
DEMAND_TOPICS = ("demand", "professions", "employment", "dual", "state_order")
MOST_FACTS = 3  # a phone screen holds about three sourced figures with their sources


def labour_facts(kb: KnowledgeBase) -> list[LabourFact]:
    """Every labour fact of the knowledge base."""
    return kb.records.get("labour", [])  # type: ignore[return-value]


def facts_about_speciality(kb: KnowledgeBase, speciality: Speciality, topics: tuple[str, ...]) -> list[LabourFact]:
    """Facts that name this speciality, in its region-free form first."""
    found = [f for f in labour_facts(kb) if f.topic in topics and speciality.id in f.specialities]
    return sorted(found, key=lambda f: (bool(f.region), -f.as_of))


def facts_of_region(kb: KnowledgeBase, region: str, topics: tuple[str, ...]) -> list[LabourFact]:
    """Facts about one region (empty region: the whole country), newest first."""
    return sorted((f for f in labour_facts(kb) if f.topic in topics and f.region == region and not f.wages),
                  key=lambda f: -f.as_of)


def regional_demand(kb: KnowledgeBase, region: str, speciality: Speciality) -> LabourFact | None:
    """A fact showing demand in this region for this speciality or its field, if any source gives one."""
    return next((f for f in facts_of_region(kb, region, DEMAND_TOPICS)
                 if speciality.id in f.specialities or speciality.group in f.groups), None)


def wage_table(kb: KnowledgeBase, region: str) -> LabourFact | None:
    """The table of average wages by occupation group for the region, else for the whole country."""
    tables = {f.region: f for f in labour_facts(kb) if f.wages}
    return tables.get(region) or tables.get("")


def group_wages(table: LabourFact, groups: tuple[int, ...], lang: str) -> list[str]:
    """«name — 273 тыс. ₸» for each occupation group the table has."""
    unit = "мың ₸" if lang == "kk" else "тыс. ₸"
    names = {g: OCCUPATION_GROUPS[g][1 if lang == "kk" else 0] for g in groups if g in OCCUPATION_GROUPS}
    return [f"{names[g]} — {round(table.wages[g] / 1000)} {unit}" for g in groups if g in table.wages and g in names]
