"""Russian and Kazakh labels for the controlled values of the schema (groups, subjects, interests)."""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    # groups
    "education": ("образование и педагогика", "білім беру және педагогика"),
    "arts_design": ("искусство и дизайн", "өнер және дизайн"),
    "humanities_law": ("гуманитарные науки и право", "гуманитарлық ғылымдар және құқық"),
    "business_finance": ("бизнес и финансы", "бизнес және қаржы"),
    "it": ("IT и информационные технологии", "IT және ақпараттық технологиялар"),
    "engineering_energy": ("техника и энергетика", "техника және энергетика"),
    "manufacturing": ("производство", "өндіріс"),
    "mining": ("горное дело", "тау-кен ісі"),
    "oil_gas": ("нефть и газ", "мұнай және газ"),
    "construction": ("строительство", "құрылыс"),
    "transport_logistics": ("транспорт и логистика", "көлік және логистика"),
    "agriculture_vet": ("сельское хозяйство и ветеринария", "ауыл шаруашылығы және ветеринария"),
    "health": ("медицина и здоровье", "медицина және денсаулық"),
    "services": ("сфера услуг", "қызмет көрсету саласы"),
    "food": ("питание и пищевое производство", "тамақтану және тамақ өндірісі"),
    "beauty": ("красота", "сұлулық"),
    "tourism": ("туризм и гостеприимство", "туризм және қонақжайлылық"),
    "sport": ("спорт", "спорт"),
    "safety": ("безопасность и защита", "қауіпсіздік және қорғау"),
    # subjects
    "math": ("математика", "математика"),
    "physics": ("физика", "физика"),
    "chemistry": ("химия", "химия"),
    "biology": ("биология", "биология"),
    "informatics": ("информатика", "информатика"),
    "geography": ("география", "география"),
    "history": ("история", "тарих"),
    "kazakh": ("казахский язык", "қазақ тілі"),
    "russian": ("русский язык", "орыс тілі"),
    "english": ("английский язык", "ағылшын тілі"),
    "literature": ("литература", "әдебиет"),
    "art": ("рисование", "сурет"),
    "music": ("музыка", "музыка"),
    "physical_education": ("физкультура", "дене шынықтыру"),
    "technology": ("труд и технология", "технология"),
    # interests
    "computers": ("компьютеры", "компьютерлер"),
    "machines": ("техника и механизмы", "техника және механизмдер"),
    "electricity": ("электричество", "электр"),
    "building": ("стройка", "құрылыс"),
    "nature": ("природа", "табиғат"),
    "animals": ("животные", "жануарлар"),
    "caring": ("забота о людях", "адамдарға қамқорлық"),
    "children": ("дети", "балалар"),
    "teaching": ("учить других", "басқаларды оқыту"),
    "creativity": ("творчество", "шығармашылық"),
    "performing": ("сцена", "сахна"),
    "business": ("бизнес", "бизнес"),
    "numbers": ("цифры и расчёты", "сандар мен есептер"),
    "law": ("право и законы", "құқық және заңдар"),
    "cooking": ("готовка", "тамақ әзірлеу"),
    "beauty_interest": ("красота", "сұлулық"),
    "travel": ("путешествия", "саяхат"),
    "safety_interest": ("безопасность", "қауіпсіздік"),
    "science": ("наука и опыты", "ғылым және тәжірибелер"),
    "vehicles": ("машины и транспорт", "көлік"),
    "mining_interest": ("недра и горное дело", "жер қойнауы және тау-кен"),
    "oil_gas_interest": ("нефть и газ", "мұнай және газ"),
    "languages": ("языки", "тілдер"),
    "fashion": ("мода и одежда", "сән және киім"),
    "crafts": ("работа руками", "қолөнер"),
    "people": ("общение с людьми", "адамдармен қарым-қатынас"),
    "design": ("дизайн", "дизайн"),
    "communication": ("общение", "қарым-қатынас"),
}

# Interests that share a name with a group are stored under a suffixed key above.
_ALIASES = {"beauty": "beauty_interest", "safety": "safety_interest", "mining": "mining_interest",
            "oil_gas": "oil_gas_interest"}


def label(value: str, lang: str, interest: bool = False) -> str:
    """The Russian or Kazakh label of a controlled value; the value itself when unknown."""
    key = _ALIASES.get(value, value) if interest else value
    ru, kk = LABELS.get(key, (value, value))
    return kk if lang == "kk" else ru
