"""The progress report and the CSV export, on two weeks of history built with `voicecoach simulate`.

A module fixture runs the real CLI once per simulated session (VOICECOACH_HOME in a temp dir,
VOICECOACH_NOW for the date): fourteen days, in pain at first, a red flag on day 3, a
safety stop on day 4, settled from day 11. The CSV and the report are then checked against
`voicecoach history --json` and against what the script meant to happen.
"""

from __future__ import annotations

import base64
import csv
import html.parser
import io
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from conftest import ROOT, _env, content

FIRST_DAY = date(2026, 11, 2)
DAYS = 14
NOW = "2026-11-15T21:00:00+00:00"
"""The report's "now": the evening of the last day."""


@dataclass
class Planned:
    """One simulated session: when, what the user says, and what the script means to happen."""

    when: datetime
    lines: list[str]
    end_reason: str
    pain: tuple[int | None, int | None] = (None, None)
    location: str | None = None
    responses: list[str] = field(default_factory=list)


def _session(day: int, hour: int, screened: bool, location: str, before: int, answers: list[str],
             after: int, *, start: str = "start extension", end: str = "completed") -> Planned:
    """A session on day `day` (1-based) at `hour`: opening, pain answers, final score."""
    meaning = {"same": "same", "better": "partial", "gone from my leg": "centralized",
               "moved down": "peripheralized", "worse": "worse"}
    when = datetime.fromisoformat(f"{FIRST_DAY + timedelta(days=day - 1)}T{hour:02d}:00:00+00:00")
    lines = [start] + ([] if screened else ["no", "no", "no"]) + [location, "right", str(before)]
    return Planned(when, lines + answers + [str(after)], end, (before, after), location,
                   [meaning[a] for a in answers])


def two_weeks() -> list[Planned]:
    """The scripted fortnight, in order."""
    s: list[Planned] = []
    found = ["same", "same", "gone from my leg"]  # prone lying, prone props: no change; press-up works
    for hour, (loc, before, after) in zip((8, 13, 19), (("thigh", 6, 4), ("thigh", 5, 4), ("buttock", 5, 3))):
        s.append(_session(1, hour, hour != 8, loc, before, found, after))
    for hour, (loc, before, after) in zip((8, 12, 16, 20), (("thigh", 5, 3), ("buttock", 4, 3),
                                                             ("buttock", 4, 2), ("buttock", 3, 2))):
        s.append(_session(2, hour, hour != 8, loc, before, found, after))
    when = datetime.fromisoformat(f"{FIRST_DAY + timedelta(days=2)}T08:00:00+00:00")
    s.append(Planned(when, ["start extension", "no", "yes"], "red_flag"))  # day 3: leg weakness
    # Day 4: worse, down to the calf; two exercises push it down the leg: safety stop.
    s.append(_session(4, 9, False, "calf", 7, ["same", "moved down", "moved down"], 7, end="safety_stop"))
    # Day 5: press-up does not help now, press-up with hips off center does.
    for hour, (before, after) in zip((8, 13), ((6, 4), (5, 3))):
        s.append(_session(5, hour, hour != 8, "thigh", before, ["same", "same", "same", "gone from my leg"], after))
    for day, plan in ((6, (("buttock", 5, 3), ("buttock", 4, 3), ("buttock", 4, 2))),
                      (7, (("buttock", 4, 2), ("back", 3, 2), ("back", 3, 2))),
                      (8, (("back", 3, 2), ("back", 3, 1), ("back", 3, 2))),
                      (9, (("back", 3, 2), ("back", 3, 2))),
                      (10, (("back", 3, 2), ("back", 2, 1)))):
        for i, (loc, before, after) in enumerate(plan):
            s.append(_session(day, 8 + 5 * i, i > 0, loc, before, found, after))
    for day, (before, after) in zip((11, 12, 13), ((2, 1), (1, 1), (1, 0))):  # settled
        s.append(_session(day, 9, False, "back", before, found, after))
    s.append(_session(14, 9, False, "back", 1, ["same"] * 6, 0, start="start stretching"))
    return s


def run(home: Path, *args: str, stdin: str = "", now: str | None = NOW) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], input=stdin, capture_output=True,
                          text=True, env=_env(home, now), cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def fortnight(tmp_path_factory) -> tuple[Path, list[Planned], list[dict]]:
    """(home, the plan, the saved summaries) of two simulated weeks."""
    home = tmp_path_factory.mktemp("fortnight")
    plan = two_weeks()
    for p in plan:
        proc = run(home, "simulate", "--json", stdin="".join(f"{x}\n" for x in p.lines), now=p.when.isoformat())
        assert proc.returncode == 0, proc.stderr
        summary = json.loads(proc.stdout)["summary"]
        assert summary["end_reason"] == p.end_reason, (p, summary)
    proc = run(home, "history", "--json")
    assert proc.returncode == 0, proc.stderr
    return home, plan, json.loads(proc.stdout)


