"""End to end: the real `run_bot.py` polling loop against a local fake Telegram Bot API server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from advisor.quiz import QUESTIONS
from conftest import ROOT
from fake_telegram import FakeTelegram, stop_process

ADMIN, STRANGER = 42, 43


@pytest.fixture(scope="module")
def telegram(real_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeTelegram, Path]]:
    """A fake Bot API server and the bot polling it, on copies of the knowledge base and the index."""
    work = tmp_path_factory.mktemp("bot")
    knowledge = work / "knowledge"
    shutil.copytree(ROOT / "knowledge" / "data", knowledge)
    shutil.copytree(real_index, work / "index")
    server = FakeTelegram().start()
    env = {**os.environ, "BOT_TOKEN": "123456:TEST", "TELEGRAM__API_BASE": server.base_url,
           "KNOWLEDGE__PATH": str(knowledge), "EMBEDDINGS__INDEX_PATH": str(work / "index"),
           "STORAGE__PATH": str(work / "bot.sqlite3"), "ACCESS__ADMINS": f"[{ADMIN}]",
           "THROTTLE__MESSAGES": "1000"}
    log = (work / "bot.log").open("w")
    process = subprocess.Popen([sys.executable, str(ROOT / "run_bot.py")], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        server.wait_for(lambda s: s.method == "deleteWebhook", timeout=120)
        yield server, knowledge
    finally:
        stop_process(process)
        server.stop()
        log.close()
        assert "Traceback" not in (work / "bot.log").read_text() or pytest.fail((work / "bot.log").read_text())


def reply_to(server: FakeTelegram, user: int, after: int, method: str = "sendMessage", timeout: float = 30):
    return server.wait_for(lambda s: s.method == method and s.chat_id == user, timeout=timeout, after=after)


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


def test_admin_reload_with_a_broken_file_keeps_the_old_knowledge(telegram) -> None:
    server, knowledge = telegram
    broken = knowledge / "broken.yaml"
    broken.write_text("kind: faq\nrecords:\n  - id: [unclosed\n", encoding="utf-8")
    try:
        mark = server.mark()
        server.send_text(ADMIN, "/reload")
        server.wait_for(lambda s: s.method == "editMessageText" and "broken.yaml" in s.text, after=mark, timeout=60)
        after = server.mark()
        server.send_text(ADMIN, "хочу стать сварщиком")
        assert "Сварочное дело" in reply_to(server, ADMIN, after).text
    finally:
        broken.unlink()


def test_admin_reload_picks_up_an_edit_while_answering(telegram) -> None:
    server, knowledge = telegram
    faq = knowledge / "faq.yaml"
    faq.write_text(faq.read_text(encoding="utf-8").replace(
        "Сколько колледжей в Казахстане?", "Сколько всего колледжей в Казахстане?"), encoding="utf-8")
    mark = server.mark()
    server.send_text(ADMIN, "/reload")
    server.send_text(108, "хочу стать поваром")  # answered while the reload runs
    assert "Организация питания" in reply_to(server, 108, mark).text
    done = server.wait_for(lambda s: s.method == "editMessageText" and "Готово" in s.text, after=mark, timeout=120)
    assert "changed 1" in done.text
    after = server.mark()
    server.send_text(108, "сколько колледжей в казахстане")
    assert "Сколько всего колледжей" in reply_to(server, 108, after).text


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


def test_webhook_mode_answers_posted_updates(real_index: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = FakeTelegram().start()
    shutil.copytree(real_index, tmp_path / "index")
    env = {**os.environ, "BOT_TOKEN": "123456:HOOK", "TELEGRAM__API_BASE": server.base_url,
           "TELEGRAM__MODE": "webhook", "TELEGRAM__WEBHOOK_URL": f"http://127.0.0.1:{port}/webhook",
           "TELEGRAM__WEBHOOK_PORT": str(port), "EMBEDDINGS__INDEX_PATH": str(tmp_path / "index"),
           "STORAGE__PATH": str(tmp_path / "bot.sqlite3")}
    process = subprocess.Popen([sys.executable, str(ROOT / "run_bot.py")], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        hook = server.wait_for(lambda s: s.method == "setWebhook", timeout=120)
        assert hook.params["url"].endswith("/webhook")
        update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 201, "type": "private"},
                                              "from": {"id": 201, "is_bot": False, "first_name": "U"},
                                              "text": "хочу стать сварщиком"}}
        for _ in range(50):  # the listener starts just after setWebhook
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/webhook", json.dumps(update).encode(),
                                                 {"Content-Type": "application/json"})
                urllib.request.urlopen(request, timeout=10).read()
                break
            except OSError:
                time.sleep(0.2)
        assert "Сварочное дело" in reply_to(server, 201, 0).text
    finally:
        stop_process(process)
        server.stop()
