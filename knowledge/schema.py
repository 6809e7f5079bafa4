"""Typed records of the knowledge base: one pydantic model per record kind."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)]
Text = Annotated[str, StringConstraints(strip_whitespace=True)]
Required = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
SpecialityCode = Annotated[str, StringConstraints(pattern=r"^\d{8}$")]
QualificationCode = Annotated[str, StringConstraints(pattern=r"^(3W|4S|5AB)\d{8}$")]

CURRENT_YEAR_LIMIT = 2030


class Group(str, Enum):
    """Major field a speciality belongs to."""

    education = "education"
    arts_design = "arts_design"
    humanities_law = "humanities_law"
    business_finance = "business_finance"
    it = "it"
    engineering_energy = "engineering_energy"
    manufacturing = "manufacturing"
    mining = "mining"
    oil_gas = "oil_gas"
    construction = "construction"
    transport_logistics = "transport_logistics"
    agriculture_vet = "agriculture_vet"
    health = "health"
    services = "services"
    food = "food"
    beauty = "beauty"
    tourism = "tourism"
    sport = "sport"
    safety = "safety"


Subject = Literal[
    "math", "physics", "chemistry", "biology", "informatics", "geography", "history", "kazakh",
    "russian", "english", "literature", "art", "music", "physical_education", "technology",
]

Interest = Literal[
    "computers", "machines", "electricity", "building", "nature", "animals", "caring", "children",
    "teaching", "creativity", "music", "performing", "business", "numbers", "law", "cooking",
    "beauty", "travel", "sport", "safety", "science", "vehicles", "mining", "oil_gas", "languages",
    "fashion", "crafts", "people", "design", "communication",
]


class Record(BaseModel):
    """Fields every record carries: a stable id and where its facts come from."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: Slug
    source: Required = Field(description="What a person can open or look up, in Russian: a document's title and "
                                         "number, or a page's address. Shown to users.")
    source_kk: Text = Field("", description="The same citation in Kazakh; Kazakh answers show `source` without it.")
    provenance: Text = Field("", description="Internal: how the facts were found and how far to trust them. "
                                             "Never shown to users.")
    unofficial: bool = Field(False, description="The facts rest only on an unofficial copy: answers say so and "
                                                "never present them as confirmed.")
    as_of: int = Field(ge=2000, le=CURRENT_YEAR_LIMIT, description="Year the facts hold for.")


class Qualification(BaseModel):
    """A qualification a speciality leads to; the code only where a source prints it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: QualificationCode | None = None
    name_ru: Required
    name_kk: Text = ""
    # Study lengths belong to a qualification: the same speciality takes longer for a higher one.
    study_after_9: Text = ""
    study_after_11: Text = ""

    @property
    def level(self) -> str:
        """3W (working), 4S (mid-level) or 5AB (applied bachelor); empty when the code is unknown."""
        if not self.code:
            return ""
        return "5AB" if self.code.startswith("5AB") else self.code[:2]


class Speciality(Record):
    """A TVET speciality of the 2018 classifier."""

    # Short ids: they travel in Telegram button data, which holds 64 bytes at most.
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=40)]
    kind: Literal["speciality"] = "speciality"
    code: SpecialityCode | None = None
    code_note: Text = ""
    name_ru: Required
    name_kk: Text = ""
    group: Group
    qualifications: list[Qualification] = []
    study_after_9: Text = ""
    study_after_11: Text = ""
    description_ru: Required
    description_kk: Required
    work_ru: Text = ""
    work_kk: Text = ""
    subjects: list[Subject] = []
    interests: list[Interest] = []
    keywords_ru: list[Required] = []
    keywords_kk: list[Required] = []
    dual_education: bool | None = None
    targeted_training: bool | None = None


class College(Record):
    """A real college (TVET organisation)."""

    kind: Literal["college"] = "college"
    name: Required
    name_kk: Text = Field("", description="The Kazakh name where a source gives it; `name` is then the Russian one.")
    city: Text = ""
    region: Required
    ownership: Literal["state", "private"] | None = None
    specialities: list[Slug] = Field(default=[], description="Speciality ids the college teaches.")
    specialities_text: list[Required] = Field(
        default=[], description="Specialities the source names without a classifier code."
    )
    licence_return_listed: list[Slug] = Field(
        default=[], description="Of `specialities`, those the source lists as licences to be returned: answers "
                                "say so instead of presenting them as taught."
    )
    languages: list[Literal["ru", "kk", "en"]] = []
    dormitory: bool | None = None
    address: Text = ""
    phone: Text = ""
    website: Text = ""


class Quota(BaseModel):
    """One quota category within the state educational order."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category_ru: Required
    category_kk: Required
    percent: float = Field(gt=0, le=100)
    tag: Text = ""


