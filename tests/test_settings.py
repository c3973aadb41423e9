"""The settings file (voicecoach/config.py) through the real command line: precedence (file <
flag), the pace kept across two runs, and malformed files (one sentence, exit 2, file untouched).

Each test has its own VOICECOACH_CONFIG (conftest: own_settings_file). The pace is observed
where it acts: the fake clock of `simulate` runs each rep of a press-up set in 6 s x pace.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import NOW, ROOT, opening
from voicecoach.config import ConfigError, save_pace

PRESS_UPS = textwrap.dedent("""\
    id: press-ups
    name: Press-ups only
    seeds: ["001"]
    rule: in_order
    description: One set of three press-ups, to time the pace.
    exercises:
      - id: press-up
        dose: {reps: 3}
    """)
KEPT = textwrap.dedent("""\
    # My settings: written by hand.
    engine = "pocketsphinx"   # the wheel's own model
    pace = 1.0  # normal
    colour = "blue"           # not a VoiceCoach key: kept, ignored

    [later]
    note = "a table at the end"
    """)


def no_traceback(proc) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr


@pytest.fixture
def session(tmp_path):
    """One press-up session through `voicecoach simulate`, each with a new history (so each is the
    day's first, screened the same way); returns (process, time the session ended)."""
    program = tmp_path / "press-ups.yaml"
    program.write_text(PRESS_UPS, encoding="utf-8")
    homes = iter(range(100))

    def run(*flags: str, midset: str | None = None) -> tuple[object, float]:
        lines = opening() + ([f"@{midset}"] if midset else []) + ["same", "2"]
        env = {**os.environ, "VOICECOACH_HOME": str(tmp_path / f"home{next(homes)}"), "VOICECOACH_NOW": NOW,
               "PYTHONPATH": str(ROOT)}
        proc = subprocess.run([sys.executable, "-m", "voicecoach", "simulate", "--json", "--program", str(program),
                               *flags], input="".join(f"{x}\n" for x in lines), capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=60)
        no_traceback(proc)
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert [e["id"] for e in result["summary"]["exercises"]] == ["press-up"]
        return proc, result["transcript"][-1]["t"]

    return run


def shown(run_cli, *flags: str) -> dict:
    proc = run_cli("settings", "--json", *flags)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_flags_override_the_file_which_overrides_the_defaults(run_cli, own_settings_file):
    assert shown(run_cli) == {
        "file": str(own_settings_file), "exists": False,
        "settings": {"input": None, "output": None, "engine": None, "voice": None, "pace": 1.0},
        "from": dict.fromkeys(["input", "output", "engine", "voice", "pace"], "default")}
    own_settings_file.write_text('input = "USB mic"\noutput = 3\nengine = "vosk"\nvoice = "voices/amy.onnx"\n'
                                 'pace = 1.5\n', encoding="utf-8")
    from_file = shown(run_cli)
    assert from_file["settings"] == {"input": "USB mic", "output": "3", "engine": "vosk",
                                     "voice": str(own_settings_file.parent / "voices" / "amy.onnx"), "pace": 1.5}
    assert set(from_file["from"].values()) == {"file"}
    flags = shown(run_cli, "--input", "2", "--output", "Speakers", "--engine", "whisper", "--voice", "/v/joe.onnx",
                  "--pace", "0.8")
    assert flags["settings"] == {"input": "2", "output": "Speakers", "engine": "whisper", "voice": "/v/joe.onnx",
                                 "pace": 0.8}
    assert set(flags["from"].values()) == {"flag"}
    one = shown(run_cli, "--engine", "pocketsphinx")
    assert one["settings"]["engine"] == "pocketsphinx" and one["settings"]["pace"] == 1.5
    assert one["from"] == {**from_file["from"], "engine": "flag"}


def test_the_pace_acts_in_a_session_and_a_flag_overrides_the_file(session, own_settings_file):
    _, normal = session()
    _, flag_slow = session("--pace", "2")
    assert flag_slow > normal + 10  # 3 reps of 6 s (up and hold 4 s, down 2 s), each about twice as long
    own_settings_file.write_text("pace = 2.0\n", encoding="utf-8")
    _, file_slow = session()
    _, flag_fast = session("--pace", "0.5")
    assert file_slow == pytest.approx(flag_slow)
    assert flag_fast < normal - 5
    assert own_settings_file.read_text(encoding="utf-8") == "pace = 2.0\n"  # a flag is for one run only


def test_a_pace_changed_by_voice_is_kept_for_the_next_run_and_nothing_else_changes(session, own_settings_file,
                                                                                    run_cli):
    own_settings_file.write_text(KEPT, encoding="utf-8")
    proc, _ = session(midset="slower")
    assert "key 'colour': unknown, so ignored" in proc.stderr
    assert own_settings_file.read_text(encoding="utf-8") == KEPT.replace("pace = 1.0  #", "pace = 1.25  #")
    assert [p.name for p in own_settings_file.parent.iterdir()] == ["settings.toml"]  # no temporary file left
    written = own_settings_file.stat().st_mtime_ns
    _, second = session()  # says nothing about the pace: starts at 1.25, and the file is not written
    _, flag = session("--pace", "1.25")
    assert second == pytest.approx(flag)
    assert own_settings_file.stat().st_mtime_ns == written
    assert shown(run_cli)["settings"]["pace"] == 1.25


def test_the_first_pace_kept_creates_the_file(session, own_settings_file):
    session(midset="faster")
    assert own_settings_file.read_text(encoding="utf-8").splitlines()[1:] == ["pace = 0.8"]
    session(midset="faster")
    assert own_settings_file.read_text(encoding="utf-8").splitlines()[1:] == ["pace = 0.64"]


@pytest.mark.parametrize("text, line, key, says", [
    ('# voice\nengine = vosk\n', 2, "engine", 'is not valid TOML (invalid value); text needs quotes'),
    ('pace = 1.0\npace = 1.2\n', 2, "pace", "is not valid TOML (cannot overwrite a value)"),
    ('output = "x"\n[[table\n', 2, None, "is not valid TOML"),
    ('\n\npace = "slow"\n', 3, "pace", "must be a number from 0.5 to 2.0 (1.0 is normal, larger is slower)"),
    ('pace = 2.5  # too slow\n', 1, "pace", "must be a number from 0.5 to 2.0"),
    ('engine = "kaldi"\n', 1, "engine", "must be one of: whisper, pocketsphinx, vosk"),
    ('input = true\n', 1, "input", "must be a microphone's name (in quotes) or index"),
    ('voice = 3\n', 1, "voice", "must be the path of a piper voice file (.onnx)"),
    ('engine = "vosk"\n[pace]\nfactor = 1\n', 2, "pace", "must be a number"),
])
def test_a_malformed_file_is_one_sentence_exit_2_and_left_untouched(run_cli, own_settings_file, tmp_path, text,
                                                                    line, key, says):
    own_settings_file.write_text(text, encoding="utf-8")
    before = own_settings_file.stat().st_mtime_ns
    for command in (["settings"], ["simulate"], ["say", "hello", "--wav", tmp_path / "x.wav"]):
        proc = run_cli(*command, stdin="start session\nslower\n")
        no_traceback(proc)
        assert proc.returncode == 2, (command, proc.stderr)
        assert proc.stdout == ""
        where = f"voicecoach: {own_settings_file}, line {line}" + (f", key '{key}'" if key else "") + ": "
        assert proc.stderr.startswith(where + says), proc.stderr
        assert proc.stderr.count("\n") == 1 and proc.stderr.endswith(".\n"), proc.stderr
    assert own_settings_file.read_text(encoding="utf-8") == text
    assert own_settings_file.stat().st_mtime_ns == before


def test_a_pace_flag_out_of_range_is_one_sentence(run_cli):
    proc = run_cli("simulate", "--pace", "3", stdin="start session\n")
    no_traceback(proc)
    assert proc.returncode == 2
    assert proc.stderr == "voicecoach: --pace must be a number from 0.5 to 2.0 (1.0 is normal, larger is slower).\n"


def test_commands_that_take_no_setting_do_not_read_the_file(run_cli, own_settings_file):
    own_settings_file.write_text("engine = vosk\n", encoding="utf-8")
    proc = run_cli("programs")
    assert proc.returncode == 0 and "extension" in proc.stdout, proc.stderr


def test_save_pace_edits_one_line_and_keeps_line_ends_comments_and_tables(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_bytes(b"# mine\r\n'pace'=1.0 # kept\r\nengine = \"vosk\"\r\n")
    save_pace(path, 1.5625)
    assert path.read_bytes() == b"# mine\r\n'pace'=1.5625 # kept\r\nengine = \"vosk\"\r\n"
    path.write_text('engine = "vosk"\n[extra]\npace = "not ours"\n', encoding="utf-8")
    save_pace(path, 0.8)
    assert path.read_text(encoding="utf-8") == 'engine = "vosk"\npace = 0.8\n[extra]\npace = "not ours"\n'
    path.write_text('engine = "vosk"', encoding="utf-8")  # no newline at the end
    save_pace(path, 1.25)
    assert path.read_text(encoding="utf-8") == 'engine = "vosk"\npace = 1.25\n'


def test_save_pace_leaves_a_file_it_cannot_edit_safely_as_it_is(tmp_path):
    path = tmp_path / "settings.toml"
    tricky = 'note = """\n[not a table]\npace = 1.0\n"""\npace = 1.0\n'  # a multi-line text that looks like TOML
    path.write_text(tricky, encoding="utf-8")
    with pytest.raises(ConfigError, match="the pace could not be written without changing other settings"):
        save_pace(path, 1.25)
    assert path.read_text(encoding="utf-8") == tricky
    path.write_bytes(b"# mine\r\n[table]\r\nk = 1\r\n")
    save_pace(path, 1.25)
    assert path.read_bytes() == b"# mine\r\npace = 1.25\r\n[table]\r\nk = 1\r\n"


def test_save_pace_never_writes_a_file_that_became_malformed(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text("engine = vosk\npace = 1.0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"settings.toml, line 1, key 'engine': is not valid TOML"):
        save_pace(path, 1.25)
    assert path.read_text(encoding="utf-8") == "engine = vosk\npace = 1.0\n"
    assert os.listdir(tmp_path) == ["settings.toml"]
