"""`run_bot.py import colleges`: a regional college list (CSV or XLSX) into the knowledge base, nothing guessed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook

from app.cli import main
from conftest import ROOT, write_knowledge
from knowledge.importer import (
    ImportFileError,
    ImportOptions,
    ImportUsageError,
    canonical_region,
    import_colleges,
    read_table,
    slugify,
)
from knowledge.loader import load_knowledge

DATA = Path(__file__).parent / "data" / "import"
SOURCE = "Список колледжей Карагандинской области, управление образования, 2025"
OUT = "colleges/imported-karagandinskaya-oblast.yaml"


def run_cli(args: list[str], knowledge: Path) -> subprocess.CompletedProcess[str]:
    """run_bot.py in a child process, as an admin runs it."""
    environment = {**os.environ, "KNOWLEDGE__PATH": str(knowledge)}
    environment.pop("BOT_TOKEN", None)
    return subprocess.run([sys.executable, str(ROOT / "run_bot.py"), *args], capture_output=True, text=True,
                          env=environment, timeout=120, check=False)


def run_main(args: list[str], knowledge: Path, monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The CLI in this process (faster than a child process): exit code, stdout, stderr."""
    monkeypatch.setenv("KNOWLEDGE__PATH", str(knowledge))
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def options(file: Path, **changes: object) -> ImportOptions:
    """Import options for a file, with the good source and year unless changed."""
    return ImportOptions(**{"file": file, "source": SOURCE, "as_of": 2025, **changes})  # type: ignore[arg-type]


def records(path: Path) -> dict[str, dict]:
    """The records of a written knowledge file, by id."""
    return {r["id"]: r for r in yaml.safe_load(path.read_text(encoding="utf-8"))["records"]}


