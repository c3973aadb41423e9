"""Installing VoiceCoach like real software: the wheel, a fresh virtual environment, `--version`.

The wheel is built from a copy of the checkout's files (so no build/ folder is left in the
checkout), installed with its dependencies into a new virtual environment in the test's
temporary folder, and every command runs from another temporary folder with its own history,
settings file and data directories: nothing can come from the checkout. The speech clip comes
from ../shared (next to the repository, like the recognition tests' clips).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
import tomllib
import venv
import wave
import zipfile
from pathlib import Path

import pytest

from conftest import NOW, ROOT

import voicecoach

CLIP = ROOT.parent / "shared" / "audio" / "speech_commands" / "yes"
SAMPLE_SESSION = ROOT / "scripts" / "sample-session.txt"


def test_pyproject_lists_every_package():
    """The package list is explicit (prompts/ is mapped into it), so a new subpackage must be added."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "voicecoach").rglob("__init__.py")}
    missing = found - set(config["packages"])
    assert not missing, f"add to pyproject.toml [tool.setuptools] packages: {missing}"
    assert config["package-dir"] == {"voicecoach.prompts": "prompts"}


def _source_copy(dest: Path) -> Path:
    """The files git would check out (tracked, plus new ones not ignored), copied to dest."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            (dest / name).write_bytes(source.read_bytes())
    return dest


class Installed:
    """voicecoach installed from its wheel into a fresh virtual environment, run from elsewhere."""

    def __init__(self, base: Path) -> None:
        self.times: dict[str, float] = {}
        started = time.monotonic()
        source = _source_copy(base / "source")
        wheels = base / "wheels"
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
                       check=True, capture_output=True, timeout=300)
        (self.wheel,) = wheels.glob("voicecoach-*.whl")
        self.times["wheel"] = time.monotonic() - started
        self.sdist_names = _sdist_names(source, base / "sdist")
        started = time.monotonic()
        self.venv = base / "venv"
        venv.create(self.venv, with_pip=True)
        self.bin = self.venv / "bin"
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        proc = subprocess.run([str(self.bin / "python"), "-m", "pip", "install", "-q", str(self.wheel)],
                              capture_output=True, text=True, env=env, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
        self.times["install"] = time.monotonic() - started
        self.cwd = base / "elsewhere"
        self.cwd.mkdir()
        self.home = base / "home"
        self.env = {**env, "VOICECOACH_HOME": str(self.home), "VOICECOACH_CONFIG": str(base / "config" / "settings.toml"),
                    "XDG_DATA_HOME": str(base / "data"), "XDG_CONFIG_HOME": str(base / "config"),
                    "XDG_CACHE_HOME": str(base / "cache"), "VOICECOACH_NOW": NOW,
                    "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}"}
        for name in ("VOICECOACH_PROMPTS", "VOICECOACH_VOSK_MODEL"):
            self.env.pop(name, None)

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        """`voicecoach ARGS...` from the installed environment, in a folder outside the checkout."""
        proc = subprocess.run([str(self.bin / "voicecoach"), *map(str, args)], input=stdin, capture_output=True,
                              text=True, env=self.env, cwd=self.cwd, timeout=180)
        assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
        return proc


def _sdist_names(source: Path, out: Path) -> list[str]:
    """The files of the source distribution, built from the copy (setuptools' own sdist builder)."""
    out.mkdir()
    proc = subprocess.run([sys.executable, "-c", f"from setuptools import build_meta; "
                           f"print(build_meta.build_sdist({str(out)!r}))"], cwd=source, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with tarfile.open(out / proc.stdout.split()[-1]) as tar:
        return [name.split("/", 1)[1] for name in tar.getnames() if "/" in name]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    return Installed(tmp_path_factory.mktemp("install"))


def test_the_wheel_carries_the_prompts_and_no_model(installed):
    prompts = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "prompts").rglob("*.yaml"))
    with zipfile.ZipFile(installed.wheel) as whl:
        names = whl.namelist()
    assert sorted(n.removeprefix("voicecoach/") for n in names if n.startswith("voicecoach/prompts/")
                  and n.endswith(".yaml")) == prompts
    assert not [n for n in names if n.startswith(("models/", "tests/", "scripts/")) or n.endswith((".onnx", ".wav"))]
    assert set(prompts) <= set(installed.sdist_names)
    print(f"wheel {installed.wheel.stat().st_size / 1e3:.0f} kB; built in {installed.times['wheel']:.1f} s, "
          f"fresh venv with every dependency in {installed.times['install']:.1f} s")


def test_it_runs_from_the_environment_not_the_checkout(installed):
    proc = subprocess.run([str(installed.bin / "python"), "-c", "import voicecoach; "
                           "from voicecoach.content.programs import prompts_dir; print(voicecoach.__file__); "
                           "print(prompts_dir())"], capture_output=True, text=True, env=installed.env,
                          cwd=installed.cwd, timeout=60)
    assert proc.returncode == 0, proc.stderr
    module, prompts = map(Path, proc.stdout.split())
    assert installed.venv in module.parents and installed.venv in prompts.parents, proc.stdout
    assert ROOT not in module.parents and ROOT not in prompts.parents


def test_version(installed):
    proc = installed.run("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"voicecoach {voicecoach.__version__}\n"


def test_programs(installed):
    proc = installed.run("programs")
    assert proc.returncode == 0, proc.stderr
    listed = [line.split()[0] for line in proc.stdout.splitlines() if not line.startswith(" ")]
    assert sorted(listed) == ["easy", "extension", "flexion", "general", "strength"]


def test_simulate_the_sample_session_then_last_and_report(installed):
    proc = installed.run("simulate", stdin=SAMPLE_SESSION.read_text(encoding="utf-8"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("  you: start session\n") and "Your working exercise is Prone props." in proc.stdout
    proc = installed.run("last", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["end_reason"] == "completed" and summary["working_exercise"] == "prone-props"
    proc = installed.run("report", "--out", "report.html")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "report.html\n"
    page = (installed.cwd / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page


def test_say_into_a_wav_file(installed):
    proc = installed.run("say", "Lie on your stomach.", "--wav", "said.wav")
    assert proc.returncode == 0, proc.stderr
    with wave.open(str(installed.cwd / "said.wav")) as w:
        assert w.getnframes() / w.getframerate() > 0.5


def test_hear_a_real_clip_from_shared(installed):
    clip = sorted(CLIP.glob("*.wav"))[0]  # ../shared is next to the repository (see test_asr.py)
    proc = installed.run("hear", clip, "--expect", "yesno", "--json")
    assert proc.returncode == 0, proc.stderr
    heard = json.loads(proc.stdout)
    assert heard["file"] == str(clip) and "answer" in heard


def test_settings_and_models_list(installed):
    proc = installed.run("settings")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"settings file: {installed.env['VOICECOACH_CONFIG']} (not there yet")
    proc = installed.run("models", "list")
    assert proc.returncode == 0, proc.stderr
    vosk = next(line for line in proc.stdout.splitlines() if line.startswith("vosk-en"))
    assert str(Path(installed.env["XDG_DATA_HOME"]) / "voicecoach" / "models" / "vosk") in vosk