def test_the_history_is_what_the_script_meant(fortnight):
    _, plan, summaries = fortnight
    assert len(summaries) == len(plan) == 28
    for p, s in zip(plan, summaries):
        assert s["started_at"] == p.when.isoformat()
        assert ((s["baseline"] or {}).get("score"), s["pain_after"]) == p.pain
        assert [e["response"] for e in s["exercises"]] == p.responses


# =============================================================================== CSV

def test_history_csv_has_every_session_and_exercise(fortnight):
    home, plan, summaries = fortnight
    proc = run(home, "history", "--csv")
    assert proc.returncode == 0, proc.stderr
    table = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert len(table) == sum(max(1, len(p.responses)) for p in plan)
    by_session: dict[int, list[dict]] = {}
    for row in table:
        by_session.setdefault(int(row["session_id"]), []).append(row)
    assert len(by_session) == len(summaries)
    for s in summaries:
        got = by_session[s["session_id"]]
        baseline = s["baseline"] or {}
        for row in got:
            assert row["started_at"] == s["started_at"] and row["end_reason"] == s["end_reason"]
            assert row["program"] == s["program"]
            assert row["pain_before"] == ("" if baseline.get("score") is None else str(baseline["score"]))
            assert row["pain_after"] == ("" if s["pain_after"] is None else str(s["pain_after"]))
            assert row["pain_location"] == (baseline.get("location") or "")
        if s["exercises"]:
            assert [(r["exercise_seq"], r["exercise_id"], r["response"], r["sets"]) for r in got] == [
                (str(i), e["id"], e["response"], str(e["sets"])) for i, e in enumerate(s["exercises"], 1)]
        else:
            assert len(got) == 1 and got[0]["exercise_id"] == ""
    red = [r for r in table if r["end_reason"] == "red_flag"]
    assert len(red) == 1 and red[0]["stop_detail"] == "screening question 2"
    stops = {r["session_id"] for r in table if r["end_reason"] == "safety_stop"}
    assert len(stops) == 1
    assert {r["stop_detail"] for r in table if r["end_reason"] == "safety_stop"} == {"two_peripheralized"}