def kazakh_workbook(path: Path) -> Path:
    """An XLSX list with Kazakh headers under a title row, a phone typed as a number, and a second sheet."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Колледждер"
    sheet.append(["Колледждер тізімі, 2025 жыл"])
    sheet.append(["Атауы", "Облыс", "Қала", "Мекенжай", "Шифр", "Меншік нысаны", "Телефон"])
    sheet.append(["Шымкент жоғары көпсалалы колледжі", "Шымкент қаласы", "Шымкент", "Тәуке хан даңғылы, 5",
                  "07150500\n09130100", "мемлекеттік", 87252000000])
    sheet.append(["Астана IT колледжі", "Астана қ.", "Астана", None, "06130100", "жеке", None])
    other = workbook.create_sheet("Филиалдар")
    other.append(["Атауы", "Облыс", "Шифр"])
    other.append(["Павлодар филиалы", "Павлодар облысы", "06130100"])
    workbook.save(path)
    return path


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    return write_knowledge(tmp_path / "knowledge")


def test_dry_run_prints_the_diff_and_writes_nothing(knowledge: Path) -> None:
    before = sorted(knowledge.rglob("*"))
    result = run_cli(["import", "colleges", str(DATA / "good.csv"), "--source", SOURCE, "--as-of", "2025",
                      "--dry-run"], knowledge)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "added (3):" in out and "+ vysshii-kolledzh-bolashak: Высший колледж «Болашак» (row 2)" in out
    assert "+ temirtauskii-politekhnicheskii-kolledzh" in out and "+ kolledzh-tsifrovaya-karaganda" in out
    # The medical college is already in a hand-written file: reported with what differs, never rewritten there.
    assert "! karaganda-med: Карагандинский медицинский колледж (row 5) in colleges/astana.yaml" in out
    assert "address: (empty) → «ул. Гоголя, 1»" in out and "as_of: 2024 → 2025" in out
    assert "columns not imported: «№», «Госзаказ 2025, мест»" in out
    assert "dry run: nothing written" in out
    assert sorted(knowledge.rglob("*")) == before


def test_written_file_validates_and_holds_only_what_the_list_says(knowledge: Path) -> None:
    report = import_colleges(knowledge, options(DATA / "good.csv"))
    assert report.exit_code == 0 and report.written == [str(knowledge / OUT)]
    kb = load_knowledge(knowledge)
    assert kb.ok, kb.error_report()
    assert kb.origin["vysshii-kolledzh-bolashak"] == OUT
    written = records(knowledge / OUT)
    assert set(written) == {"vysshii-kolledzh-bolashak", "temirtauskii-politekhnicheskii-kolledzh",
                            "kolledzh-tsifrovaya-karaganda"}
    bolashak = written["vysshii-kolledzh-bolashak"]
    assert bolashak["specialities"] == ["welding", "software"] and bolashak["ownership"] == "state"
    assert bolashak["phone"] == "87212000000" and bolashak["source"] == SOURCE and bolashak["as_of"] == 2025
    assert bolashak["provenance"] == "imported from good.csv, row 2"
    # «Карагандинская обл.» is written as the knowledge base writes the region.
    temirtau = written["temirtauskii-politekhnicheskii-kolledzh"]
    assert temirtau["region"] == "Карагандинская область" and temirtau["specialities"] == ["welding", "nursing"]
    # Empty cells stay empty: no address, phone or invented values.
    digital = written["kolledzh-tsifrovaya-karaganda"]
    assert digital["ownership"] == "private" and "address" not in digital and "phone" not in digital
    # The hand-written file of the existing college is untouched.
    assert "ул. Гоголя" not in (knowledge / "colleges" / "astana.yaml").read_text(encoding="utf-8")


def test_reimporting_the_same_list_changes_nothing(knowledge: Path) -> None:
    import_colleges(knowledge, options(DATA / "good.csv"))
    text = (knowledge / OUT).read_text(encoding="utf-8")
    report = import_colleges(knowledge, options(DATA / "good.csv"))
    assert not report.of("added") and not report.of("changed")
    assert [c.record.id for c in report.of("unchanged")] == ["vysshii-kolledzh-bolashak",
                                                             "temirtauskii-politekhnicheskii-kolledzh",
                                                             "kolledzh-tsifrovaya-karaganda"]
    assert "nothing to write" in report.format()
    assert (knowledge / OUT).read_text(encoding="utf-8") == text


def test_a_changed_list_updates_the_imported_record_under_the_same_id(knowledge: Path, tmp_path: Path) -> None:
    import_colleges(knowledge, options(DATA / "good.csv"))
    changed = tmp_path / "good-2026.csv"
    text = (DATA / "good.csv").read_bytes().decode("cp1251").replace("ул. Мира, 5", "ул. Мира, 7")
    changed.write_bytes(text.encode("cp1251"))
    report = import_colleges(knowledge, options(changed, dry_run=True))
    [change] = report.of("changed")
    assert change.record.id == "temirtauskii-politekhnicheskii-kolledzh"
    assert "address: «ул. Мира, 5» → «ул. Мира, 7»" in report.format()
    assert len(report.of("unchanged")) == 2
    import_colleges(knowledge, options(changed))
    temirtau = records(knowledge / OUT)["temirtauskii-politekhnicheskii-kolledzh"]
    assert temirtau["address"] == "ул. Мира, 7" and "good-2026.csv, row 3" in temirtau["provenance"]
    assert load_knowledge(knowledge).ok


def test_bad_rows_are_reported_by_number_and_codes_never_guessed(knowledge: Path) -> None:
    report = import_colleges(knowledge, options(DATA / "broken.csv"))
    problems = [str(p) for p in report.problems]
    assert "row 2: code 0713020 is not 8 digits; not imported (the college is imported without it)" in problems
    assert "row 2: ownership «АО» is not clearly state or private; left empty" in problems
    assert "row 3: no college name; skipped" in problems
    assert "row 4: region «Марсианская область» is not a region of Kazakhstan; skipped" in problems
    assert "row 5: duplicate of row 2 («Колледж сервиса»); skipped" in problems
    for code, reason in [("0508000", "is not 8 digits"), ("07130299", "is not in the knowledge base's specialities"),
                         ("0713020А", "is not an 8-digit speciality code"), ("071302001", "is not 8 digits")]:
        assert f"row 6: code {code} {reason}; not imported (the college is imported without it)" in problems
    assert report.exit_code == 0
    text = (knowledge / OUT).read_text(encoding="utf-8")
    for code in ("0713020", "07130299", "0508000", "07130200", "0713020А"):
        assert code not in text
    written = records(knowledge / OUT)
    assert set(written) == {"kolledzh-servisa", "gornyi-kolledzh", "kolledzh-bez-kodov"}
    assert written["kolledzh-servisa"]["specialities"] == ["welding"] and "ownership" not in written["kolledzh-servisa"]
    assert "specialities" not in written["gornyi-kolledzh"]
    # Names without any code are kept as the list writes them, not matched to a speciality.
    assert written["kolledzh-bez-kodov"]["specialities_text"] == ["Сварочное дело", "Программное обеспечение"]
    assert load_knowledge(knowledge).ok


def test_xlsx_with_kazakh_headers_under_a_title_row(knowledge: Path, tmp_path: Path) -> None:
    report = import_colleges(knowledge, options(kazakh_workbook(tmp_path / "тізім.xlsx")))
    assert report.header_row == 2 and not report.problems
    assert [c.file for c in report.of("added")] == ["colleges/imported-shymkent.yaml", "colleges/imported-astana.yaml"]
    shymkent = records(knowledge / "colleges" / "imported-shymkent.yaml")["shymkent-zhogary-kopsalaly-kolledzhi"]
    assert shymkent["region"] == "Шымкент" and shymkent["specialities"] == ["welding", "nursing"]
    assert shymkent["phone"] == "87252000000" and shymkent["ownership"] == "state"
    assert shymkent["provenance"] == "imported from тізім.xlsx, sheet «Колледждер», row 3"
    astana = records(knowledge / "colleges" / "imported-astana.yaml")["astana-it-kolledzhi"]
    assert astana["region"] == "Астана" and astana["ownership"] == "private" and astana["specialities"] == ["software"]
    assert load_knowledge(knowledge).ok


def test_sheet_option_reads_another_sheet_and_names_the_sheets_when_wrong(knowledge: Path, tmp_path: Path) -> None:
    workbook = kazakh_workbook(tmp_path / "list.xlsx")
    report = import_colleges(knowledge, options(workbook, sheet="Филиалдар", dry_run=True))
    assert [c.record.region for c in report.of("added")] == ["Павлодарская область"]
    with pytest.raises(ImportUsageError, match="«Колледждер», «Филиалдар»"):
        import_colleges(knowledge, options(workbook, sheet="Лист1", dry_run=True))


def test_map_says_which_column_is_which(knowledge: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("Колледж_полное\tГде\tШифры\nКостанайский колледж связи\tКостанайская область\t06130100\n",
                   encoding="utf-8")
    code, out, err = run_main(["import", "colleges", str(odd), "--source", SOURCE, "--as-of", "2025", "--dry-run",
                               "--map", "name=Колледж_полное", "--map", "region=Где", "--map",
                               "specialities=шифры"], knowledge, monkeypatch, capsys)
    assert code == 0, err
    assert "+ kostanaiskii-kolledzh-svyazi: Костанайский колледж связи (row 2) → " \
           "colleges/imported-kostanaiskaya-oblast.yaml" in out
    code, out, err = run_main(["import", "colleges", str(odd), "--source", SOURCE, "--as-of", "2025",
                               "--map", "name=Название"], knowledge, monkeypatch, capsys)
    assert code == 2 and not out
    assert "--map name=Название: no such column in row 1; the columns are: «Колледж_полное», «Где», «Шифры»" in err


def test_missing_required_columns_are_named_with_the_headers_found(knowledge: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text("Наименование;Город\nКолледж туризма;Алматы\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="no column for the region; the columns \\(row 1\\) are: "
                                              "«Наименование», «Город».*--region"):
        import_colleges(knowledge, options(plain, dry_run=True))
    report = import_colleges(knowledge, options(plain, region="Алматы", dry_run=True))
    assert report.of("added")[0].record.region == "Алматы"
    nameless = tmp_path / "nameless.csv"
    nameless.write_text("Учреждение,Область\nКолледж туризма,Алматы\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="no column for the college name.*«Учреждение», «Область».*--map name="):
        import_colleges(knowledge, options(nameless, dry_run=True))


def test_a_source_that_is_not_a_citation_is_refused(knowledge: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(["import", "colleges", str(DATA / "good.csv"), "--source", "public code: x.tsx",
                               "--as-of", "2025"], knowledge, monkeypatch, capsys)
    assert code == 2 and not out
    assert err.startswith("error: --source 'public code: x.tsx' is a developer note, not a citation")
    assert not (knowledge / OUT).exists()
    with pytest.raises(ImportUsageError, match="as-of 1990"):
        import_colleges(knowledge, options(DATA / "good.csv", as_of=1990))


def test_unreadable_files_are_one_line_errors(knowledge: Path, tmp_path: Path) -> None:
    result = run_cli(["import", "colleges", str(DATA / "unreadable.xlsx"), "--source", SOURCE, "--as-of", "2025"],
                     knowledge)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: unreadable.xlsx: not a readable Excel file")
    assert len(result.stderr.strip().splitlines()) == 1
    binary = tmp_path / "list.csv"
    binary.write_bytes(b"\x00\x01\x02binary")
    old_excel = tmp_path / "list.xls"
    old_excel.write_bytes(b"\xd0\xcf\x11\xe0")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    cut = kazakh_workbook(tmp_path / "cut.xlsx")
    cut.write_bytes(cut.read_bytes()[:2000])  # a download that stopped half-way
    for path, message in [(binary, "binary data"), (old_excel, "save it as .xlsx or CSV"), (empty, "empty"),
                          (tmp_path / "missing.csv", "no such file"), (cut, "not a readable Excel file")]:
        with pytest.raises(ImportFileError, match=message):
            read_table(path)


def test_a_list_with_nothing_importable_exits_1(knowledge: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Наименование;Область\n;Астана\nКолледж;Луна\n", encoding="utf-8")
    code, out, _ = run_main(["import", "colleges", str(bad), "--source", SOURCE, "--as-of", "2025"], knowledge,
                            monkeypatch, capsys)
    assert code == 1
    assert "row 2: no college name; skipped" in out and "row 3: region «Луна»" in out
    assert "nothing could be imported" in out and not list((knowledge / "colleges").glob("imported-*"))


def test_existing_colleges_are_found_by_name_or_website(tmp_path: Path) -> None:
    folder = write_knowledge(tmp_path / "knowledge", {"colleges/imported-astana.yaml": """\
