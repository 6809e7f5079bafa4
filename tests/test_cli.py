"""The counsellor CLI through run_bot.py, over the real knowledge base and the offline default model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

FIELDS = {"question", "lang", "intent", "answer", "specialities", "colleges", "programmes", "sources"}


def run(args: list[str], index: Path, stdin: str = "", env: dict[str, str] | None = None):
    environment = {**os.environ, "EMBEDDINGS__INDEX_PATH": str(index), **(env or {})}
    environment.pop("BOT_TOKEN", None)
    return subprocess.run([sys.executable, str(ROOT / "run_bot.py"), *args], input=stdin, capture_output=True,
                          text=True, env=environment, timeout=300)


def test_ask_json_gives_ranked_specialities_with_reasons(real_index: Path) -> None:
    result = run(["ask", "хочу стать сварщиком", "--json"], real_index)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert FIELDS <= set(answer)
    assert answer["lang"] == "ru" and answer["intent"] == "suggest"
    assert answer["label"] == "suggest" and 0.45 <= answer["confidence"] <= 1
    top = answer["specialities"][0]
    assert top["id"] == "welding" and top["code"] == "07150500" and top["why"]
    assert {"id", "code", "name_ru", "name_kk", "score", "why"} == set(top)
    assert all({"id", "kind", "title", "score", "source"} == set(s) for s in answer["sources"])
    scores = [s["score"] for s in answer["specialities"]]
    assert scores == sorted(scores, reverse=True)


def test_ask_reads_one_question_a_line_from_stdin(real_index: Path) -> None:
    questions = "где учат на медсестру в Астане\nмен бағдарламашы болғым келеді\n\nкакие документы нужны\n"
    result = run(["ask", "-", "--json"], real_index, stdin=questions)
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(a["lang"], a["intent"]) for a in answers] == [("ru", "colleges"), ("kk", "suggest"),
                                                           ("ru", "admission")]
    assert answers[0]["colleges"] and all(c["city"] == "Астана" for c in answers[0]["colleges"])
    assert answers[1]["specialities"][0]["id"] == "software"


def test_ask_options_override_the_text(real_index: Path) -> None:
    result = run(["ask", "повар", "--lang", "kk", "--grade", "11", "--city", "Астана", "--json"], real_index)
    answer = json.loads(result.stdout)
    assert answer["lang"] == "kk" and answer["grade"] == 11 and answer["city"] == "Астана"


def test_console_chat_answers_until_an_empty_line(real_index: Path) -> None:
    result = run(["console"], real_index, stdin="привет\nхочу чинить машины\n\nэто уже не читается\n")
    assert result.returncode == 0
    assert "[ru, greeting]" in result.stdout and "[ru, suggest]" in result.stdout
    assert "не читается" not in result.stdout


def test_no_token_means_console_chat(real_index: Path) -> None:
    result = run([], real_index, stdin="сәлем\n")
    assert result.returncode == 0 and "[kk, greeting]" in result.stdout


def test_reindex_reports_an_up_to_date_index(real_index: Path) -> None:
    result = run(["reindex"], real_index)
    assert result.returncode == 0
    assert "up to date" in result.stdout


def test_eval_prints_metrics_per_language_and_intent(real_index: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.yaml"
    questions.write_text("- {q: хочу стать сварщиком, lang: ru, intent: suggest, expect: [welding]}\n"
                         "- {q: мейірбике болғым келеді, lang: kk, intent: suggest, expect: [nursing]}\n"
                         "- {q: какая погода, lang: ru, intent: offtopic, expect: []}\n", encoding="utf-8")
    result = run(["eval", str(questions)], real_index)
    assert result.returncode == 0, result.stderr
    assert "lang:ru" in result.stdout and "lang:kk" in result.stdout and "intent:suggest" in result.stdout


def test_broken_config_is_a_clear_error(real_index: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("retrieval:\n  top_k: many\n", encoding="utf-8")
    result = run(["validate"], real_index, env={"CONFIG_FILE": str(config)})
    assert result.returncode == 78  # EX_CONFIG: a supervisor does not restart into the same mistake
    assert "retrieval.top_k" in result.stderr and "Traceback" not in result.stderr


def test_token_in_config_file_is_refused(real_index: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("bot_token: '123:abc'\n", encoding="utf-8")
    result = run(["validate"], real_index, env={"CONFIG_FILE": str(config)})
    assert result.returncode == 78 and "BOT_TOKEN" in result.stderr


def test_ask_dialogue_replays_a_whole_chat_with_follow_ups(real_index: Path, tmp_path: Path) -> None:
    chat = tmp_path / "chat.txt"
    chat.write_text("# a counsellor's test chat\nхочу быть поваром\nа где в Шымкенте?\nрахмет\n", encoding="utf-8")
    result = run(["ask", str(chat), "--dialogue", "--json"], real_index)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["intent"] for a in answers] == ["suggest", "colleges", "thanks"]
    assert "Шымкент" in answers[1]["answer"] and "Организация питания" in answers[1]["answer"]


def test_console_remembers_the_chat(real_index: Path) -> None:
    result = run(["console"], real_index, stdin="хочу быть поваром\nа где в Шымкенте?\n\n")
    assert result.returncode == 0 and "Организация питания» — Шымкент" in result.stdout


def test_eval_intents_reports_dev_and_test_per_language_for_machines(real_index: Path) -> None:
    result = run(["eval-intents", "--json"], real_index)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report["sizes"]) == {"train", "dev", "test"} and report["sizes"]["test"] > 0
    for part in ("dev", "test"):
        assert {"ru", "kk", "kk_latin", "crisis", "offtopic", "injection"} <= set(report[part])
        assert {"accuracy", "macro_f1"} <= set(report[part]["kk_latin"])
        assert {"recall", "precision"} <= set(report[part]["crisis"])


def test_eval_intents_refuses_a_missing_test_part_in_a_sentence(real_index: Path, tmp_path: Path) -> None:
    result = run(["eval-intents", "--test", str(tmp_path / "nowhere")], real_index)
    assert result.returncode == 2 and "corpus folder not found" in result.stderr
    assert "Traceback" not in result.stderr
