"""The benchmark (`scripts/bench`): recognition accuracy, response and barge-in latency, CPU,
memory and start-up, printed as a table with pass/fail against the budgets of issue 4.

- :mod:`.accuracy`: the synthetic corpus (scripts/make-corpus) and the real recordings,
  recognized through the code `voicecoach hear` uses;
- :mod:`.live`: `voicecoach run` on virtual PulseAudio devices with a flite patient;
- :mod:`.report`: budgets, the table and the JSON.
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
            "python": platform.python_version()}


def coach_voice() -> str:
    try:
        from ..speech.tts import default_model
        return f"piper {default_model().stem}"
    except Exception as exc:  # noqa: BLE001 - only a label
        return f"unavailable ({exc})"


def run(quick: bool = False, work: Path | None = None, accuracy: bool = True, live: bool = True,
        workers: int = 2, log=None) -> dict:
    """Run the benchmark; every figure as one dict (``budgets`` included)."""
    from .accuracy import engine_info, run_accuracy
    from .live import LivePlan, run_live
    from .report import causes, check_budgets

    t0 = time.monotonic()
    log = log or (lambda msg: print(f"bench [{time.monotonic() - t0:4.0f} s]: {msg}", file=sys.stderr, flush=True))
    work = Path(work or default_work_dir())
    work.mkdir(parents=True, exist_ok=True)
    result: dict = {"quick": quick, "date": datetime.now().astimezone().isoformat(timespec="seconds"),
                    "machine": machine(), "engine": engine_info(), "coach_voice": coach_voice(), "timings_s": {}}
    if accuracy:
        t = time.monotonic()
        result["accuracy"], _ = run_accuracy(work, quick, workers, log)
        result["timings_s"]["accuracy"] = time.monotonic() - t
    if live:
        t = time.monotonic()
        try:
            live_result = run_live(work, LivePlan.quick() if quick else LivePlan(), log)
            live_result["peak_rss_mb"] = max(live_result.get("idle", {}).get("peak_rss_mb") or 0,
                                             live_result.get("session", {}).get("peak_rss_mb") or 0) or None
        except Exception as exc:  # noqa: BLE001 - report what was measured, and why the rest is missing
            log(f"the live part failed: {exc}")
            live_result = {"error": f"{type(exc).__name__}: {exc}"}
        result["live"] = live_result
        result["timings_s"]["live"] = time.monotonic() - t
    result["duration_s"] = time.monotonic() - t0
    result["budgets"] = check_budgets(result)
    result["causes"] = causes(result)
    return result


def main(argv: list[str] | None = None) -> int:
    from .report import table, write_json

    ap = argparse.ArgumentParser(prog="bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a few clips per context, a few turns, 5 s idle (1-2 minutes)")
    ap.add_argument("--json", type=Path, metavar="FILE", help="write every figure to FILE")
    ap.add_argument("--work", type=Path, help=f"cache directory (default {default_work_dir()}, or $VOICECOACH_BENCH_DIR)")
    ap.add_argument("--only", choices=["accuracy", "live"], help="run only one part")
    ap.add_argument("--workers", type=int, default=2, help="recognizer processes (default 2)")
    args = ap.parse_args(argv)
    result = run(quick=args.quick, work=args.work, accuracy=args.only in (None, "accuracy"),
                 live=args.only in (None, "live"), workers=args.workers)
    print(table(result), flush=True)
    if args.json:
        write_json(result, args.json)
    return 0
