"""The web console in-process: sign-in and roles on every route, CSRF, session fixation, escaping, and each page's
work (ask with trace, flags, review into the corpus, batch CSV, import preview and apply, reload, overview)."""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer
from sqlite_utils import Database

from advisor.advisor import Advisor
from conftest import ROOT, FakeEmbeddings, write_knowledge
from embeddings.documents import build_documents
from embeddings.index import reindex
from embeddings.retriever import HybridRetriever
from knowledge.loader import load_knowledge
from storage.console import SqliteConsoleStore
from storage.shared import WorkerReport
from storage.sqlite import Store
from web.app import build_app
from web.auth import SESSION_COOKIE, hash_password
from web.config import WebSettings
from web.console import Console, ReloadOutcome

PASSWORDS = {"anna": "admin-password-1", "bob": "counsellor-pass-2"}
PUBLIC = {"/sign-in", "/lang/{lang}"}  # every other route needs a session
NEW_COLLEGE_CSV = ("name,city,region,specialities,source,year\n"
                   "Колледж Тестовый,Астана,Астана,07150500,Список колледжей управления образования (тест),2025\n"
                   ",Астана,Астана,07150500,Список колледжей управления образования (тест),2025\n")


@pytest.fixture(scope="module")
def advisor(tmp_path_factory: pytest.TempPathFactory, intent_model) -> Advisor:
    kb = load_knowledge(write_knowledge(tmp_path_factory.mktemp("kb")))
    index, _ = reindex(tmp_path_factory.mktemp("index"), build_documents(kb), FakeEmbeddings())
    return Advisor(kb, HybridRetriever(build_documents(kb), index), intent_model)


@pytest.fixture
def console(tmp_path: Path, advisor: Advisor) -> Console:
    """A console on a fresh store with one admin and one counsellor, over copies of the knowledge and corpus."""
    knowledge = write_knowledge(tmp_path / "knowledge")
    corpus = tmp_path / "intents"
    shutil.copytree(ROOT / "knowledge" / "data" / "intents", corpus)
    store = SqliteConsoleStore(Store(Database(memory=True)).db)
    store.add_account("anna", "admin", hash_password(PASSWORDS["anna"]))
    store.add_account("bob", "counsellor", hash_password(PASSWORDS["bob"]))

    async def reload(progress):
        kb = load_knowledge(knowledge)
        records = len(list(kb.all()))
        progress(records, records)
        index, _ = reindex(tmp_path / "index", build_documents(kb), FakeEmbeddings())
        advisor.replace(kb, HybridRetriever(build_documents(kb), index), advisor._state.intents)
        return ReloadOutcome([WorkerReport("test", True, "gen-2", "reindexed")], 1)

    return Console(advisor, store, knowledge, corpus, reload, lambda: "gen-1",
                   WebSettings(secure_cookies=False, sign_in_attempts=3), tmp_path / "uploads")


@pytest.fixture
async def client(console: Console) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_app(console))) as client:
        yield client


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "the page has a form with a CSRF token"
    return match.group(1)


async def sign_in(client: TestClient, name: str, password: str | None = None, next_page: str = "/"):
    form = await (await client.get("/sign-in")).text()
    form = form[form.index('id="sign-in-form"'):]  # a signed-in page also has the sign-out form's token
    return await client.post("/sign-in", data={"csrf": csrf_of(form), "name": name, "next": next_page,
                                               "password": PASSWORDS[name] if password is None else password},
                             allow_redirects=False)


async def page_token(client: TestClient, path: str = "/ask") -> str:
    return csrf_of(await (await client.get(path)).text())


# --- sign-in, sessions, roles -------------------------------------------------------------------------------
async def test_every_page_needs_a_session(client: TestClient) -> None:
    for route in client.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path in PUBLIC or path.startswith("/static") or route.method == "HEAD":
            continue
        response = await client.request(route.method, path, allow_redirects=False)
        if route.method == "GET" and path != "/":
            assert response.status == 303 and response.headers["Location"].startswith("/sign-in"), path
        elif route.method == "POST":
            assert response.status == 400, path  # no session: no CSRF token can match
        assert "Обзор" not in await response.text(), path


