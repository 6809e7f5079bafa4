"""An interest test in the spirit of Holland's RIASEC types: each statement points to a few interests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QuizQuestion:
    ru: str
    kk: str
    interests: tuple[str, ...]


QUESTIONS: tuple[QuizQuestion, ...] = (
    QuizQuestion("Разбирать и чинить технику, машины, механизмы", "Техниканы, көлікті, механизмдерді бөлшектеп жөндеу",
                 ("machines", "vehicles")),
    QuizQuestion("Разбираться в электричестве, собирать схемы", "Электрді түсіну, схема құрастыру",
                 ("electricity",)),
    QuizQuestion("Программировать, разбираться в компьютерах и сетях", "Бағдарлама жазу, компьютер мен желіні түсіну",
                 ("computers",)),
    QuizQuestion("Ставить опыты, узнавать, как всё устроено", "Тәжірибе жасау, бәрі қалай жұмыс істейтінін білу",
                 ("science",)),
    QuizQuestion("Считать, работать с цифрами и документами", "Есептеу, сандармен және құжаттармен жұмыс істеу",
                 ("numbers",)),
    QuizQuestion("Рисовать, придумывать дизайн или одежду", "Сурет салу, дизайн немесе киім ойлап табу",
                 ("creativity", "design", "fashion")),
    QuizQuestion("Музыка, сцена, танцы", "Музыка, сахна, би", ("music", "performing")),
    QuizQuestion("Помогать людям, ухаживать за больными", "Адамдарға көмектесу, науқастарды күту",
                 ("caring", "people")),
    QuizQuestion("Заниматься с детьми, объяснять и учить", "Балалармен айналысу, түсіндіру және үйрету",
                 ("children", "teaching")),
    QuizQuestion("Растения, животные, природа", "Өсімдіктер, жануарлар, табиғат", ("nature", "animals")),
    QuizQuestion("Строить, работать руками", "Құрылыс салу, қолмен жұмыс істеу", ("building", "crafts")),
    QuizQuestion("Готовить еду, принимать гостей", "Тамақ әзірлеу, қонақ күту", ("cooking", "travel")),
    QuizQuestion("Спорт и активное движение", "Спорт және белсенді қозғалыс", ("sport",)),
    QuizQuestion("Организовывать, продавать, вести дела", "Ұйымдастыру, сату, іс жүргізу",
                 ("business", "communication", "law")),
    QuizQuestion("Спасать и защищать людей", "Адамдарды құтқару және қорғау", ("safety",)),
    QuizQuestion("Стрижки, макияж, красота", "Шаш қию, макияж, сұлулық", ("beauty",)),
)

ANSWER_WEIGHTS = {"yes": 2.0, "maybe": 1.0, "no": 0.0}


def interest_weights(answers: list[str]) -> dict[str, float]:
    """Sum the answers into a weight per interest."""
    weights: dict[str, float] = {}
    for question, answer in zip(QUESTIONS, answers):
        for interest in question.interests:
            weights[interest] = weights.get(interest, 0.0) + ANSWER_WEIGHTS.get(answer, 0.0)
    return weights
