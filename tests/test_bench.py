"""The benchmark (scripts/bench): every installed engine side by side, the phrasing figures, the budgets.

No timing is asserted (the machine is shared): only that each figure is there, is sane, is the
one the budgets and the table use, and that the quick run really recognized clips with every
installed engine and measured turns through the audio path. The live session's script alone:
tests/test_bench_live.py.
"""

import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from bench_fakes import FakeRecording
from voicecoach.bench.budgets import BUDGETS, check_budgets
from voicecoach.bench.corpus import FOLDERS, QUICK_CORPUS, tried_in
from voicecoach.bench.live_session import VOICES
from voicecoach.bench.measure import cut_time, first_audible_after, mic_speech_end
from voicecoach.bench.phrasings import expected, load, score, text_figures
from voicecoach.bench.report import table
from voicecoach.content.answer import shown
from voicecoach.content.phrases import Phrases
from voicecoach.speech.asr import LISTENING
from voicecoach.speech.endpoint import FRAME_MS

ROOT = Path(__file__).resolve().parents[1]


def test_audio_timing_helpers():
    x = np.zeros(3000, np.int16)
    x[500:1000] = 5000  # speech 0.5-1.0 s
    x[1040:1500] = 5000  # a word gap of 40 ms, then more speech until the cut at 1.5 s
    x[1550:2500] = 5000  # the next line, 50 ms after the cut
    rec = FakeRecording(x)
    assert first_audible_after(rec, 100.2) == pytest.approx(100.5)
    assert first_audible_after(rec, 102.6) is None
    assert mic_speech_end(rec, 100.0) == pytest.approx(102.499)
    # the coach cut the line and then sent its barge_in event (1.51 s): silent from 1.5 s
    assert cut_time(rec, 101.2, 101.51) == pytest.approx(101.5)
    # the user's speech ended in the word gap: the last gap before the event still counts
    assert cut_time(rec, 101.01, 101.49) == pytest.approx(101.5)
    # no silence between the end of the speech and the event: not cut (yet)
    assert cut_time(rec, 101.2, 101.3) is None


def _figures(clean, real, phrasings, dangerous=0, unknown=0.0):
    return {"synthetic": {"clean": {"accuracy": clean}, "10dB": {"accuracy": 0.96}},
            "real": {"budget_set": {"accuracy": real}}, "phrasings": {"accuracy": phrasings},
            "dangerous": {"count": dangerous}, "false_accept": {"silence": {"rate": 0.0}, "unknown": {"rate": unknown}}}


def test_budgets_pass_and_fail_on_the_default_engine_only():
    result = {"default_engine": "whisper",
              "accuracy": {"whisper": _figures(0.995, 0.96, 0.91, dangerous=1, unknown=0.1),
                           "pocketsphinx": _figures(0.2, 0.99, 0.1)},
              "text": {"heldout": {"accuracy": 0.94}},
              "live": {"worst_run": {"response_median_s": 0.25, "response_p95_s": 0.6, "barge_in_median_s": 0.1},
                       "idle": {"cpu_percent": 3.0}, "peak_rss_mb": 500.0, "startup": {"warm_median_s": 1.0}}}
    verdict = {b["key"]: b["passed"] for b in check_budgets(result)}
    assert verdict == {
        "accuracy_real": False, "accuracy_synthetic_clean": True, "accuracy_synthetic_10dB": True,
        "accuracy_phrasings_spoken": True, "understanding_phrasings_text": False,
        "dangerous_confusions": False, "false_accept_silence": True, "false_accept_unknown": False,
        "response_median": True, "response_p95": False, "barge_in_median": True, "idle_cpu": True,
        "peak_rss": False, "warm_startup": True}
    result["default_engine"] = "pocketsphinx"  # now the other engine's figures count
    verdict = {b["key"]: b["passed"] for b in check_budgets(result)}
    assert (verdict["accuracy_real"], verdict["accuracy_synthetic_clean"], verdict["accuracy_phrasings_spoken"],
            verdict["dangerous_confusions"]) == (True, False, False, True)
    assert check_budgets({})[0]["passed"] is None  # not measured


