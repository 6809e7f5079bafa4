"""The web console in a real browser: headless Chromium (Debian's chromium and chromium-driver, installed by
.ci/run) driving `run_bot.py web` on copies of the real knowledge base and index.

Screenshots of the main pages are saved under var/test-output/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_bot_e2e import assert_clean_log, copy_knowledge_and_index

from conftest import ROOT
from fake_telegram import free_port, stop_process

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs Debian's chromium and chromium-driver "
                                                                    "(apt-get install -y chromium chromium-driver)")
SCREENSHOTS = ROOT / "var" / "test-output" / "screenshots"
ADMIN, COUNSELLOR = ("aigerim", "admin-password-1"), ("bolat", "counsellor-pass-2")
NEW_COLLEGE = "Жезказганский колледж сервиса (тестовая запись)"
COLLEGE_LIST = ("Наименование,Город,Регион,Специальности,Источник,Год\n"
                f"{NEW_COLLEGE},Жезказган,область Ұлытау,07150500,Список колледжей области (тестовый),2025\n"
                ",Жезказган,область Ұлытау,07150500,Список колледжей области (тестовый),2025\n")


@pytest.fixture(scope="module")
def console_url(real_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`run_bot.py web` with one admin and one counsellor created by `run_bot.py user add`."""
    work = copy_knowledge_and_index(real_index, tmp_path_factory.mktemp("console"))
    port = free_port()
    env = {**os.environ, "KNOWLEDGE__PATH": str(work / "knowledge"), "EMBEDDINGS__INDEX_PATH": str(work / "index"),
           "INTENTS__CORPUS_PATH": str(work / "knowledge" / "intents"), "STORAGE__PATH": str(work / "bot.sqlite3"),
           "WEB__PORT": str(port), "WEB__UPLOADS_PATH": str(work / "uploads")}
    for (name, password), role in ((ADMIN, "admin"), (COUNSELLOR, "counsellor")):
        subprocess.run([sys.executable, str(ROOT / "run_bot.py"), "user", "add", name, "--role", role,
                        "--password-stdin"], input=password + "\n", env=env, check=True, text=True,
                       capture_output=True)
    log = work / "web.log"
    process = subprocess.Popen([sys.executable, str(ROOT / "run_bot.py"), "web"], env=env, stdout=log.open("a"),
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_served(url + "/sign-in", process, log)
        yield url
    finally:
        stop_process(process)
        assert_clean_log(log)
    (work / "list.csv").unlink(missing_ok=True)


def _wait_until_served(url: str, process: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(1)
    raise AssertionError(f"the console did not start in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def browser() -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--lang=ru"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def click_and_wait(browser, element_id: str) -> None:
    """Press a form's button and wait for the next page: reading before it loads would see the old one."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, element_id).click()

    def replaced(_) -> bool:
        try:
            page.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:  # Chromium may say so in other words when the old page goes mid-check
            if "does not belong to the document" in str(exc):
                return True
            raise

    WebDriverWait(browser, 60).until(replaced)


def shot(browser, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def sign_in(browser, url: str, name: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(url + "/sign-in")
    browser.find_element(By.ID, "name").send_keys(name)
    browser.find_element(By.ID, "password").send_keys(password)
    click_and_wait(browser, "sign-in")


def text_of(browser) -> str:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.TAG_NAME, "main").text


def ask(browser, url: str, question: str) -> str:
    from selenium.webdriver.common.by import By

    browser.get(url + "/ask")
    box = browser.find_element(By.ID, "messages")
    box.clear()
    box.send_keys(question)
    click_and_wait(browser, "ask")
    return browser.find_element(By.CLASS_NAME, "turn").text


def sign_out(browser) -> None:
    click_and_wait(browser, "sign-out")


def test_a_counsellor_signs_in_asks_in_kazakh_sees_the_trace_and_cannot_open_the_admin_page(
        console_url: str, browser) -> None:
    sign_in(browser, console_url, COUNSELLOR[0], "wrong password")
    assert "Неверное имя или пароль" in text_of(browser)
    shot(browser, "sign-in-refused")
    sign_in(browser, console_url, *COUNSELLOR)
    assert browser.current_url.endswith("/ask")
    turn = ask(browser, console_url, "мен бағдарламашы болғым келеді")
    assert "Бағдарламалық қамтамасыз ету" in turn  # the answer, in Kazakh
    from selenium.webdriver.common.by import By

    assert browser.find_element(By.CLASS_NAME, "trace-lang").text == "kk"
    assert browser.find_element(By.CLASS_NAME, "trace-intent").text == "suggest"
    assert "software" in turn  # the record found, with its score, beside the answer
    shot(browser, "ask-trace")
    browser.set_window_size(390, 844)  # a phone: the answer and its trace stack, nothing runs off the screen
    wider = browser.execute_script(
        "return [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > "
        "window.innerWidth + 1).map(e => e.tagName + '.' + e.className).slice(0, 5)")
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"), wider
    shot(browser, "ask-phone")
    browser.set_window_size(1280, 1000)
    browser.get(console_url + "/admin")
    assert "только для администраторов" in text_of(browser)
    sign_out(browser)
    assert browser.current_url.split("?")[0].endswith("/sign-in")
    browser.get(console_url + "/ask")
    assert browser.current_url.split("?")[0].endswith("/sign-in")  # signed out means signed out


def test_an_admin_previews_an_import_with_a_bad_row_applies_it_reloads_and_the_college_is_answered(
        console_url: str, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    college_list = tmp_path / "list.csv"
    college_list.write_text(COLLEGE_LIST, encoding="utf-8")
    sign_in(browser, console_url, *ADMIN)
    assert browser.current_url.endswith("/admin")
    assert "Частые темы" in text_of(browser)
    shot(browser, "overview")
    browser.get(console_url + "/admin/knowledge")
    assert "Ошибок нет" in browser.find_element(By.ID, "validation").text
    browser.find_element(By.ID, "import-file").send_keys(str(college_list))
    click_and_wait(browser, "preview")
    report = browser.find_element(By.ID, "import-report").text
    assert "ничего ещё не записано" in report and NEW_COLLEGE in report
    assert "строка 3" in browser.find_element(By.ID, "row-problems").text
    shot(browser, "import-preview")
    click_and_wait(browser, "apply")
    assert "Импорт записан" in browser.find_element(By.ID, "import-report").text
    click_and_wait(browser, "reload")
    deadline = time.monotonic() + 240
    while "Перезагрузка завершена" not in text_of(browser):  # the page refreshes itself while it runs
        assert time.monotonic() < deadline, text_of(browser)
        time.sleep(1)
    assert "1 из 1" in browser.find_element(By.ID, "reload-done").text
    shot(browser, "reload-done")
    answer = ask(browser, console_url, "какие колледжи есть в Жезказгане")
    assert NEW_COLLEGE in answer
    browser.get(console_url + "/lang/kk?next=/admin/knowledge")
    assert "Білім базасын тексеру" in text_of(browser)
    sign_out(browser)
    assert "Вы вышли" in text_of(browser) or "Сіз консольден шықтыңыз" in text_of(browser)
