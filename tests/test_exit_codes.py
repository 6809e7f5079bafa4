"""How the bot starts and stops, as a supervisor sees it: one log line per stage, and exit codes it can act on
(0 a normal stop, 78 a mistake a restart will not fix, 75 a passing failure worth retrying later)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from test_bot_e2e import TOKEN, assert_clean_log, copy_knowledge_and_index, start_bot

from conftest import ROOT
from fake_telegram import FakeTelegram, free_port

STAGES = ("config", "storage", "model", "knowledge", "index", "intent model", "telegram", "ready")


def run_bot(tmp_path: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "BOT_TOKEN": TOKEN, "STORAGE__PATH": str(tmp_path / "bot.sqlite3"),
                   "MONITORING__PORT": str(free_port()), "WEB__PORT": str(free_port()), **env}
    return subprocess.run([sys.executable, str(ROOT / "run_bot.py"), "bot"], env=environment, capture_output=True,
                          text=True, timeout=timeout)


def test_start_is_one_line_per_stage_and_sigterm_exits_0(real_index: Path, tmp_path: Path) -> None:
    work = copy_knowledge_and_index(real_index, tmp_path)
    server = FakeTelegram().start()
    try:
        process = start_bot(server, work, work / "bot.log")
        server.wait_for(lambda s: s.method == "deleteWebhook", timeout=300)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        server.stop()
    log = (work / "bot.log").read_text()
    assert_clean_log(work / "bot.log")
    stages = re.findall(r"INFO app\.wiring: start: ([a-z ]+): .*\(\d+\.\d s", log)
    assert stages[:len(STAGES)] == list(STAGES), log
    # Warnings are for what a person must act on: a normal start has none.
    assert " WARNING " not in log and " ERROR " not in log, log


def test_the_bot_api_unreachable_beyond_its_retries_exits_75(real_index: Path, tmp_path: Path) -> None:
    work = copy_knowledge_and_index(real_index, tmp_path)
    result = run_bot(work, TELEGRAM__API_BASE=f"http://127.0.0.1:{free_port()}", TELEGRAM__STARTUP_RETRY="0.2",
                     TELEGRAM__STARTUP_TIMEOUT="1", KNOWLEDGE__PATH=str(work / "knowledge"),
                     EMBEDDINGS__INDEX_PATH=str(work / "index"))
    assert result.returncode == 75, result.stderr[-3000:]
    assert "could not be reached" in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_database_at_start_exits_75(tmp_path: Path) -> None:
    result = run_bot(tmp_path, timeout=120, SCALE__MODE="workers", TELEGRAM__MODE="webhook",
                     TELEGRAM__WEBHOOK_URL="https://bot.example.kz/webhook", WEBHOOK_SECRET="s3cret",
                     REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
                     DATABASE_URL=f"postgresql://kolledzh:hunter2@127.0.0.1:{free_port()}/kolledzh")
    assert result.returncode == 75, result.stderr[-3000:]
    assert "PostgreSQL" in result.stderr and "hunter2" not in result.stderr and "Traceback" not in result.stderr


def test_a_setting_a_restart_cannot_fix_exits_78(tmp_path: Path) -> None:
    result = run_bot(tmp_path, timeout=120, TELEGRAM__MODE="webhook")  # no public address to receive updates
    assert result.returncode == 78 and "TELEGRAM__WEBHOOK_URL" in result.stderr


def test_the_systemd_unit_restarts_on_passing_failures_only() -> None:
    unit = (ROOT / "deploy" / "kolledzh-bot.service").read_text()
    assert re.search(r"^Restart=on-failure$", unit, re.M) and re.search(r"^RestartPreventExitStatus=78$", unit, re.M)