def test_history_csv_out_writes_the_same_file(fortnight, tmp_path):
    home, _, _ = fortnight
    out = tmp_path / "history.csv"
    proc = run(home, "history", "--csv", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert out.read_text(encoding="utf-8") == run(home, "history", "--csv").stdout
    assert not list(tmp_path.glob(".*.tmp"))


def test_history_csv_to_an_unwritable_place_is_one_sentence(fortnight, tmp_path):
    home, _, _ = fortnight
    proc = run(home, "history", "--csv", "--out", str(tmp_path / "no" / "such" / "dir.csv"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "Cannot write" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_history_csv_without_sessions_is_just_the_header(tmp_path):
    proc = run(tmp_path, "history", "--csv")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().split(",")[:3] == ["session_id", "started_at", "ended_at"]
    assert len(proc.stdout.strip().splitlines()) == 1


# =============================================================================== report

class Tables(html.parser.HTMLParser):
    """The text of every table cell by table id; the overview's numbers; every <img> src."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.numbers: dict[str, int] = {}
        self.images: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._number: str | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "b" and "data-n" in a:
            self._number = a["data-n"]
        elif tag == "img":
            self.images.append(a.get("src", ""))

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "b":
            self._number = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._number:
            self.numbers[self._number] = int(data)

    def rows(self, table: str) -> list[dict[str, str]]:
        head, *body = self.tables[table]
        return [dict(zip(head, row)) for row in body]


def report(home: Path, out: Path, *args: str, now: str = NOW) -> tuple[str, float]:
    """Run `voicecoach report --out out ARGS`; the page and how long the command took."""
    t0 = time.monotonic()
    proc = run(home, "report", "--out", str(out), *args, now=now)
    took = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out)
    return out.read_text(encoding="utf-8"), took


@pytest.fixture(scope="module")
def page(fortnight, tmp_path_factory) -> tuple[Path, str]:
    """The whole fortnight's report: (file, its HTML)."""
    home, _, _ = fortnight
    out = tmp_path_factory.mktemp("report") / "report.html"
    text, took = report(home, out)
    print(f"\nreport: {len(text) / 1024:.0f} KiB rendered in {took:.2f} s (command, with start-up)")
    return out, text


def day_of(p: Planned) -> str:
    return p.when.date().isoformat()


def test_report_sessions_table_matches_the_history(fortnight, page):
    _, plan, summaries = fortnight
    t = Tables(page[1])
    table = t.rows("sessions")
    assert len(table) == len(summaries) == len(plan)
    for row, s, p in zip(table, summaries, plan):
        started = datetime.fromisoformat(s["started_at"])
        assert (row["date"], row["time"]) == (f"{started:%Y-%m-%d}", f"{started:%H:%M}")
        assert row["pain before"] == ("" if p.pain[0] is None else str(p.pain[0]))
        assert row["pain after"] == ("" if p.pain[1] is None else str(p.pain[1]))
        assert row["pain reached"] == (p.location or "")
        assert [x.split(": ")[1] for x in row["exercises"].split("; ") if x] == p.responses
        assert row["ended"] == p.end_reason.replace("_", " ")
    assert t.numbers == {"sessions": 28, "exercised": 27, "days": 13}


def test_report_sessions_per_day_and_the_rhythm(fortnight, page):
    _, plan, _ = fortnight
    days = Tables(page[1]).rows("days")
    assert [d["date"] for d in days] == [(FIRST_DAY + timedelta(days=i)).isoformat() for i in range(DAYS)]
    for d in days:
        todays = [p for p in plan if day_of(p) == d["date"]]
        assert int(d["sessions started"]) == len(todays)
        assert int(d["sessions done"]) == sum(1 for p in todays if p.responses)
    # Seed 002: 3-4 a day while in pain; once a day after three days in a row at 0-2 (days 11-13).
    assert [d["recommended"] for d in days] == ["3-4"] * 13 + ["1"]
    assert days[2]["sessions done"] == "0"  # the red-flag day


def test_report_dates_every_red_flag_and_safety_stop(page):
    safety = Tables(page[1]).rows("safety")
    lines = content().lines
    assert [(e["date"], e["time"], e["what"]) for e in safety] == [
        ("2026-11-04", "08:00", "red flag"), ("2026-11-05", "09:00", "safety stop"),
        ("2026-11-05", "09:00", "exercise stopped"), ("2026-11-05", "09:00", "exercise stopped")]
    assert lines.get("screening.1") in safety[0]["detail"]
    assert "two exercises in a row" in safety[1]["detail"]
    assert [e["detail"].split(":")[0] for e in safety[2:]] == ["Prone props", "Press-up"]


def test_report_shows_how_the_working_exercise_changed(page):
    working = Tables(page[1]).rows("working")
    assert [(w["date"], w["working exercise"]) for w in working] == [
        ("2026-11-02", "Press-up"), ("2026-11-06", "Press-up with hips off center"), ("2026-11-07", "Press-up")]


def test_report_is_self_contained_with_four_png_charts(page):
    text = page[1]
    images = Tables(text).images
    assert len(images) == 4
    for src in images:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert (width, height) == (900, 320)
    for remote in ("http:", "https:", "<script", "<link", "url(", "src=\"/", "file:"):
        assert remote not in text.lower(), remote


def test_report_days_keeps_only_the_last_days(fortnight, tmp_path):
    home, plan, _ = fortnight
    text, _ = report(home, tmp_path / "week.html", "--days", "7")
    t = Tables(text)
    week = [p for p in plan if p.when.date() >= date(2026, 11, 9)]
    assert len(t.rows("sessions")) == len(week) == t.numbers["sessions"]
    assert [d["date"] for d in t.rows("days")][0] == "2026-11-09" and len(t.rows("days")) == 7
    assert "safety" not in t.tables  # nothing happened that week
    assert len(t.images) == 4


def test_report_of_an_empty_history(tmp_path):
    text, _ = report(tmp_path, tmp_path / "empty.html")
    t = Tables(text)
    assert t.numbers["sessions"] == 0 and t.rows("sessions") == []
    assert len(t.images) == 4


def test_report_bad_days_is_a_usage_error(fortnight, tmp_path):
    home, _, _ = fortnight
    proc = run(home, "report", "--days", "0", "--out", str(tmp_path / "x.html"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.html").exists()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_renders_in_headless_chromium(page, tmp_path):
    exe = _chromium()
    assert exe is not None, "chromium is not installed (apt install chromium; scripts/setup does)"
    import numpy as np
    from PIL import Image

    shot = tmp_path / "report.png"
    proc = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--window-size=1000,1400", f"--screenshot={shot}", page[0].as_uri()],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(np.int32)
    assert pixels.shape[:2] == (1400, 1000)
    assert pixels.std() > 20, "the screenshot is blank"
    # The charts were drawn: the pain chart's orange and blue markers are on screen.
    colours = {tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in ("#ef6c00", "#1565c0")}
    for rgb in colours:
        near = np.abs(pixels - np.array(rgb)).sum(axis=2) < 40
        assert near.sum() > 200, f"no {rgb} pixels: the charts did not render"
