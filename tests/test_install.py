"""A plain (non-editable) `pip install .` runs from any folder: the knowledge and the corpus come with the package,
and the config file is the one named by --config or found in the current folder."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from conftest import ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment holding the project as `pip install .` leaves it; its dependencies are this
    environment's (a .pth file points at them), so only the project itself is installed, offline."""
    env = tmp_path_factory.mktemp("installed") / "venv"
    venv.EnvBuilder(with_pip=False).create(env)  # pip and setuptools are this environment's, through --python
    python = env / "bin" / "python"
    target = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 check=True, capture_output=True, text=True).stdout.strip())
    (target / "test-environment.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    source = tmp_path_factory.mktemp("source") / "project"  # a copy, so the build leaves no files in the checkout
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "var", "*.egg-info", "__pycache__",
                                                                 "tests", "benchmarks"))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                    "--no-build-isolation", "--no-index", "-q", str(source)], check=True, capture_output=True,
                   text=True, timeout=600)
    return env


def run_installed(env: Path, args: list[str], cwd: Path, extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("CONFIG_FILE", "PYTHONPATH")}
    return subprocess.run([str(env / "bin" / "kolledzh-bot"), *args], cwd=cwd, env={**environment, **extra},
                          capture_output=True, text=True, timeout=600)


def test_the_installed_package_answers_from_another_folder(installed: Path, real_index: Path,
                                                           tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(real_index, elsewhere / "var" / "index")
    where = subprocess.run([str(installed / "bin" / "python"), "-c", "import app; print(app.__file__)"],
                           cwd=elsewhere, check=True, capture_output=True, text=True).stdout
    assert str(installed) in where and str(ROOT) not in where  # the installed copy, not the checkout
    vectors = {"INTENTS__VECTOR_CACHE": str(ROOT / "var" / "cache")}  # the corpus's vectors, to save the encoding
    result = run_installed(installed, ["ask", "хочу стать сварщиком", "--json"], elsewhere, vectors)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.splitlines()[-1])
    assert "Сварочное дело" in answer["answer"]
    assert (elsewhere / "var" / "index").is_dir() and not (installed / "var").exists()


def test_the_installed_package_reads_the_config_named_by_config(installed: Path, tmp_path: Path) -> None:
    config = tmp_path / "settings" / "bot.yaml"
    config.parent.mkdir()
    config.write_text("retrieval:\n  top_k: many\n", encoding="utf-8")
    result = run_installed(installed, ["--config", str(config), "validate"], tmp_path, {})
    assert result.returncode == 78 and "retrieval.top_k" in result.stderr