class Programme(Record):
    """A free-tuition or support route."""

    kind: Literal["programme"] = "programme"
    title_ru: Required
    title_kk: Required
    summary_ru: Required
    summary_kk: Required
    eligibility_ru: Text = ""
    eligibility_kk: Text = ""
    how_to_apply_ru: Text = ""
    how_to_apply_kk: Text = ""
    quotas: list[Quota] = []
    tags: list[Required] = Field(default=[], description="Who it suits: grade9, grade11, rural, disabled, ...")
    keywords_ru: list[Required] = []
    keywords_kk: list[Required] = []
    changes_yearly: bool = False


class Admission(Record):
    """An admission rule: dates, documents, where to apply, exams."""

    kind: Literal["admission"] = "admission"
    topic: Literal["dates", "documents", "where", "exams", "who", "choice"]
    title_ru: Required
    title_kk: Required
    text_ru: Required
    text_kk: Required
    grade: Literal[9, 11] | None = None
    groups: list[Group] = []  # the fields of specialities the rule holds for (medical dates); empty: every field
    keywords_ru: list[Required] = []
    keywords_kk: list[Required] = []
    changes_yearly: bool = False


class Profession(Record):
    """A profession and the specialities that lead to it."""

    kind: Literal["profession"] = "profession"
    name_ru: Required
    name_kk: Required
    description_ru: Required
    description_kk: Required
    specialities: list[Slug] = Field(min_length=1)
    keywords_ru: list[Required] = []
    keywords_kk: list[Required] = []


class Faq(Record):
    """A common question with a grounded answer."""

    kind: Literal["faq"] = "faq"
    question_ru: Required
    question_kk: Required
    answer_ru: Required
    answer_kk: Required
    keywords_ru: list[Required] = []
    keywords_kk: list[Required] = []
    changes_yearly: bool = False


class LabourFact(Record):
    """A sourced labour-market figure: demand, state order, dual or targeted training, graduate employment, wages."""

    kind: Literal["labour"] = "labour"
    topic: Literal["demand", "professions", "state_order", "dual", "targeted", "employment", "wages"]
    region: Text = Field("", description="The region the figure is for, spelled as college records spell it; "
                                         "empty for the whole country.")
    period: Text = Field("", description="The years the figure holds for, as the source gives them "
                                         "(2024, 2025–2035, 2024/25). A figure without one is flagged.")
    text_ru: Required
    text_kk: Required
    specialities: list[Slug] = Field(default=[], description="Specialities the figure is about by name.")
    groups: list[Group] = Field(default=[], description="Fields of specialities whose demand the figure shows.")
    wages: dict[int, int] = Field(default={}, description="Average monthly wage in tenge by major occupation "
                                                          "group of the national classifier (1–9).")


KnowledgeRecord = Speciality | College | Programme | Admission | Profession | Faq | LabourFact

MODELS: dict[str, type[Record]] = {
    "speciality": Speciality,
    "college": College,
    "programme": Programme,
    "admission": Admission,
    "profession": Profession,
    "faq": Faq,
    "labour": LabourFact,
}
KINDS: tuple[str, ...] = tuple(MODELS)
