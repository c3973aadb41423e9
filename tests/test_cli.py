"""The command line: `voicecoach programs [check FILE] | history | last | simulate --program`.

Each test runs the real CLI as a subprocess with VOICECOACH_HOME in tmp_path. User errors
must print one clear sentence on stderr, never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import NOW, ROOT, content, opening

LIB = content().library
LINES = content().lines


def no_traceback(proc) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr


# =============================================================================== programs

def test_programs_lists_the_five_programs_with_their_exercises(run_cli):
    proc = run_cli("programs")
    assert proc.returncode == 0, proc.stderr
    no_traceback(proc)
    listed: dict[str, list[str]] = {}
    current = None
    for line in proc.stdout.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            current = line.split()[0]
            listed[current] = []
        else:
            assert current is not None, line
            listed[current].append(line.split()[0])
    assert set(listed) == {"extension", "flexion", "easy", "strength", "general"}
    assert listed["flexion"] == ["supine-flexion", "seated-flexion", "standing-flexion", "prone-props"]
    for program_id, exercises in listed.items():
        assert exercises == [s.exercise.id for s in LIB.programs[program_id].steps], program_id
        assert LIB.programs[program_id].name in proc.stdout


def test_a_reader_that_stops_early_gets_no_traceback(home):
    env = {**os.environ, "VOICECOACH_HOME": str(home), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "voicecoach", "programs"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=ROOT)
    proc.stdout.close()  # before the command has started: its first line meets a closed pipe (`| head -0`)
    stderr = proc.stderr.read().decode()
    assert proc.wait(60) == 1
    assert stderr == ""


@pytest.mark.parametrize("phrases, says", [
    (None, "phrases.yaml: cannot read the file (No such file or directory)"),
    ("intents: [\n", "phrases.yaml, line 2: is not valid YAML"),
])
def test_missing_or_broken_phrases_are_one_sentence(home, tmp_path, phrases, says):
    """What an install without its prompts did: a FileNotFoundError traceback for phrases.yaml."""
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", prompts)
    (prompts / "phrases.yaml").unlink()
    if phrases is not None:
        (prompts / "phrases.yaml").write_text(phrases, encoding="utf-8")
    env = {**os.environ, "VOICECOACH_HOME": str(home), "VOICECOACH_PROMPTS": str(prompts), "PYTHONPATH": str(ROOT)}
    for command in (["programs"], ["hear", "missing.wav"]):
        proc = subprocess.run([sys.executable, "-m", "voicecoach", *command], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=60)
        no_traceback(proc)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr == f"voicecoach: {prompts / says}\n"


BROKEN = textwrap.dedent("""\
    id: mine
    name: My program
    seeds: ["000"]
    rule: in_order
    description: A program with two mistakes.
    exercises:
      - id: prone-lying
      - id: no-such-exercise
      - id: press-up
        dose: {reps: -3}
    """)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_programs_check_reports_located_errors(run_cli, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    proc = run_cli("programs", "check", path)
    assert proc.returncode != 0
    no_traceback(proc)
    assert "OK" not in proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    unknown = [e for e in errors if "no-such-exercise" in e]
    negative = [e for e in errors if "reps" in e]
    assert unknown and negative, errors
    assert str(path) in unknown[0] and str(path) in negative[0]
    assert re.search(rf"\bline {line_of(BROKEN, 'no-such-exercise')}\b", unknown[0]), unknown[0]
    assert re.search(rf"\bline {line_of(BROKEN, 'reps: -3')}\b", negative[0]), negative[0]
    assert "'id'" in unknown[0]
    assert "'dose.reps'" in negative[0]


def test_programs_check_passes_a_good_file(run_cli, tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(BROKEN.replace("  - id: no-such-exercise\n", "").replace("{reps: -3}", "{reps: 5}"),
                    encoding="utf-8")
    proc = run_cli("programs", "check", path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == ""
    assert str(path) in proc.stdout and "OK" in proc.stdout


def test_programs_check_without_a_file_says_so(run_cli):
    proc = run_cli("programs", "check")
    assert proc.returncode == 2
    no_traceback(proc)
    assert "FILE" in proc.stderr or "file" in proc.stderr


# =============================================================================== history and last

def run_two_sessions(simulate) -> list[dict]:
    first = simulate(opening() + ["same", "gone from my leg", "2"])["summary"]
    second = simulate(["start flexion", "thigh", "left", "4", "stop", "3"], now="2026-11-20T18:00:00+00:00")["summary"]
    return [first, second]


def test_history_lists_sessions(simulate, run_cli):
    sessions = run_two_sessions(simulate)
    assert [s["end_reason"] for s in sessions] == ["completed", "user_stopped"]

    as_json = run_cli("history", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == sessions

    text = run_cli("history")
    assert text.returncode == 0, text.stderr
    rows = [line for line in text.stdout.splitlines() if line.strip()]
    assert len(rows) == 2
    for row, s in zip(rows, sessions):
        assert s["program"] in row and s["end_reason"] in row, row
    assert "prone-props centralized" in rows[0]


def test_history_is_empty_without_sessions(run_cli):
    proc = run_cli("history", "--json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == []


def test_last_without_history_exits_non_zero_with_a_sentence(run_cli):
    proc = run_cli("last")
    assert proc.returncode != 0
    no_traceback(proc)
    assert proc.stdout.strip() == ""
    message = proc.stderr.strip()
    assert message == LINES.get("no_last_session")
    assert len(message.splitlines()) == 1 and message.endswith(".")


def test_last_reads_the_last_session(simulate, run_cli):
    sessions = run_two_sessions(simulate)
    as_json = run_cli("last", "--json")
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout) == sessions[-1]
    spoken = run_cli("last")
    assert spoken.returncode == 0
    assert LIB.programs["flexion"].name in spoken.stdout
    assert LINES.get("end_reasons.user_stopped") in spoken.stdout


def test_last_speaks_the_summary_with_the_coach_voice(simulate, run_cli, home):
    import wave

    run_two_sessions(simulate)
    out = home / "last.wav"
    proc = run_cli("last", "--wav", out, timeout=120)
    assert proc.returncode == 0, proc.stderr
    words = len(proc.stdout.split())
    with wave.open(str(out)) as w:
        seconds = w.getnframes() / w.getframerate()
    assert 0.15 * words < seconds < 0.8 * words, (words, seconds)  # the whole summary, at a speaking pace


# =============================================================================== simulate options

def test_unknown_program_is_one_sentence_and_exit_2(run_cli):
    proc = run_cli("simulate", "--json", "--program", "nosuch", stdin="start session\nno\n")
    assert proc.returncode == 2
    no_traceback(proc)
    assert proc.stdout.strip() == ""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "nosuch" in lines[0]


def test_program_file_runs_that_program(run_cli, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(BROKEN.replace("  - id: no-such-exercise\n", "").replace("{reps: -3}", "{reps: 2}"),
                    encoding="utf-8")
    proc = run_cli("simulate", "--json", "--program", path,
                   stdin="\n".join(opening() + ["same", "same", "1"]) + "\n")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)["summary"]
    assert summary["program"] == "mine"
    assert [(e["id"], e["response"]) for e in summary["exercises"]] == [("prone-lying", "same"), ("press-up", "same")]
    assert summary["exercises"][1]["reps"] == 2


def test_broken_program_file_is_one_located_sentence(run_cli, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    proc = run_cli("simulate", "--json", "--program", path, stdin="start session\n")
    assert proc.returncode == 2
    no_traceback(proc)
    assert str(path) in proc.stderr and "line" in proc.stderr


def test_simulate_without_a_start_says_so(run_cli):
    proc = run_cli("simulate", "--json", stdin="")
    assert proc.returncode != 0
    no_traceback(proc)
    assert proc.stdout.strip() == ""
    assert "start session" in proc.stderr


def test_bad_voicecoach_now_is_a_sentence(run_cli):
    proc = run_cli("simulate", "--json", stdin="start session\n", now="next tuesday")
    assert proc.returncode == 2
    no_traceback(proc)
    assert "next tuesday" in proc.stderr


@pytest.mark.parametrize("now, expected", [(NOW, "2026-11-20T09:00:00+00:00"),
                                           ("2026-11-21T07:30:00+01:00", "2026-11-21T07:30:00+01:00")])
def test_voicecoach_now_sets_the_start_time(simulate, now, expected):
    out = simulate(["start session", "stop"], now=now)
    assert out["summary"]["started_at"] == expected


# =============================================================================== the README's program

def readme_program() -> str:
    """The custom program example in the README (its only yaml block)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert len(blocks) == 1, "the README should have exactly one yaml example"
    return blocks[0]


def test_the_readme_program_example_checks_ok_and_runs(run_cli, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(readme_program(), encoding="utf-8")
    proc = run_cli("programs", "check", path)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("simulate", "--json", "--program", path,
                   stdin="\n".join(opening() + ["same", "gone from my leg", "2"]) + "\n")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)["summary"]
    assert summary["program"] == "my-extension"
    assert [(e["id"], e["response"]) for e in summary["exercises"]] == [("prone-props", "same"),
                                                                      ("press-up", "centralized")]


def test_the_readme_broken_example_is_what_programs_check_prints(run_cli, tmp_path):
    broken = (readme_program().replace("  - press-up\n", "  - press-ups\n").replace("reps: 8", "reps: eight")
              .replace("rule: progression ", "rule: progresion "))
    (tmp_path / "broken.yaml").write_text(broken, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "voicecoach", "programs", "check", "broken.yaml"],
                          capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 1
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"\$ voicecoach programs check broken.yaml\n(.*?)```", readme, re.S).group(1)
    assert proc.stderr.splitlines() == shown.splitlines()
