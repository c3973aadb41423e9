"""The benchmark (`scripts/bench`): every installed engine's recognition accuracy side by side, the
everyday phrasings understood in text, and the default engine's response and barge-in latency, CPU,
memory and start-up, printed as one table with pass/fail against the budgets of issue 13.

- :mod:`.corpus`: the clips (synthetic corpus and spoken phrasings from scripts/make-corpus, real recordings);
- :mod:`.recognize`: the installed engines, and a pool of `voicecoach hear`'s code per engine;
- :mod:`.accuracy`: each engine's figures; :mod:`.phrasings`: the phrasing sets and the text figure;
- :mod:`.live`: `voicecoach run --input pulse --output pulse` on a PulseAudio server of the benchmark's own
  whose default devices are virtual, a patient in two voices (flite, espeak-ng), 3 runs judged on the worst
  (:mod:`.live_coach`, :mod:`.live_session`, :mod:`.live_stats`, :mod:`.measure`);
- :mod:`.budgets`: the budgets and their verdicts; :mod:`.causes`: what the figures say about a budget missed;
- :mod:`.report`, :mod:`.live_report`: the table and the JSON.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path

import platformdirs


def default_work_dir() -> Path:
    """Where corpora, the warm TTS cache and patient clips are kept between runs."""
    env = os.environ.get("VOICECOACH_BENCH_DIR", "").strip()
    return Path(env) if env else Path(platformdirs.user_cache_dir("voicecoach")) / "bench"


def default_workers() -> int:
    """Recognizer processes: $VOICECOACH_BENCH_WORKERS, else 2 (one per core of the reference machine)."""
    try:
        return max(1, int(os.environ.get("VOICECOACH_BENCH_WORKERS", "") or 2))
    except ValueError:
        return 2


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (how busy the shared machine is)."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def machine() -> dict:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu_model": model, "system": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "load_start": load_average()}


def coach_voice() -> str:
    try:
        from ..speech.tts import default_model
        return f"piper {default_model().stem}"
    except Exception as exc:  # noqa: BLE001 - only a label
        return f"unavailable ({exc})"


def run(quick: bool = False, work: Path | None = None, accuracy: bool = True, live: bool = True,
        workers: int = 2, log=None) -> dict:
    """Run the benchmark; every figure as one dict (``budgets`` included)."""
    from .accuracy import run_accuracy
    from .budgets import check_budgets
    from .causes import causes
    from .live import LivePlan, run_live

    t0 = time.monotonic()
    log = log or (lambda msg: print(f"bench [{time.monotonic() - t0:4.0f} s]: {msg}", file=sys.stderr, flush=True))
    work = Path(work or default_work_dir())
    work.mkdir(parents=True, exist_ok=True)
    result: dict = {"quick": quick, "date": datetime.now().astimezone().isoformat(timespec="seconds"),
                    "machine": machine(), "coach_voice": coach_voice(), "timings_s": {}}
    if accuracy:
        from ..content.phrases import Phrases
        from .phrasings import text_figures

        phrases = Phrases.load()
        result["text"] = text_figures(phrases)
        part = run_accuracy(work, quick, workers, log, phrases)
        result.update(engines=part["engines"], default_engine=part["default_engine"], accuracy=part["accuracy"])
        result["engine"] = next({"engine": e["engine"], "model": e["model"]} for e in part["engines"] if e["default"])
        result["timings_s"].update(part["timings_s"])
    if live:
        t = time.monotonic()
        result["live"] = run_live(work, LivePlan.quick() if quick else LivePlan(), log)
        result["timings_s"]["live"] = round(time.monotonic() - t, 1)
    result["duration_s"] = time.monotonic() - t0
    result["machine"]["load_end"] = load_average()
    result["budgets"] = check_budgets(result)
    result["causes"] = causes(result)
    return result


def main(argv: list[str] | None = None) -> int:
    from .report import table, write_json

    ap = argparse.ArgumentParser(prog="bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="a few clips per context and engine, one live run of 4 response turns, 5 s idle (about 1.5 minutes)")
    ap.add_argument("--json", type=Path, metavar="FILE", help="write every figure to FILE")
    ap.add_argument("--work", type=Path, help=f"cache directory (default {default_work_dir()}, or $VOICECOACH_BENCH_DIR)")
    ap.add_argument("--only", choices=["accuracy", "live"], help="run only one part")
    ap.add_argument("--workers", type=int, default=default_workers(),
                    help="recognizer processes (default 2, or $VOICECOACH_BENCH_WORKERS)")
    ap.add_argument("--detail", action="store_true", help="also print the default engine's per-context figures")
    args = ap.parse_args(argv)
    result = run(quick=args.quick, work=args.work, accuracy=args.only in (None, "accuracy"),
                 live=args.only in (None, "live"), workers=args.workers)
    print(table(result, detail=args.detail), flush=True)
    if args.json:
        write_json(result, args.json)
    return 0
