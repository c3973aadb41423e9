"""The live benchmark without audio: bounded waits, a session that follows the coach in two voices,
and the figures, budgets and report of several runs.

A scripted stand-in for `voicecoach run --events` (tests/bench_fakes.py) hears every "pause" in time
or only after its line has ended, as on a slow machine: the session must resume, keep its attempts
bounded and end. Made-up turns of three runs in two voices (bench_fakes.live_result) check that the
budgets judge the worst run and that the report shows it with the spread. The real audio path is
tested by tests/test_bench.py's quick run.
"""

import queue
import time

import pytest

from bench_fakes import ScriptedCoach, ScriptedPatient, live_result
from voicecoach.bench import live
from voicecoach.bench.budgets import check_budgets
from voicecoach.bench.live_coach import CoachProcess, LiveTimeout
from voicecoach.bench.live_report import LIVE_ROWS, live_header, live_notes
from voicecoach.bench.live_session import SAY, VOICES, Session
from voicecoach.bench.live_stats import summarize
from voicecoach.bench.report import one_table

FLITE, ESPEAK = list(VOICES)


def test_a_wait_past_the_deadline_says_what_it_waited_for():
    coach = CoachProcess.__new__(CoachProcess)  # no process: only the event queue
    coach._lines, coach.events, coach.state, coach.ended, coach.waiting_for = queue.Queue(), [], "screening", False, ""
    coach.deadline = time.monotonic() + 0.3
    coach._lines.put('{"event": "say", "state": "screening", "t": 1.0, "text": "Any numbness?"}\n')
    t = time.monotonic()
    with pytest.raises(LiveTimeout, match="a barge-in.*'screening'.*Any numbness"):
        coach.wait_for(lambda e: e["event"] == "barge_in", 30, "a barge-in")
    assert time.monotonic() - t < 2


def test_the_peak_rss_rise_says_what_the_coach_was_doing(monkeypatch):
    """A peak RSS that rises between two samples is kept with the coach's events of that time (a spike shorter
    than the 0.25 s samples of RSS was seen once, with nothing to tell its cause); a small rise is not."""
    coach = CoachProcess.__new__(CoachProcess)  # no process: /proc figures given
    coach.t0, coach._sampled_at, coach.peak_rss_mb, coach.max_rss_mb, coach.peak_rose = 100.0, 100.0, 0.0, 0.0, None
    coach.events = [{"event": "say", "state": "introducing", "t": 110.0, "text": "Lie face down."},
                    {"event": "heard", "state": "exercising", "t": 111.9, "text": "it's the same"},
                    {"event": "say", "state": "exercising", "t": 112.2, "text": "Eight."}]
    figures = iter([(300.0, 350.0), (300.0, 352.0), (310.0, 461.0), (300.0, 463.0)])
    monkeypatch.setattr(coach, "pids", lambda: [1])
    monkeypatch.setattr("builtins.open", lambda *a, **k: __import__("io").StringIO(
        "VmRSS:\t{} kB\nVmHWM:\t{} kB\n".format(*(int(1024 * x) for x in next(figures)))))
    for now in (105.0, 111.75, 112.0, 112.25):
        monkeypatch.setattr("voicecoach.bench.live_coach.time.monotonic", lambda now=now: now)
        coach.memory()
    assert coach.peak_rise() == {"mb": 463, "from_s": 11.75, "to_s": 12.0, "events": [
        "heard (exercising) it's the same"]}
    out = {"sessions": [{"run": 0, "peak_rss_rise": coach.peak_rise()}]}
    assert live_notes(out)[-1] == ("Peak RSS last raised (run: MB, seconds from its start, the coach's events then): "
                                   "1) 463 MB at 11.8-12.0 s: heard (exercising) it's the same")