@pytest.fixture(scope="module")
def phrases():
    return Phrases.load()


def test_expect_becomes_the_answer_understand_prints(phrases):
    assert expected("idle", "session") == ("start", "session")
    assert expected("idle", "last_session") == ("last_session", None)
    assert expected("pain", "stop") == ("stop", None) and expected("idle", "help") == ("help", None)
    assert expected("number", 7) == ("number", 7) and expected("side", "both") == ("side", "both")
    assert expected("yesno", None) is None
    # on every item of both sets, comparing (kind, value) says what comparing `shown` with expect says
    for name in ("heldout", "tuning"):
        for item in load(name):
            answer = phrases.understand(item["text"], item["context"]).answer
            got = (answer.kind, answer.value) if answer else None
            assert (got == expected(item["context"], item["expect"])) == (shown(answer) == item["expect"]), item


def test_phrasing_score_counts_an_answer_to_nothing_as_a_false_accept():
    rows = [{"expected": ("yesno", "yes"), "got": ("yesno", "yes"), "context": "yesno"},
            {"expected": ("yesno", "yes"), "got": None, "context": "yesno"},
            {"expected": ("yesno", "yes"), "got": ("yesno", "no"), "context": "yesno"},
            {"expected": None, "got": None, "context": "pain"},
            {"expected": None, "got": ("pain", "same"), "context": "pain"}]
    s = score(rows, by="context")
    assert (s["n"], s["correct"], s["rejected"], s["wrong"], s["accuracy"]) == (5, 2, 1, 1, 0.4)
    assert s["false_accept"] == {"n": 2, "accepted": 1, "rate": 0.5}
    assert s["by_context"]["pain"]["accuracy"] == 0.5 and s["by_context"]["yesno"]["correct"] == 1


def test_text_figure_is_what_voicecoach_understand_prints(phrases):
    figures = text_figures(phrases)
    items = load("heldout")
    assert figures["heldout"]["n"] == len(items) == 332 and figures["tuning"]["n"] == len(load("tuning")) == 1985
    for name in ("heldout", "tuning"):
        f = figures[name]
        assert sum(t["n"] for t in f["by_context"].values()) == f["n"]
        assert f["false_accept"]["n"] == sum(1 for i in load(name) if i["expect"] is None)
        assert len(f["misses"]) == f["n"] - f["correct"]
    # the pain items (the most), through the command itself
    pain = [i for i in items if i["context"] == "pain"]
    res = subprocess.run([sys.executable, "-m", "voicecoach", "understand", "--expect", "pain", "--json"],
                         input="\n".join(i["text"] for i in pain) + "\n", capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    printed = [json.loads(line)["answer"] for line in res.stdout.splitlines()]
    assert len(printed) == len(pain)
    right = sum(p == i["expect"] for p, i in zip(printed, pain))
    by_pain = figures["heldout"]["by_context"]["pain"]
    assert (by_pain["n"], by_pain["correct"]) == (len(pain), right)
    missed = {m["text"] for m in figures["heldout"]["misses"] if m["context"] == "pain"}
    assert missed == {i["text"] for p, i in zip(printed, pain) if p != i["expect"]}


def test_make_corpus_speaks_a_sample_of_phrasings_spread_over_contexts(tmp_path):
    items = tmp_path / "items.yaml"
    items.write_text("- {context: yesno, text: 'yes please', expect: 'yes'}\n"
                     "- {context: yesno, text: 'no thanks', expect: 'no'}\n"
                     "- {context: pain, text: 'about the same', expect: same}\n"
                     "- {context: number, text: 'a seven', expect: 7}\n"
                     "- {context: pain, text: 'what day is it', expect: null}\n")
    out = tmp_path / "corpus"
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "make-corpus"), str(out), "--voices", "",
                          "--snr", "", "--phrasings", str(items), "--phrasing-voices", "espeak-us,flite-slt",
                          "--phrasing-sample", "3"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    rows = json.loads((out / "corpus.json").read_text())
    assert len(rows) == 6 and {r["source"] for r in rows} == {"phrasing"}
    assert {r["voice"] for r in rows} == {"espeak-us", "flite-slt"}
    said = {(r["context"], r["text"], r["expect"]) for r in rows}
    assert len(said) == 3 and {c for c, _, _ in said} == {"yesno", "pain", "number"}  # one per context
    assert ("number", "a seven", 7) in said
    for r in rows:
        with wave.open(str(out / r["file"])) as w:
            x = np.frombuffer(w.readframes(w.getnframes()), np.int16)
        assert len(x) > 0.3 * w.getframerate() and np.abs(x).max() > 1000, r

    # --phrasing-rotate: each item by one voice, in turn (the clips already made are reused)
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "make-corpus"), str(out), "--voices", "",
                          "--snr", "", "--phrasings", str(items), "--phrasing-voices", "espeak-us,flite-slt",
                          "--phrasing-sample", "3", "--phrasing-rotate"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    rows = json.loads((out / "corpus.json").read_text())
    assert [r["voice"] for r in rows] == ["espeak-us", "espeak-us", "flite-slt"] and len({r["text"] for r in rows}) == 3


