"""End to end: the real `run_bot.py` polling loop against a local fake Telegram Bot API server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from advisor.quiz import QUESTIONS
from conftest import ROOT
from fake_telegram import FakeTelegram, free_port, post_update, stop_process

ADMIN, STRANGER = 42, 43


TOKEN = "123456:TEST-token-that-must-never-be-logged"


def start_bot(server: FakeTelegram | None, work: Path, log: Path, **env: str) -> subprocess.Popen:
    """The real run_bot.py on the copies of the knowledge base and index in `work`, talking to the fake."""
    environment = {**os.environ, "BOT_TOKEN": TOKEN, "KNOWLEDGE__PATH": str(work / "knowledge"),
                   "EMBEDDINGS__INDEX_PATH": str(work / "index"), "STORAGE__PATH": str(work / "bot.sqlite3"),
                   "ACCESS__ADMINS": f"[{ADMIN}]", "THROTTLE__MESSAGES": "1000",
                   "MONITORING__PORT": str(free_port()), "WEB__PORT": str(free_port()), **env}
    if server is not None:
        environment["TELEGRAM__API_BASE"] = server.base_url
    return subprocess.Popen([sys.executable, str(ROOT / "run_bot.py")], env=environment,
                            stdout=log.open("a"), stderr=subprocess.STDOUT)


def copy_knowledge_and_index(real_index: Path, work: Path) -> Path:
    shutil.copytree(ROOT / "knowledge" / "data", work / "knowledge")
    shutil.copytree(real_index, work / "index")
    return work


def assert_clean_log(log: Path) -> None:
    """No traceback and no token in anything the bot logged."""
    text = log.read_text()
    assert "Traceback" not in text, text[-5000:]
    assert TOKEN not in text and "TEST-token" not in text


@pytest.fixture(scope="module")
def telegram(real_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeTelegram, Path]]:
    """A fake Bot API server and the bot polling it, on copies of the knowledge base and the index."""
    work = copy_knowledge_and_index(real_index, tmp_path_factory.mktemp("bot"))
    server = FakeTelegram().start()
    port = free_port()
    web_port = free_port()
    process = start_bot(server, work, work / "bot.log", MONITORING__PORT=str(port), WEB__PORT=str(web_port))
    try:
        server.wait_for(lambda s: s.method == "deleteWebhook", timeout=120)
        server.monitoring_port = port  # type: ignore[attr-defined]
        server.web_port = web_port  # type: ignore[attr-defined]
        yield server, work / "knowledge"
    finally:
        stop_process(process)
        server.stop()
        assert_clean_log(work / "bot.log")


def reply_to(server: FakeTelegram, user: int, after: int, method: str = "sendMessage", timeout: float = 30):
    return server.wait_for(lambda s: s.method == method and s.chat_id == user, timeout=timeout, after=after)


def test_the_bot_serves_the_web_console_on_its_own_local_port(telegram) -> None:
    server, _ = telegram
    with urllib.request.urlopen(f"http://127.0.0.1:{server.web_port}/sign-in", timeout=10) as response:
        assert response.status == 200 and "Консоль колледж-бота" in response.read().decode()


def test_commands_are_registered_in_russian_and_kazakh(telegram) -> None:
    server, _ = telegram
    assert {c["command"] for c in server.commands["default"]} >= {"start", "quiz", "free", "colleges", "help"}
    assert any(c["description"] == "Тегін оқу" for c in server.commands["kk"])


def test_start_greets_in_the_telegram_language_with_menu(telegram) -> None:
    server, _ = telegram
    mark = server.mark()
    server.send_text(101, "/start", language_code="kk")
    reply = reply_to(server, 101, mark)
    assert "Сәлем" in reply.text and "мамандық" in reply.text
    assert {b["callback_data"] for b in reply.buttons} >= {"m:quiz", "m:free", "m:lang"}


def test_russian_question_gets_suggestions_buttons_and_sources(telegram) -> None:
    server, _ = telegram
    mark = server.mark()
    server.send_text(102, "хочу стать сварщиком")
    reply = reply_to(server, 102, mark)
    assert "Сварочное дело" in reply.text and "<i>Источники" in reply.text
    data = [b["callback_data"] for b in reply.buttons]
    assert "s:info:welding" in data and any(d.startswith("v:") for d in data)
    assert all(len(d.encode()) <= 64 for d in data)


def test_kazakh_question_is_answered_in_kazakh(telegram) -> None:
    server, _ = telegram
    mark = server.mark()
    server.send_text(103, "мен бағдарламашы болғым келеді", language_code="ru")
    reply = reply_to(server, 103, mark)
    assert "Бағдарламалық қамтамасыз ету" in reply.text and "Дереккөздер" in reply.text


def test_button_press_shows_colleges_of_the_speciality(telegram) -> None:
    server, _ = telegram
    mark = server.mark()
    server.press(104, "s:colleges:nursing")
    reply = reply_to(server, 104, mark)
    assert "Сестринское дело" in reply.text and "колледж" in reply.text.lower()


def test_forged_and_stale_callbacks_get_a_polite_answer(telegram) -> None:
    server, _ = telegram
    for data in ("s:info:no-such-speciality", "zz:hack", "v:notanumber:1", "q:7:yes"):
        mark = server.mark()
        server.press(105, data)
        answer = server.wait_for(lambda s: s.method == "answerCallbackQuery", after=mark)
        assert "устарела" in answer.params.get("text", ""), data


def test_sticker_gets_a_short_explanation(telegram) -> None:
    server, _ = telegram
    mark = server.mark()
    server.send_sticker(106)
    assert "только текст" in reply_to(server, 106, mark).text


def test_quiz_runs_to_the_end_with_a_way_back(telegram) -> None:
    server, _ = telegram
    user = 107
    mark = server.mark()
    server.send_text(user, "/quiz")
    question = server.wait_for(lambda s: s.chat_id == user and "Вопрос 1 из" in s.text, after=mark)
    assert len(QUESTIONS) >= 12
    server.press(user, "q:0:yes")
    server.wait_for(lambda s: s.chat_id == user and "Вопрос 2 из" in s.text, after=mark)
    mark2 = server.mark()
    server.press(user, "q:1:back")
    server.wait_for(lambda s: s.chat_id == user and "Вопрос 1 из" in s.text, after=mark2)
    for step in range(len(QUESTIONS)):
        answer = "yes" if step in (2, 3) else "no"  # computers and experiments
        before = server.mark()
        server.press(user, f"q:{step}:{answer}")
        if step < len(QUESTIONS) - 1:
            server.wait_for(lambda s: s.chat_id == user and f"Вопрос {step + 2} из" in s.text, after=before)
    result = server.wait_for(lambda s: s.chat_id == user and "Готово" in s.text, after=mark)
    assert "компьютер" in result.text.lower() or "наука" in result.text.lower()
    assert question.buttons


def test_stranger_cannot_reload(telegram) -> None:
    server, _ = telegram
    mark = server.mark()
    server.send_text(STRANGER, "/reload")
    assert "только администраторам" in reply_to(server, STRANGER, mark).text


def test_admin_reload_with_a_broken_file_reports_it_and_keeps_the_old_knowledge(telegram) -> None:
    server, knowledge = telegram
    broken = knowledge / "broken.yaml"
    broken.write_text("kind: <faq>\nrecords: []\n", encoding="utf-8")  # the report must escape the "<"
    specialities = knowledge / "specialities.yaml"
    original = specialities.read_text(encoding="utf-8")
    specialities.write_text(original.replace("records:", "records: [", 1), encoding="utf-8")  # a YAML typo
    try:
        mark = server.mark()
        server.send_text(ADMIN, "/reload")
        report = server.wait_for(lambda s: s.method == "editMessageText" and "broken.yaml" in s.text, after=mark,
                                 timeout=60)
        assert "&lt;faq&gt;" in report.text and "specialities.yaml" in report.text
        # One typo is one error, not hundreds of follow-on reference errors.
        assert "2 error(s)" in report.text and "does not exist" not in report.text
        after = server.mark()
        server.send_text(ADMIN, "хочу стать сварщиком")
        assert "Сварочное дело" in reply_to(server, ADMIN, after).text
    finally:
        broken.unlink()
        specialities.write_text(original, encoding="utf-8")


def test_flood_control_delivers_answers_telegram_refused_with_429(telegram) -> None:
    server, _ = telegram
    mark = server.mark()
    server.flood(2, retry_after=1)
    server.send_text(110, "хочу стать сварщиком")
    assert "Сварочное дело" in reply_to(server, 110, mark, timeout=30).text
    assert len(server.refused) >= 2


def test_health_and_metrics_in_polling_mode(telegram) -> None:
    server, _ = telegram
    base = f"http://127.0.0.1:{server.monitoring_port}"
    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
        assert response.status == 200 and json.loads(response.read())["status"] == "ready"
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
        metrics = response.read().decode()
    assert 'bot_updates_total{type="message"}' in metrics and "bot_update_seconds_bucket" in metrics
    assert 'bot_questions_total{answered="yes"}' in metrics and "bot_knowledge_generation" in metrics


def test_admin_reload_picks_up_an_edit_while_answering(telegram) -> None:
    server, knowledge = telegram
    faq = knowledge / "faq.yaml"
    faq.write_text(faq.read_text(encoding="utf-8").replace(
        "Цифры зависят от того, что считать.", "Цифры зависят от того, что именно считать."), encoding="utf-8")
    mark = server.mark()
    server.send_text(ADMIN, "/reload")
    server.send_text(108, "хочу стать поваром")  # answered while the reload runs
    assert "Организация питания" in reply_to(server, 108, mark).text
    done = server.wait_for(lambda s: s.method == "editMessageText" and "Готово" in s.text, after=mark, timeout=120)
    assert "changed 1" in done.text
    after = server.mark()
    server.send_text(108, "сколько колледжей в казахстане")
    assert "что именно считать" in reply_to(server, 108, after).text


def test_feedback_stats_and_forget(telegram) -> None:
    server, _ = telegram
    mark = server.mark()
    server.send_text(109, "где учат на медсестру в Астане")
    reply = reply_to(server, 109, mark)
    vote = next(b["callback_data"] for b in reply.buttons if b["text"] == "👍")
    server.press(109, vote)
    assert "Спасибо" in server.wait_for(lambda s: s.method == "answerCallbackQuery", after=mark).params["text"]
    after = server.mark()
    server.send_text(ADMIN, "/stats")
    stats = json.loads(reply_to(server, ADMIN, after).text.removeprefix("<pre>").removesuffix("</pre>")
                       .replace("&quot;", '"'))
    assert stats["feedback"]["up"] >= 1 and stats["users"] >= 1
    after = server.mark()
    server.send_text(109, "/forget")
    assert "удалено" in reply_to(server, 109, after).text


def text_update(update_id: int, user: int, text: str) -> dict:
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 0,
                                                "chat": {"id": user, "type": "private"},
                                                "from": {"id": user, "is_bot": False, "first_name": "U"},
                                                "text": text}}


def test_webhook_answers_only_requests_carrying_the_secret(real_index: Path, tmp_path: Path) -> None:
    port = free_port()
    server = FakeTelegram().start()
    copy_knowledge_and_index(real_index, tmp_path)
    process = start_bot(server, tmp_path, tmp_path / "bot.log", TELEGRAM__MODE="webhook",
                        TELEGRAM__WEBHOOK_URL="https://bot.example.kz/webhook", TELEGRAM__WEBHOOK_PORT=str(port))
    try:
        hook = server.wait_for(lambda s: s.method == "setWebhook", timeout=120)
        secret = hook.params["secret_token"]
        assert len(secret) >= 32  # generated at start, as WEBHOOK_SECRET is not set
        assert set(json.loads(hook.params["allowed_updates"])) == {"message", "callback_query"}
        # Forged: no secret, a wrong one, and one carrying an admin's id asking for the CSV.
        assert post_update(port, text_update(1, 201, "хочу стать сварщиком"), None) == 401
        assert post_update(port, text_update(2, 201, "хочу стать сварщиком"), "guess") == 401
        assert post_update(port, text_update(3, ADMIN, "/unanswered"), secret[:-1]) == 401
        assert post_update(port, text_update(4, 202, "хочу стать сварщиком"), secret) == 200
        # The reply was sent before the 200 came back: an update cut off by a restart is delivered again.
        assert "Сварочное дело" in reply_to(server, 202, 0, timeout=1).text
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as health:
            assert json.loads(health.read())["status"] == "ready"
        # SIGTERM while an update is being handled: the request still completes, with its reply sent.
        statuses: list[int] = []
        posting = threading.Thread(target=lambda: statuses.append(
            post_update(port, text_update(5, 203, "хочу стать медсестрой"), secret)))
        posting.start()
        time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        posting.join(30)
        assert process.wait(timeout=60) == 0
        assert statuses == [200] and "Сестринское дело" in reply_to(server, 203, 0, timeout=1).text
    finally:
        stop_process(process)
        server.stop()
    assert not [s for s in server.sent if s.chat_id in (201, ADMIN)]
    log = (tmp_path / "bot.log").read_text()
    assert log.count("refused a webhook request") == 3 and secret not in log
    assert_clean_log(tmp_path / "bot.log")


def test_sigterm_loses_no_update(real_index: Path, tmp_path: Path) -> None:
    """100 questions, SIGTERM 0.15 s later: each is answered now or after the restart, none lost.

    The shutdown grace is cut to 0.2 s so that some handlers are really cut off and must come back.
    """
    server = FakeTelegram().start()
    copy_knowledge_and_index(real_index, tmp_path)
    log = tmp_path / "bot.log"
    process = start_bot(server, tmp_path, log, TELEGRAM__SHUTDOWN_TIMEOUT="0.2")
    users = range(3000, 3100)
    try:
        server.wait_for(lambda s: s.method == "deleteWebhook", timeout=120)
        server.send_text(2999, "хочу стать сварщиком")  # wait until it really answers
        reply_to(server, 2999, 0, timeout=60)
        for user in users:
            server.send_text(user, f"хочу стать сварщиком {user}")
        time.sleep(0.15)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        answered_before = {s.chat_id for s in server.sent if s.method == "sendMessage"} & set(users)
        process = start_bot(server, tmp_path, log)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if {s.chat_id for s in server.sent if s.method == "sendMessage"} >= set(users):
                break
            time.sleep(0.2)
        answered = {s.chat_id for s in server.sent if s.method == "sendMessage"} & set(users)
        assert answered == set(users), f"lost: {sorted(set(users) - answered)}"
        assert len(answered_before) < len(users)  # the stop really cut into the burst
    finally:
        stop_process(process)
        server.stop()
    assert "stopping after the updates in progress" in log.read_text()
    assert_clean_log(log)


def test_bot_waits_for_an_unreachable_bot_api_then_answers(real_index: Path, tmp_path: Path) -> None:
    port = free_port()
    copy_knowledge_and_index(real_index, tmp_path)
    log = tmp_path / "bot.log"
    process = start_bot(None, tmp_path, log, TELEGRAM__API_BASE=f"http://127.0.0.1:{port}",
                        TELEGRAM__STARTUP_RETRY="0.5")
    server = None
    try:
        deadline = time.monotonic() + 120
        while "Bot API unreachable" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert process.poll() is None  # still running, retrying
        server = FakeTelegram(port=port).start()
        server.send_text(301, "хочу стать сварщиком")
        assert "Сварочное дело" in reply_to(server, 301, 0, timeout=60).text
    finally:
        stop_process(process)
        if server:
            server.stop()
    assert_clean_log(log)


def test_a_malformed_token_is_a_clear_error(tmp_path: Path) -> None:
    environment = {**os.environ, "BOT_TOKEN": "not a token", "STORAGE__PATH": str(tmp_path / "bot.sqlite3")}
    result = subprocess.run([sys.executable, str(ROOT / "run_bot.py")], env=environment, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 78
    assert "BOT_TOKEN is not a bot token" in result.stderr and "Traceback" not in result.stderr
    assert "not a token" not in result.stderr