async def test_a_counsellor_never_reaches_an_admin_page(client: TestClient) -> None:
    await sign_in(client, "bob")
    token = await page_token(client)
    admin_routes = [r for r in client.app.router.routes()
                    if getattr(r.handler, "required_role", "") == "admin" and r.method != "HEAD"]
    assert len(admin_routes) >= 8
    for route in admin_routes:
        path = route.resource.canonical
        response = await client.request(route.method, path, data={"csrf": token, "id": "1", "intent": "free"},
                                        allow_redirects=False)
        assert response.status == 403, path
        assert "только для администраторов" in await response.text()


async def test_a_wrong_password_is_refused_and_the_right_one_signs_in_with_a_safe_cookie(
        console: Console, client: TestClient) -> None:
    refused = await sign_in(client, "anna", "not-the-password")
    assert refused.status == 401 and "Неверное имя или пароль" in await refused.text()
    assert SESSION_COOKIE not in refused.cookies
    unknown = await sign_in(client, "bob", "counsellor-pass-2x")
    assert unknown.status == 401
    form = await (await client.get("/sign-in")).text()
    console.settings.secure_cookies = True  # as configured by default: the cookie then travels over HTTPS only
    accepted = await client.post("/sign-in", data={"csrf": csrf_of(form), "name": "anna", "next": "/",
                                                   "password": PASSWORDS["anna"]}, allow_redirects=False)
    assert accepted.status == 303 and accepted.headers["Location"] == "/"
    cookie = next(h for h in accepted.headers.getall("Set-Cookie") if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
    assert [a["action"] for a in console.store.actions()] == ["sign-in"]


async def test_sign_in_is_throttled_after_repeated_failures(client: TestClient) -> None:
    for _ in range(3):
        assert (await sign_in(client, "anna", "guess")).status == 401
    throttled = await sign_in(client, "anna")  # even the right password waits now
    assert throttled.status == 429 and "Слишком много" in await throttled.text()
    assert (await sign_in(client, "bob")).status == 303  # another account is not locked by it


async def test_a_planted_session_id_is_replaced_at_sign_in(client: TestClient) -> None:
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: "planted-by-an-attacker-0123456789"})
    response = await sign_in(client, "bob")
    issued = response.cookies[SESSION_COOKIE].value
    assert issued != "planted-by-an-attacker-0123456789"
    async with TestClient(TestServer(client.app)) as attacker:
        attacker.session.cookie_jar.update_cookies({SESSION_COOKIE: "planted-by-an-attacker-0123456789"})
        assert (await attacker.get("/ask", allow_redirects=False)).status == 303


async def test_sign_out_ends_the_session(client: TestClient) -> None:
    await sign_in(client, "bob")
    token = await page_token(client)
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE].value
    out = await client.post("/sign-out", data={"csrf": token}, allow_redirects=False)
    assert out.status == 303 and out.headers["Location"].startswith("/sign-in")
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: cookie})  # the old cookie, kept by a thief
    assert (await client.get("/ask", allow_redirects=False)).status == 303


async def test_a_form_without_its_csrf_token_is_refused(console: Console, client: TestClient) -> None:
    await sign_in(client, "bob")
    for data in ({}, {"csrf": "forged"}, {"csrf": ""}):
        response = await client.post("/flag", data={**data, "question": "q", "answer": "a", "comment": "c"})
        assert response.status == 400 and "Форма устарела" in await response.text()
    assert console.store.open_flags() == []
    # and the sign-in form too: a login posted from another site has no matching token
    assert (await client.post("/sign-in", data={"name": "anna", "password": PASSWORDS["anna"]})).status == 400


async def test_after_sign_in_only_a_path_of_the_console_is_followed(client: TestClient) -> None:
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        assert (await sign_in(client, "bob", next_page=evil)).headers["Location"] == "/"
    assert (await sign_in(client, "bob", next_page="/batch")).headers["Location"] == "/batch"


async def test_pages_carry_security_headers(client: TestClient) -> None:
    response = await client.get("/sign-in")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