# Colleges imported with `run_bot.py import colleges`; each record's provenance names the list and the row.
kind: college
records:
  - id: astana-it
    name: Astana IT College
    region: Астана
    website: https://www.astanait.kz/
    source: Список колледжей города Астаны, 2024
    as_of: 2024
"""})
    listing = tmp_path / "astana.csv"
    listing.write_text("Наименование;Регион;Сайт;Коды специальностей\n"
                       "Высший колледж «Astana Polytechnic»;г. Астана;;\"07150500; 06130100\"\n"
                       "Колледж Astana IT;Астана;astanait.kz;06130100\n", encoding="utf-8")
    report = import_colleges(folder, options(listing, dry_run=True))
    elsewhere, changed = report.of("elsewhere"), report.of("changed")
    assert [c.record.id for c in elsewhere] == ["astana-poly"]
    # Same website, so the same college; its file was written by an import, so it may be updated there.
    assert [(c.record.id, c.file) for c in changed] == [("astana-it", "colleges/imported-astana.yaml")]
    assert "name: «Astana IT College» → «Колледж Astana IT»" in report.format()
    assert not report.of("added")


def test_utf8_comma_and_tab_lists_are_read(tmp_path: Path) -> None:
    comma = tmp_path / "comma.csv"
    comma.write_bytes('\ufeffName,Region,City\n"Колледж ""Туран""",Алматы,Алматы\n'.encode("utf-8"))
    tab = tmp_path / "tab.txt"
    tab.write_text("Атауы\tОблыс\nТұран колледжі\tАлматы облысы\n", encoding="utf-8")
    assert read_table(comma).rows[1] == (2, ['Колледж "Туран"', "Алматы", "Алматы"])
    assert read_table(tab).rows[1] == (2, ["Тұран колледжі", "Алматы облысы"])


