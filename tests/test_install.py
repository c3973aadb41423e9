"""Installing VoiceCoach like real software: what the wheel carries, and `--version`.

The wheel test (below) builds the wheel from a copy of the checkout, installs it into a fresh
virtual environment outside the checkout, and runs the commands from another directory.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import ROOT

import voicecoach


def test_pyproject_lists_every_package():
    """The package list is explicit (prompts/ is mapped into it), so a new subpackage must be added."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "voicecoach").rglob("__init__.py")}
    assert found <= set(config["packages"]), f"add to pyproject.toml [tool.setuptools] packages: {found - set(config['packages'])}"
    assert config["package-dir"] == {"voicecoach.prompts": "prompts"}


def test_version_comes_from_the_package_metadata():
    proc = subprocess.run([sys.executable, "-m", "voicecoach", "--version"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"voicecoach {voicecoach.__version__}\n"