# --- counsellor pages ---------------------------------------------------------------------------------------
async def test_a_question_with_html_is_shown_as_text(client: TestClient) -> None:
    await sign_in(client, "bob")
    page = await (await client.post("/ask", data={"csrf": await page_token(client),
                                                  "messages": "<script>alert(1)</script> сварщик"})).text()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_a_kazakh_question_shows_its_answer_and_trace(client: TestClient) -> None:
    await sign_in(client, "bob")
    page = await (await client.post("/ask", data={"csrf": await page_token(client),
                                                  "messages": "мен бағдарламашы болғым келеді"})).text()
    assert "Бағдарламалық қамтамасыз ету" in page  # the answer a teenager gets, in Kazakh
    assert re.search(r'class="trace-lang">kk<', page)
    assert "<code>software</code>" in page and "speciality software" in page  # the record and its source


async def test_a_dialogue_keeps_its_thread(client: TestClient) -> None:
    await sign_in(client, "bob")
    page = await (await client.post("/ask", data={"csrf": await page_token(client),
                                                  "messages": "хочу стать сварщиком\nа где этому учат?"})).text()
    assert page.count('class="turn"') == 2
    assert '"focus": "welding"' in html.unescape(page)  # the conversation state carried into the second turn


async def test_a_flag_reaches_the_admins_who_label_it_into_the_corpus(console: Console, client: TestClient) -> None:
    await sign_in(client, "bob")
    done = await client.post("/flag", data={"csrf": await page_token(client), "question": "стипуха скок дают",
                                            "answer": "ответ", "lang": "ru", "intent": "suggest",
                                            "comment": "спрашивали про стипендию"})
    assert "отметка передана" in await done.text()
    await sign_in(client, "anna")
    review = await (await client.get("/admin/review")).text()
    assert "стипуха скок дают" in review and "спрашивали про стипендию" in review
    flag_id = console.store.open_flags()[0]["id"]
    labelled = await client.post("/admin/flags/label", data={"csrf": csrf_of(review), "id": str(flag_id),
                                                             "intent": "stipend"})
    assert "Добавлено в корпус (stipend)" in await labelled.text()
    assert "стипуха скок дают" in (console.corpus_dir / "train" / "stipend.yaml").read_text(encoding="utf-8")
    assert console.store.open_flags() == []
    assert console.store.actions()[0]["action"] == "corpus-add"


async def test_unanswered_questions_are_labelled_in_two_clicks_or_marked_done(
        console: Console, client: TestClient) -> None:
    messages = Store(console.store.db)
    first = messages.log_question(7, "где учат на оператора дронов", "ru", "unanswered", False, {})
    second = messages.log_question(8, "как дела у колледжа", "ru", "unanswered", False, {})
    await sign_in(client, "anna")
    review = await (await client.get("/admin/review")).text()
    assert "где учат на оператора дронов" in review
    await client.post("/admin/review/label", data={"csrf": csrf_of(review), "id": str(first), "intent": "suggest"})
    await client.post("/admin/review/done", data={"csrf": csrf_of(review), "id": str(second)})
    after = await (await client.get("/admin/review")).text()
    assert "где учат на оператора дронов" not in after and "как дела у колледжа" not in after
    assert "оператора дронов" in (console.corpus_dir / "train" / "suggest.yaml").read_text(encoding="utf-8")
    forged = await client.post("/admin/review/done", data={"csrf": csrf_of(review), "id": str(10 ** 30)})
    assert "уже нет в списке" in await forged.text()


async def test_a_batch_is_answered_and_downloads_as_csv(client: TestClient) -> None:
    await sign_in(client, "bob")
    token = await page_token(client, "/batch")
    data = FormData()
    data.add_field("csrf", token)
    data.add_field("questions", "хочу стать сварщиком\n=cmd|' /C calc'!A0")
    data.add_field("file", "question\nмен бағдарламашы болғым келеді\n".encode(), filename="more.csv",
                   content_type="text/csv")
    page = await (await client.post("/batch", data=data)).text()
    assert page.count("<tr>") == 4  # header + three questions
    download = await client.post("/batch.csv", data={"csrf": token, "questions": "хочу стать сварщиком\n=1+1"})
    assert download.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO((await download.read()).decode("utf-8-sig"))))
    assert rows[0][0] == "question" and rows[1][0] == "хочу стать сварщиком" and "welding" in rows[1][5]
    assert rows[2][0] == "'=1+1"  # a spreadsheet shows it, never runs it


