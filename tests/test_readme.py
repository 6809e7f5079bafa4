"""The README's test command is what CI runs."""

from conftest import ROOT


def test_ci_runs_the_readme_test_command() -> None:
    ci_command = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci_command in (ROOT / "README.md").read_text(encoding="utf-8")