def test_regions_and_ids_are_written_as_the_knowledge_base_writes_them() -> None:
    assert canonical_region("Карагандинская обл.") == "Карагандинская область"
    assert canonical_region("Алматы облысы") == "Алматинская область"
    assert canonical_region("г. Алматы") == "Алматы"
    assert canonical_region("Абай облысы") == "область Абай"
    assert canonical_region("Северная область") is None
    assert slugify("Высший колледж «Болашак»") == "vysshii-kolledzh-bolashak"
    assert slugify("Шымкент жоғары көпсалалы колледжі") == "shymkent-zhogary-kopsalaly-kolledzhi"
    long = slugify("Государственное коммунальное казённое предприятие «Карагандинский высший политехнический "
                   "колледж» управления образования Карагандинской области")
    assert len(long) <= 60 and not long.endswith("-") and long.startswith("gosudarstvennoe-kommunalnoe")


def test_a_name_taken_by_another_record_gets_the_city(tmp_path: Path) -> None:
    folder = write_knowledge(tmp_path / "knowledge")
    listing = tmp_path / "list.csv"
    listing.write_text("Наименование;Область;Город\nKaraganda Med;Акмолинская область;Кокшетау\n", encoding="utf-8")
    report = import_colleges(folder, options(listing, dry_run=True))
    assert report.of("added")[0].record.id == "karaganda-med-kokshetau"


def test_out_refuses_a_file_of_another_kind(knowledge: Path) -> None:
    before = (knowledge / "faq.yaml").read_text(encoding="utf-8")
    with pytest.raises(ImportUsageError, match="not a college knowledge file"):
        import_colleges(knowledge, options(DATA / "good.csv", out=knowledge / "faq.yaml"))
    assert (knowledge / "faq.yaml").read_text(encoding="utf-8") == before


def test_out_merges_into_the_named_file(knowledge: Path, tmp_path: Path) -> None:
    out = knowledge / "colleges" / "karaganda-list.yaml"
    shutil.copy(DATA / "good.csv", tmp_path / "first.csv")
    import_colleges(knowledge, options(tmp_path / "first.csv", out=out))
    import_colleges(knowledge, options(DATA / "broken.csv", out=out))
    assert len(records(out)) == 6 and not (knowledge / OUT).exists()
    assert load_knowledge(knowledge).ok