# --- admin pages -----------------------------------------------------------------------------------------------
async def test_an_import_is_previewed_with_its_bad_row_then_applied_and_reloaded(
        console: Console, client: TestClient) -> None:
    await sign_in(client, "anna")
    token = await page_token(client, "/admin/knowledge")
    data = FormData()
    data.add_field("csrf", token)
    data.add_field("file", NEW_COLLEGE_CSV.encode(), filename="list.csv", content_type="text/csv")
    preview = await (await client.post("/admin/knowledge/preview", data=data)).text()
    assert "ничего ещё не записано" in preview and "Колледж Тестовый" in preview
    assert "строка 3" in preview  # the row without a name, with its reason
    assert not any("imported" in p.name for p in console.knowledge_dir.rglob("*.yaml"))
    upload = re.search(r'name="upload" value="([^"]+)"', preview).group(1)
    applied = await (await client.post("/admin/knowledge/apply", data={"csrf": token, "upload": upload})).text()
    assert "Импорт записан" in applied
    assert any("Колледж Тестовый" in p.read_text(encoding="utf-8") for p in console.knowledge_dir.rglob("*.yaml"))
    await client.post("/admin/knowledge/reload", data={"csrf": token})
    for _ in range(100):
        status = await (await client.get("/admin/knowledge/reload")).text()
        if "Перезагрузка завершена" in status:
            break
    assert "1 из 1 процессов на версии gen-2" in status
    assert any(c.name == "Колледж Тестовый" for c in console.advisor.kb.colleges)
    assert [a["action"] for a in console.store.actions()][:2] == ["reload", "import"]


async def test_a_previewed_upload_cannot_be_swapped_for_another_file(client: TestClient) -> None:
    await sign_in(client, "anna")
    token = await page_token(client, "/admin/knowledge")
    for name in ("../../etc/passwd", "x.csv", "a" * 30 + ".yaml"):
        page = await client.post("/admin/knowledge/apply", data={"csrf": token, "upload": name})
        assert page.status == 400 and "загрузите список заново" in await page.text()


async def test_the_overview_shows_counts_never_a_persons_chat(console: Console, client: TestClient) -> None:
    messages = Store(console.store.db)
    messages.log_question(7, "секретный вопрос подростка", "kk", "suggest", True, {})
    messages.log_question(8, "ещё вопрос", "ru", "free", False, {})
    await sign_in(client, "anna")
    page = await (await client.get("/admin")).text()
    assert 'id="per-day"' in page and 'id="intents"' in page and 'id="langs"' in page
    assert "Всего пользователей: 2; вопросов: 2." in page and "50 %" in page
    assert "секретный вопрос подростка" not in page


async def test_the_console_speaks_kazakh(client: TestClient) -> None:
    await client.get("/lang/kk?next=/sign-in")
    assert "Құпиясөз" in await (await client.get("/sign-in")).text()
    await sign_in(client, "bob")
    assert "Сұрақ қалай түсінілді" not in await (await client.get("/ask")).text()
    assert "Жауап алу" in await (await client.get("/ask")).text()


async def test_an_excel_list_is_previewed_like_a_csv(client: TestClient) -> None:
    from openpyxl import Workbook

    book = Workbook()
    for row in csv.reader(io.StringIO(NEW_COLLEGE_CSV)):
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    await sign_in(client, "anna")
    data = FormData()
    data.add_field("csrf", await page_token(client, "/admin/knowledge"))
    data.add_field("file", buffer.getvalue(), filename="Список.XLSX")
    preview = await (await client.post("/admin/knowledge/preview", data=data)).text()
    assert "Колледж Тестовый" in preview and "строка 3" in preview
    bad = FormData()
    bad.add_field("csrf", await page_token(client, "/admin/knowledge"))
    bad.add_field("file", b"MZ\x90\x00", filename="virus.exe")
    refused = await client.post("/admin/knowledge/preview", data=bad)
    assert refused.status == 400 and "Нужен файл .csv или .xlsx" in await refused.text()