def test_real_clips_are_tried_where_they_are_answers_and_in_turn_elsewhere():
    left = FOLDERS["left"]  # side: an answer; yesno, number: none may be given
    assert [tried_in(left, i, 2) for i in range(2)] == [{"side": ("side", "left"), "yesno": None},
                                                        {"side": ("side", "left"), "number": None}]
    stop = FOLDERS["stop"]  # an answer everywhere: two of the four contexts in turn
    assert [sorted(tried_in(stop, i, 2)) for i in range(2)] == [["idle", "yesno"], ["number", "pain"]]
    unknown = FOLDERS["_unknown_"]
    assert set().union(*(tried_in(unknown, i, 2) for i in range(4))) == set(unknown)  # every context in 4 clips
    assert tried_in(left, 0, None) == left


def _fraction(x):
    return x is not None and 0.0 <= x <= 1.0


def _check_engine(acc: dict, engine: str) -> None:
    """One engine's figures: every part measured, consistent, and recognized by this engine."""
    assert acc["engine"] == engine
    n_jobs = sum(acc["clips"].values())
    assert acc["heard_by"] == {engine: n_jobs}, acc["heard_by"]  # Heard.engine of every clip
    assert acc["clips"]["synthetic"] > 0 and acc["clips"]["real"] > 0 and acc["clips"]["phrasing"] > 0
    for cond in ("clean", "20dB", "10dB"):
        assert acc["synthetic"][cond]["n"] > 0 and _fraction(acc["synthetic"][cond]["accuracy"])
    for context, row in acc["by_context"].items():
        for cell in row.values():
            assert cell["n"] == 0 or _fraction(cell["accuracy"]), (context, cell)
    assert _fraction(acc["real"]["budget_set"]["accuracy"]) and _fraction(acc["real"]["other"]["accuracy"])
    for name in ("silence", "unknown", "out_of_context_real", "out_of_context_synthetic"):
        assert acc["false_accept"][name]["n"] > 0 and _fraction(acc["false_accept"][name]["rate"])
    ph = acc["phrasings"]
    voices = QUICK_CORPUS["phrasing_voices"].split(",")
    assert ph["n"] == QUICK_CORPUS["phrasing_sample"] * (1 if QUICK_CORPUS["phrasing_rotate"] else len(voices))
    assert set(ph["by_voice"]) == set(voices)
    assert _fraction(ph["accuracy"]) and ph["correct"] + ph["rejected"] + ph["wrong"] + ph["false_accept"]["accepted"] == ph["n"]
    assert sum(t["n"] for t in ph["by_context"].values()) == ph["n"] == sum(t["n"] for t in ph["by_voice"].values())
    assert len(ph["misses"]) == ph["n"] - ph["correct"]
    d = acc["dangerous"]
    assert d["count"] == d["synthetic"] + d["real"] + d["phrasing"]
    assert acc["confusion"]["synthetic"] and acc["confusion"]["real"] and acc["confusion"]["phrasing"]
    assert acc["processing_ms"]["median"] > 0
    right = acc["real"]["all"]["correct"] + sum(acc["synthetic"][c]["correct"] for c in ("clean", "20dB", "10dB"))
    assert right > 0, f"{engine} recognized nothing right"