@pytest.mark.parametrize("late", [False, True])
def test_the_session_follows_the_coach_and_ends(late, monkeypatch):
    """A stand-in coach that hears every "pause" only after its line has ended (late) or over it: the
    script still resumes, keeps its attempts bounded, and measures the barge-ins it could."""
    coach = ScriptedCoach(late_barge_in=late)
    monkeypatch.setattr("voicecoach.bench.live_session.time", coach.clock)
    session = Session(coach, ScriptedPatient(coach), coach.speaker)
    result = session.run(idle_turns=2, pause_cycles=2)
    assert len(session.turns) >= 3 and all(t["latency_s"] > 0 for t in session.turns)
    assert all(x["run"] == 0 for x in [*session.turns, *session.barge_ins])
    # every turn said is measured here: the voices take turns, and so do the barge-ins
    assert [t["voice"] for t in session.turns] == [FLITE, ESPEAK] * (len(session.turns) // 2) + [FLITE] * (len(session.turns) % 2)
    assert [b["voice"] for b in session.barge_ins][:2] == [FLITE, ESPEAK]
    pauses = [b for b in session.barge_ins if b["said"] in SAY["pause"]]
    if late:
        assert result["pause_cycles"] == 0 and result["pause_attempts"] == 6 and all(b["missed"] for b in pauses)
        assert len(pauses) == 6 and sum("after the line ended" in n for n in session.notes) == 6 + 1  # and the stop
    else:
        assert result["pause_cycles"] == 2 and all(b["latency_s"] > 0 for b in session.barge_ins)
    assert session.barge_ins[-1]["said"] in SAY["stop"] and coach.state == "ended"


def test_each_voice_keeps_its_own_phrasing(monkeypatch):
    """espeak's "repeat that" is not understood: espeak says "pardon" from then on, flite keeps "repeat that";
    a second run starts its turn-taking with the other voice."""
    coach = ScriptedCoach(deaf=frozenset({(ESPEAK, "repeat that")}))
    monkeypatch.setattr("voicecoach.bench.live_session.time", coach.clock)
    session = Session(coach, ScriptedPatient(coach), coach.speaker)
    session.run(idle_turns=5, pause_cycles=1)
    second = ScriptedCoach()
    monkeypatch.setattr("voicecoach.bench.live_session.time", second.clock)
    other = Session(second, ScriptedPatient(second), second.speaker, run_index=1)
    other.run(idle_turns=1, pause_cycles=1)
    idle = [(t["voice"], t["said"]) for t in session.turns if t["state"] == "idle"]
    assert {s for v, s in idle if v == FLITE} == {"repeat that"} and {s for v, s in idle if v == ESPEAK} == {"pardon"}
    assert session.rejected == {f"{ESPEAK}: repeat that": 1}
    assert session.notes == [f"'repeat that' ({ESPEAK}) was not understood"]
    assert other.turns[0]["voice"] == ESPEAK and other.barge_ins[0]["voice"] == ESPEAK
    assert all(x["run"] == 1 for x in [*other.turns, *other.barge_ins])


RESPONSE = {0: [360, 368, 370, 380, 420], 1: [300, 310, 389, 400, 480], 2: [250, 260, 368, 600, 700]}
BARGE_IN = {0: [150, 180, None], 1: [120, 190], 2: [199, 100, 140]}


def _summarized(response=RESPONSE, barge_in=BARGE_IN, errors=None) -> dict:
    out = live_result(response, barge_in, errors=errors)
    summarize(out)
    return out


def test_three_runs_in_two_voices_are_summed_up_per_run_per_voice_and_pooled():
    out = _summarized()
    ms = lambda x: round(1000 * x) if x is not None else None  # noqa: E731
    assert [(ms(r["response"]["median_s"]), ms(r["response"]["p95_s"]), ms(r["barge_in"]["median_s"]),
             r["response"]["n"], r["barge_in"]["n"], r["barge_in"]["attempts"]) for r in out["runs"]] == [
        (370, 412, 165, 5, 2, 3), (389, 464, 155, 5, 2, 2), (368, 680, 140, 5, 3, 3)]
    assert {k: ms(v) for k, v in out["worst_run"].items()} == {
        "response_median_s": 389, "response_p95_s": 680, "barge_in_median_s": 165}
    assert {k: ms(v) for k, v in out["best_run"].items()} == {
        "response_median_s": 368, "response_p95_s": 412, "barge_in_median_s": 140}
    assert (ms(out["response"]["median_s"]), out["response"]["n"]) == (370, 15)  # pooled, as before
    assert (out["barge_in"]["n"], out["barge_in"]["attempts"], out["barge_in"]["missed"]) == (7, 8, 1)
    by_voice = {v: (ms(f["response"]["median_s"]), f["response"]["n"], f["barge_in"]["n"])
                for v, f in out["by_voice"].items()}
    assert by_voice == {FLITE: (370, 9, 4), ESPEAK: (374, 6, 3)}
    assert out["session"]["seconds"] == 180.0 and out["session"]["cpu_percent"] == pytest.approx(11.0)
    assert out["peak_rss_mb"] == 302.0 and out["startup"]["warm_median_s"] == 1.5


def test_the_latency_budgets_judge_the_worst_run():
    """Pooled, the response median passes (280 ms); the third run's (320 ms) does not: FAIL."""
    out = _summarized({0: [240, 250, 260], 1: [270, 280, 290], 2: [310, 320, 330]}, {0: [150], 1: [160], 2: [170]})
    assert round(1000 * out["response"]["median_s"]) == 280
    verdict = {b["key"]: (b["passed"], b["shown"]) for b in check_budgets({"live": out})}
    assert verdict["response_median"] == (False, "320 ms") and verdict["response_p95"] == (True, "329 ms")
    assert verdict["barge_in_median"] == (True, "170 ms")
    assert verdict["warm_startup"] == (True, "1.50 s") and verdict["idle_cpu"][0] is True


def test_the_report_shows_the_worst_run_and_the_spread():
    out = _summarized()
    result = {"live": out, "budgets": check_budgets({"live": out})}
    cells = {label: cell(out) for label, cell, _ in LIVE_ROWS}
    assert cells["response latency, median (worst run)"] == "389 ms worst of 3 (368-389), 15 turns"
    assert cells["response latency, p95 (worst run)"] == "680 ms worst of 3 (412-680), 15 turns"
    assert cells["barge-in latency, median (worst run)"] == "165 ms worst of 3 (140-165), 7 of 8"
    lines = one_table(result)
    budget_at = {line.index("<= ") for line in lines if "<= " in line}
    assert budget_at == {lines[0].index("budget")}  # the long cells do not push the budget column
    assert any(line.startswith("response latency, median (worst run)") and line.endswith("FAIL") for line in lines)
    notes = live_notes(out)
    assert "Runs (response median / p95, barge-in median): 1) 370 ms / 412 ms, 165 ms (5 turns, 2 of 3 barge-ins); " \
           "2) 389 ms / 464 ms, 155 ms (5 turns, 2 of 2 barge-ins)" in notes[0]
    assert notes[1] == (f"By patient voice (all runs): {FLITE} response median 370 ms /9 turns, barge-in median 145 ms "
                        f"/4 of 5; {ESPEAK} response median 374 ms /6 turns, barge-in median 180 ms /3 of 3")
    assert live_header(out) == ["Live coach: voicecoach run --input pulse --output pulse (the PulseAudio server's "
                                "default devices: our virtual speaker and mic); 3 runs, each a warm start-up and a session"]


def test_a_failed_run_is_reported_and_the_others_kept():
    out = _summarized({0: RESPONSE[0], 1: [300], 2: RESPONSE[2]}, {0: BARGE_IN[0], 2: BARGE_IN[2]},
                      errors={1: "LiveTimeout: past the deadline"})
    assert [r["error"] for r in out["runs"]] == [None, "LiveTimeout: past the deadline", None]
    assert round(1000 * out["worst_run"]["barge_in_median_s"]) == 165  # of the two runs that timed one
    cells = {label: cell(out) for label, cell, _ in LIVE_ROWS}
    assert cells["barge-in latency, median (worst run)"] == "165 ms worst of 2/3 (140-165), 5 of 6"
    assert cells["response latency, median (worst run)"] == "370 ms worst of 3 (300-370), 11 turns"
    assert "2) FAILED (LiveTimeout: past the deadline); before: 300 ms / 300 ms, n/a (1 turns, 0 of 0 barge-ins)" \
        in live_notes(out)[0]


def test_one_run_reads_as_before():
    out = _summarized({0: RESPONSE[0]}, {0: BARGE_IN[0]})
    cells = {label: cell(out) for label, cell, _ in LIVE_ROWS}
    assert cells["response latency, median (worst run)"] == "370 ms /5 turns"
    assert cells["barge-in latency, median (worst run)"] == "165 ms /2 of 3"
    assert not live_notes(out)[0].startswith("Runs") and live_notes(out)[0].startswith("By patient voice: ")


def test_the_runs_go_on_after_one_fails(monkeypatch, tmp_path):
    """_measure: a run that goes off the script or past its deadline is noted; the next runs are measured."""
    def fake_run(audio, work, root, cache, plan, n, out, part, log, logs):
        out["startup"]["warm_s"].append(1.0 + n)
        out["turns"].append({"said": "repeat", "voice": FLITE, "run": n, "latency_s": 0.3})
        if n == 1:
            raise LiveTimeout("past the deadline")
        part.update(seconds=10.0, cpu_percent=20.0)

    monkeypatch.setattr(live, "_run", fake_run)
    monkeypatch.setattr(live, "use_as_default", lambda audio: {"sink": "speaker", "source": "mic"})
    out: dict = {}
    live._measure(None, tmp_path, tmp_path, tmp_path, live.LivePlan(cold_start=False), out, log=lambda msg: None)
    summarize(out)
    assert [r["error"] for r in out["runs"]] == [None, "LiveTimeout: past the deadline", None]
    assert len(out["turns"]) == 3 and out["startup"]["warm_median_s"] == 2.0 and out["session"]["seconds"] == 20.0
