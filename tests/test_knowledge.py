"""The knowledge loader and every class of validation error, on small broken fixture files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import COLLEGES, FAQ, PROFESSIONS, ROOT, SPECIALITIES, write_knowledge
from knowledge.loader import load_knowledge
from knowledge.schema import Group


def problems_of(folder: Path, category: str) -> list:
    return [p for p in load_knowledge(folder).problems if p.category == category]


def test_valid_fixture_loads_every_kind(knowledge_dir: Path) -> None:
    kb = load_knowledge(knowledge_dir)
    assert kb.ok, [str(p) for p in kb.problems]
    assert kb.counts() == {"speciality": 3, "college": 2, "programme": 3, "admission": 1, "profession": 1, "faq": 1,
                           "labour": 2}
    assert kb.regions() == ["Астана", "Карагандинская область"]
    assert kb.get("astana-poly").specialities == ["welding", "software"]
    assert kb.get("welding").qualifications[0].level == "3W"


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    folder = write_knowledge(tmp_path, {"faq.yaml": "kind: faq\nrecords:\n  - id: [unclosed\n"})
    [problem] = problems_of(folder, "yaml")
    assert problem.file == "faq.yaml"
    assert "line" in problem.message
    assert not load_knowledge(folder).ok


def test_one_yaml_typo_is_one_error_not_a_cascade_of_references(tmp_path: Path) -> None:
    typo = SPECIALITIES.replace("records:", "records: [")
    kb = load_knowledge(write_knowledge(tmp_path, {"specialities.yaml": typo}))
    errors = [p for p in kb.problems if p.severity == "error"]
    assert [p.category for p in errors] == ["yaml"]  # colleges and professions name specialities that now vanish
    assert any("references between records not checked" in p.message for p in kb.problems)
    report = kb.error_report(shown=20)
    assert report.startswith("1 error(s):") and "specialities.yaml" in report


def test_error_report_gives_the_total_when_it_cuts(tmp_path: Path) -> None:
    broken = {f"broken{n}.yaml": "kind: nothing\nrecords: []\n" for n in range(25)}
    report = load_knowledge(write_knowledge(tmp_path, broken)).error_report(shown=20)
    assert report.startswith("25 error(s), the first 20:") and report.count("ERROR") == 20


def test_file_without_kind_is_a_structure_error(tmp_path: Path) -> None:
    folder = write_knowledge(tmp_path, {"faq.yaml": "- id: lonely\n"})
    [problem] = problems_of(folder, "structure")
    assert problem.file == "faq.yaml" and "kind" in problem.message


def test_unknown_kind_lists_the_valid_ones(tmp_path: Path) -> None:
    folder = write_knowledge(tmp_path, {"extra.yaml": "kind: teacher\nrecords: []\n"})
    [problem] = problems_of(folder, "structure")
    assert "teacher" in problem.message and "speciality" in problem.message


def test_missing_kazakh_description_names_record_and_field(tmp_path: Path) -> None:
    broken = SPECIALITIES.replace("    description_kk: Металды дәнекерлеуді үйретеді.\n", "")
    problems = problems_of(write_knowledge(tmp_path, {"specialities.yaml": broken}), "schema")
    assert [(p.file, p.record, p.field, p.message) for p in problems] == [
        ("specialities.yaml", "welding", "description_kk", "required field is missing")]


def test_empty_required_text_is_rejected(tmp_path: Path) -> None:
    broken = SPECIALITIES.replace("name_ru: Сестринское дело", 'name_ru: ""')
    [problem] = problems_of(write_knowledge(tmp_path, {"specialities.yaml": broken}), "schema")
    assert (problem.record, problem.field, problem.message) == ("nursing", "name_ru", "must not be empty")


def test_unknown_field_is_reported_as_a_typo(tmp_path: Path) -> None:
    broken = SPECIALITIES.replace("    group: health\n", "    group: health\n    discription_ru: x\n")
    [problem] = problems_of(write_knowledge(tmp_path, {"specialities.yaml": broken}), "schema")
    assert problem.field == "discription_ru" and "typo" in problem.message


def test_number_where_text_is_expected_says_to_quote_it(tmp_path: Path) -> None:
    broken = SPECIALITIES.replace("keywords_ru: [медсестра, медбрат, больница]", "keywords_ru: [медсестра, 075]")
    [problem] = problems_of(write_knowledge(tmp_path, {"specialities.yaml": broken}), "schema")
    assert problem.field == "keywords_ru.1" and "quotes" in problem.message


def test_bad_speciality_code_is_a_code_error(tmp_path: Path) -> None:
    broken = SPECIALITIES.replace('code: "09130100"', 'code: "0913010"')
    [problem] = problems_of(write_knowledge(tmp_path, {"specialities.yaml": broken}), "code")
    assert (problem.record, problem.field) == ("nursing", "code")
    assert "8-digit" in problem.message


def test_qualification_code_without_prefix_is_a_code_error(tmp_path: Path) -> None:
    broken = SPECIALITIES.replace("code: 3W07150501", 'code: "07150501"')
    [problem] = problems_of(write_knowledge(tmp_path, {"specialities.yaml": broken}), "code")
    assert problem.field == "qualifications.0.code" and "3W" in problem.message


def test_unknown_group_is_a_schema_error(tmp_path: Path) -> None:
    broken = SPECIALITIES.replace("group: health", "group: medicine")
    [problem] = problems_of(write_knowledge(tmp_path, {"specialities.yaml": broken}), "schema")
    assert problem.field == "group"


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    broken = PROFESSIONS.replace("id: welder", "id: welding")
    [problem] = problems_of(write_knowledge(tmp_path, {"professions.yaml": broken}), "duplicate")
    assert problem.record == "welding" and "unique" in problem.message


def test_duplicate_speciality_codes(tmp_path: Path) -> None:
    broken = SPECIALITIES.replace('code: "09130100"', 'code: "07150500"')
    [problem] = problems_of(write_knowledge(tmp_path, {"specialities.yaml": broken}), "duplicate")
    assert "07150500" in problem.message


def test_college_pointing_to_missing_speciality(tmp_path: Path) -> None:
    broken = COLLEGES.replace("specialities: [nursing]", "specialities: [nursing, dentistry]")
    [problem] = problems_of(write_knowledge(tmp_path, {"colleges/astana.yaml": broken}), "reference")
    assert (problem.record, problem.field) == ("karaganda-med", "specialities")
    assert "dentistry" in problem.message


def test_profession_pointing_to_missing_speciality(tmp_path: Path) -> None:
    broken = PROFESSIONS.replace("specialities: [welding]", "specialities: [plumbing]")
    [problem] = problems_of(write_knowledge(tmp_path, {"professions.yaml": broken}), "reference")
    assert problem.record == "welder" and "plumbing" in problem.message


def test_missing_kazakh_name_is_only_a_warning(tmp_path: Path) -> None:
    folder = write_knowledge(tmp_path, {"specialities.yaml": SPECIALITIES.replace("name_kk: Мейіргер ісі", "")})
    kb = load_knowledge(folder)
    assert kb.ok
    assert [(p.record, p.severity) for p in kb.problems if p.category != "coverage"] == [("nursing", "warning")]


def test_validate_warns_about_thin_regions_old_sources_and_labour_figures_without_years(tmp_path: Path) -> None:
    old = COLLEGES.replace("source: https://example.kz/college\n    as_of: 2024",
                           "source: https://example.kz/college\n    as_of: 2012")
    folder = write_knowledge(tmp_path, {"colleges/astana.yaml": old})
    (folder / "labour.yaml").write_text((folder / "labour.yaml").read_text().replace('period: "2025"', ""))
    kb = load_knowledge(folder)
    assert kb.ok and kb.colleges_per_region()["Шымкент"] == 0 and len(kb.colleges_per_region()) == 20
    assert any(p.category == "coverage" and "Шымкент: 0" in p.message for p in kb.problems)
    assert [p.record for p in kb.problems if p.category == "old"] == ["karaganda-med"]
    assert [p.record for p in kb.problems if p.category == "year"] == ["karaganda-welders"]


def test_source_and_year_are_required(tmp_path: Path) -> None:
    broken = "kind: faq\nrecords:\n  - {id: x, question_ru: a, question_kk: b, answer_ru: c, answer_kk: d}\n"
    problems = problems_of(write_knowledge(tmp_path, {"faq.yaml": broken}), "schema")
    assert {p.field for p in problems} == {"source", "as_of"}


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run_bot.py"), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_validate_cli_reports_a_broken_file_without_traceback(tmp_path: Path) -> None:
    folder = write_knowledge(tmp_path, {"faq.yaml": "kind: faq\nrecords:\n  - id: [unclosed\n"})
    result = run_cli("validate", env={"KNOWLEDGE__PATH": str(folder)})
    assert result.returncode == 1
    assert "faq.yaml" in result.stdout and "FAILED" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_validate_json_of_the_real_knowledge_base_meets_the_coverage() -> None:
    result = run_cli("validate", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"], report["problems"][:5]
    counts = report["counts"]
    assert counts["speciality"] >= 100 and counts["college"] >= 50 and counts["profession"] >= 60
    assert counts["programme"] >= 8 and counts["admission"] >= 5 and counts["faq"] >= 10
    assert report["regions"] >= 5
    # What users read: citations only, every text in its own language.
    assert report["sources_not_citations"] == 0 and report["language_mismatches"] == 0
    assert report["kazakh_names"]["present"] + report["kazakh_names"]["missing"] == counts["speciality"]


@pytest.mark.parametrize("source", [
    "public code: src/features/tippo/AstanaRatingTab.tsx", "secondary source, confirm against Order No. 500 (kk)",
    "Astana TVET rating 2024-2025", "list 2025–2026; cites https://politcol.kz/applicants/specialties/",
    "Laravel database seeder ProfessionSeeder", "site mock-up of a college, 2023",
])
def test_a_source_that_is_not_a_citation_is_rejected(tmp_path: Path, source: str) -> None:
    broken = FAQ.replace("source: Закон РК «Об образовании», ст. 8", f"source: '{source}'")
    [problem] = problems_of(write_knowledge(tmp_path, {"faq.yaml": broken}), "source")
    assert problem.record == "is-college-free" and problem.field == "source"


@pytest.mark.parametrize("source", ["Приказ МОН РК № 500 от 12.10.2018", "сайт колледжа kktis.kz",
                                    "https://turkistan-agro.kz/kabyldau-erezhesi/", "Правила приёма, 2025"])
def test_readable_citations_pass(tmp_path: Path, source: str) -> None:
    readable = FAQ.replace("source: Закон РК «Об образовании», ст. 8", f"source: '{source}'")
    assert not problems_of(write_knowledge(tmp_path, {"faq.yaml": readable}), "source")


@pytest.mark.parametrize("value", ["Аспазшы", "3 жыл 10 ай", "Мамандық туралы"])
def test_kazakh_text_in_a_russian_field_is_an_error(tmp_path: Path, value: str) -> None:
    broken = FAQ.replace("answer_ru: Да, первая рабочая квалификация бесплатна.", f"answer_ru: {value}")
    [problem] = problems_of(write_knowledge(tmp_path, {"faq.yaml": broken}), "language")
    assert problem.field == "answer_ru"


def test_russian_text_in_a_kazakh_field_is_an_error(tmp_path: Path) -> None:
    broken = FAQ.replace("answer_kk: Иә, алғашқы жұмысшы біліктілігі тегін.",
                         "answer_kk: Да, первая рабочая квалификация бесплатна для всех, кто поступает после 9 класса.")
    [problem] = problems_of(write_knowledge(tmp_path, {"faq.yaml": broken}), "language")
    assert problem.field == "answer_kk"


def test_a_yearly_fact_more_than_a_year_old_is_a_warning(tmp_path: Path) -> None:
    old = FAQ.replace("as_of: 2025", "as_of: 2021\n    changes_yearly: true")
    kb = load_knowledge(write_knowledge(tmp_path, {"faq.yaml": old}))
    [problem] = [p for p in kb.problems if p.category == "stale"]
    assert problem.severity == "warning" and kb.ok


def test_real_knowledge_base_spans_every_group_and_cites_sources() -> None:
    kb = load_knowledge(ROOT / "knowledge" / "data")
    assert {s.group for s in kb.specialities} == set(Group)
    assert all(r.source and r.as_of for r in kb.all())
    programme_ids = {p.id for p in kb.records["programme"]}
    assert {"free-first-qualification", "state-order", "quotas", "targeted-training", "dual-education",
            "zhas-maman", "serpin", "stipend"} <= programme_ids
    big_cities = {c.city for c in kb.colleges}
    assert {"Астана", "Алматы", "Шымкент"} <= big_cities


@pytest.mark.parametrize("code", ["07161300", "09130100", "10130300"])
def test_real_codes_are_kept_as_sources_print_them(code: str) -> None:
    kb = load_knowledge(ROOT / "knowledge" / "data")
    assert any(s.code == code for s in kb.specialities)
