"""The benchmark (scripts/bench): its quick run works end to end and reports every figure.

No timing is asserted (the machine is shared): only that each figure is there, is sane, and
that the quick run really recognized clips and measured turns through the audio path.
"""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from voicecoach.bench.measure import cut_time, first_audible_after, mic_speech_end
from voicecoach.bench.report import BUDGETS, check_budgets, table

ROOT = Path(__file__).resolve().parents[1]


class FakeRecording:
    """A Recording whose sample i arrived at t0 + i / rate."""

    def __init__(self, x, rate=1000, t0=100.0):
        self.x, self.rate, self.t0 = np.asarray(x, np.int16), rate, t0

    def samples(self):
        return self.x

    def time_of(self, i):
        return self.t0 + i / self.rate

    def index_at(self, t):
        return int(round((t - self.t0) * self.rate))


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


def test_budgets_pass_and_fail():
    result = {"accuracy": {"synthetic": {"clean": {"accuracy": 0.995}, "10dB": {"accuracy": 0.5}},
                           "real": {"budget_set": {"accuracy": 0.96}}, "dangerous": {"count": 1},
                           "false_accept": {"silence": {"rate": 0.0}, "unknown": {"rate": 0.1}}},
              "live": {"response": {"median_s": 0.25, "p95_s": 0.6}, "barge_in": {"median_s": 0.1},
                       "idle": {"cpu_percent": 3.0}, "peak_rss_mb": 500.0, "startup": {"warm_median_s": 1.0}}}
    verdict = {b["key"]: b["passed"] for b in check_budgets(result)}
    assert verdict == {
        "accuracy_synthetic_clean": True, "accuracy_synthetic_10dB": False, "accuracy_real": True,
        "dangerous_confusions": False, "false_accept_silence": True, "false_accept_unknown": False,
        "response_median": True, "response_p95": False, "barge_in_median": True, "idle_cpu": True,
        "peak_rss": False, "warm_startup": True}
    assert check_budgets({})[0]["passed"] is None  # not measured


def _fraction(x):
    return x is not None and 0.0 <= x <= 1.0


def test_quick_benchmark_reports_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    res = subprocess.run([str(ROOT / "scripts" / "bench"), "--quick", "--json", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=840)
    assert res.returncode == 0, res.stderr[-3000:]
    data = json.loads(out.read_text())
    assert "Budgets:" in res.stdout and res.stdout.count("PASS") + res.stdout.count("FAIL") == len(BUDGETS)
    assert table(data).splitlines()[0] == res.stdout.splitlines()[0]
    assert data["machine"]["cores"] >= 1 and data["machine"]["cpu_model"]
    assert data["engine"]["engine"] in ("pocketsphinx", "vosk")

    acc = data["accuracy"]
    assert acc["clips"]["synthetic"] > 0 and acc["clips"]["real"] > 0
    for cond in ("clean", "20dB", "10dB"):
        assert acc["synthetic"][cond]["n"] > 0 and _fraction(acc["synthetic"][cond]["accuracy"])
    for context, row in acc["by_context"].items():
        for cell in row.values():
            assert cell["n"] == 0 or _fraction(cell["accuracy"]), (context, cell)
    assert acc["synthetic"]["clean"]["correct"] > 0, "the quick run recognized nothing"
    assert acc["real"]["all"]["correct"] > 0
    assert _fraction(acc["real"]["budget_set"]["accuracy"])
    for name in ("silence", "unknown", "out_of_context_real", "out_of_context_synthetic"):
        assert acc["false_accept"][name]["n"] > 0 and _fraction(acc["false_accept"][name]["rate"])
    assert acc["dangerous"]["count"] >= 0
    assert acc["confusion"]["synthetic"] and acc["confusion"]["real"]
    assert acc["processing_ms"]["median"] > 0
    first = acc["first_choice"]  # a ceiling: every accepted answer is its utterance's first choice
    for cond in ("clean", "20dB", "10dB"):
        assert first["synthetic"][cond]["correct"] >= acc["synthetic"][cond]["correct"]
    assert first["real_budget_set"]["correct"] >= acc["real"]["budget_set"]["correct"]
    assert first["false_accept"]["unknown"]["accepted"] >= acc["false_accept"]["unknown"]["accepted"]
    assert first["synthetic"]["clean"]["correct"] > 0

    live = data["live"]
    assert live["response"]["n"] >= 3, live["notes"]
    assert all(t["latency_s"] > 0 for t in live["turns"])
    assert 0 < live["response"]["median_s"] <= live["response"]["p95_s"] < 10
    assert live["barge_in"]["n"] >= 1, live["notes"]
    assert 0 < live["barge_in"]["median_s"] < 10
    assert 0 <= live["idle"]["cpu_percent"] < 200 and 0 <= live["session"]["cpu_percent"] < 200
    assert 20 < live["peak_rss_mb"] < 10_000
    assert 0 < live["startup"]["cold_s"] < 120 and 0 < live["startup"]["warm_median_s"] < 120
    assert live["memory_breakdown"]["total_mb"] > 0

    budgets = {b["key"]: b for b in data["budgets"]}
    assert set(budgets) == {b[0] for b in BUDGETS}
    assert all(isinstance(b["passed"], bool) for b in budgets.values()), budgets