def _verdicts(stdout: str) -> dict[str, str]:
    """Budget row of the table -> its verdict (the rows that end with PASS, FAIL or not measured)."""
    verdicts = {}
    for line in stdout.splitlines():
        for v in ("PASS", "FAIL", "not measured"):
            if line.endswith(" " + v):
                verdicts[line[:-len(v)].rstrip()] = v
    return verdicts


@pytest.mark.real_time  # its live part runs the coach on virtual devices: run alone (scripts/test)
def test_quick_benchmark_reports_every_engine_side_by_side(tmp_path):
    from voicecoach.speech.asr_vosk import find_vosk_model
    from voicecoach.speech.engines import load_recognizer

    out = tmp_path / "bench.json"
    res = subprocess.run([str(ROOT / "scripts" / "bench"), "--quick", "--json", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=400)
    assert res.returncode == 0, res.stderr[-3000:]
    data = json.loads(out.read_text())
    assert table(data) == res.stdout.rstrip("\n")
    assert data["machine"]["cores"] >= 1 and data["machine"]["cpu_model"]
    budgets = {b["key"]: b for b in data["budgets"]}
    assert set(budgets) == {b[0] for b in BUDGETS}
    assert all(isinstance(b["passed"], bool) for b in budgets.values()), budgets  # every budget measured
    verdicts = _verdicts(res.stdout)
    assert len(verdicts) == len(BUDGETS)
    assert sorted(verdicts.values()) == sorted("PASS" if b["passed"] else "FAIL" for b in budgets.values())

    rec = load_recognizer(Phrases.load())
    default = rec.engine
    rec.close()
    engines = {e["engine"]: e for e in data["engines"]}
    assert set(engines) == {"whisper", "pocketsphinx", "vosk"}
    assert data["default_engine"] == default and [e for e in engines if engines[e]["default"]] == [default]
    assert engines["pocketsphinx"]["installed"]
    assert engines["vosk"]["installed"] == (find_vosk_model() is not None)
    installed = [e for e in engines if engines[e]["installed"]]
    assert set(data["accuracy"]) == set(installed)
    header = next(line for line in res.stdout.splitlines() if line.startswith("figure"))
    assert all(e in header for e in engines)
    if not engines["vosk"]["installed"]:
        assert "not installed (no English model)" in res.stdout

    for engine in installed:
        _check_engine(data["accuracy"][engine], engine)
    clips = [data["accuracy"][e]["clips"] for e in installed]
    assert all(c == clips[0] for c in clips), clips  # the same corpus for every engine
    acc = data["accuracy"][default]
    ps = data["accuracy"]["pocketsphinx"]
    first = ps["first_choice"]  # a ceiling: every accepted answer is its utterance's first choice
    for cond in ("clean", "20dB", "10dB"):
        assert first["synthetic"][cond]["correct"] >= ps["synthetic"][cond]["correct"]
    assert first["real_budget_set"]["correct"] >= ps["real"]["budget_set"]["correct"]
    assert all("first_choice" not in data["accuracy"][e] for e in installed if e != "pocketsphinx")
    top = data["accuracy"]["whisper"]["ceiling"]  # Whisper's: what its evidence could give at best
    wh = data["accuracy"]["whisper"]
    for cond in ("clean", "20dB", "10dB"):
        assert top["synthetic"][cond]["n"] == wh["synthetic"][cond]["n"]
        assert top["synthetic"][cond]["correct"] >= wh["synthetic"][cond]["correct"]
    assert top["phrasings"]["correct"] >= wh["phrasings"]["correct"] and top["phrasings"]["n"] == wh["phrasings"]["n"]
    assert all("ceiling" not in data["accuracy"][e] for e in installed if e != "whisper")

    text = data["text"]
    assert text["heldout"]["n"] == 332 and text["tuning"]["n"] == 1985 and _fraction(text["heldout"]["accuracy"])
    assert f"{100 * text['heldout']['accuracy']:.1f}%" in next(line for line in res.stdout.splitlines()
                                                                if line.startswith("phrasings in text, held-out"))

    live = data["live"]
    assert "error" not in live, live["error"]
    # the coach ran on the server's default devices, which were our virtual ones; both patient voices spoke
    assert live["default_devices"] == {"sink": "vcbench_speaker", "source": "vcbench_mic"}
    assert live["coach_command"].endswith("--input pulse --output pulse") and live["coach_command"] in res.stdout
    assert [r["run"] for r in live["runs"]] == [0] and not live["runs"][0]["error"]
    assert {t["voice"] for t in live["turns"]} == set(VOICES) == set(live["by_voice"])
    assert all(x["run"] == 0 for x in [*live["turns"], *live["barge_ins"]])
    assert live["response"]["n"] >= 3, live["notes"]
    for t in live["turns"]:  # through the audio path: heard by the coach, then audible at the speaker
        assert t["heard"] and 0 < t["recognized_s"] < t["latency_s"] and 0 < t["output_s"] < 2, t
    assert 0 < live["response"]["median_s"] <= live["response"]["p95_s"] < 10
    assert live["barge_in"]["n"] >= 1, live["notes"]
    # a barge-in follows the word said; its check may end it before the word's last sound, which barge-in lets
    # come within resume_frames (flite's "pau... s": the event came 11 ms before the bench's end-of-speech mark)
    early_s = LISTENING[True]["resume_frames"] * FRAME_MS / 1000
    assert all(-early_s < b["event_s"] and b["heard"] for b in live["barge_ins"] if not b["missed"]), live["barge_ins"]
    assert 0 < live["barge_in"]["median_s"] < 10
    assert {"heard", "say", "barge_in", "listening"} <= {e["event"] for e in live["events"]}
    assert 0 <= live["idle"]["cpu_percent"] < 200 and 0 <= live["session"]["cpu_percent"] < 200
    assert 20 < live["peak_rss_mb"] < 10_000
    assert 0 < live["startup"]["warm_median_s"] < 120

    figures = {"accuracy_real": acc["real"]["budget_set"]["accuracy"],
               "accuracy_synthetic_clean": acc["synthetic"]["clean"]["accuracy"],
               "accuracy_synthetic_10dB": acc["synthetic"]["10dB"]["accuracy"],
               "accuracy_phrasings_spoken": acc["phrasings"]["accuracy"],
               "understanding_phrasings_text": text["heldout"]["accuracy"],
               "dangerous_confusions": acc["dangerous"]["count"],
               "false_accept_silence": acc["false_accept"]["silence"]["rate"],
               "false_accept_unknown": acc["false_accept"]["unknown"]["rate"],
               "response_median": live["worst_run"]["response_median_s"],
               "response_p95": live["worst_run"]["response_p95_s"],
               "barge_in_median": live["worst_run"]["barge_in_median_s"], "peak_rss": live["peak_rss_mb"],
               "idle_cpu": live["idle"]["cpu_percent"], "warm_startup": live["startup"]["warm_median_s"]}
    assert {k: b["value"] for k, b in budgets.items()} == figures
    assert live["worst_run"]["response_median_s"] == live["response"]["median_s"]  # one run: the pooled figures


def test_the_corpus_is_made_again_only_when_what_it_speaks_changes(tmp_path):
    """The corpus is keyed by the phrase file's sentences and meanings, not its bytes: a rule or a comment edited
    keeps it (piper would speak every clip differently), a sentence added makes it again."""
    from voicecoach.bench.corpus import spoken_phrases
    from voicecoach.content.programs import prompts_dir

    text = (prompts_dir() / "phrases.yaml").read_text()
    assert "\nfull_pause: [yesno" in text and "|pardon|" in text
    ruled, said = tmp_path / "ruled.yaml", tmp_path / "said.yaml"
    ruled.write_text("# a comment\n" + text.replace("\nfull_pause: [yesno", "\nfull_pause: [number, yesno"))
    said.write_text(text.replace("|pardon|", "|pardon|pardon me|"))
    assert spoken_phrases(ruled) == spoken_phrases() != spoken_phrases(said)
    assert b"pardon me" in spoken_phrases(said)
