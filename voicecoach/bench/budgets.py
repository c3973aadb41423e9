"""The benchmark's budgets (issue 13) and their verdicts: PASS, FAIL, or not measured.

The accuracy budgets apply to the default engine (the one ``load_recognizer(phrases)`` picks); the
text figure involves no engine; the live budgets are the default engine's `voicecoach run`. The
latency budgets are judged on the worst of the live runs: every run must meet them.
A budget missed is a FAIL in the table, never an error: the benchmark is a measurement.
"""

from __future__ import annotations

DEFAULT = "{default}"
"""In a figure's path: the default engine's name, filled in from the result."""
ACC = ("accuracy", DEFAULT)
BUDGETS = [
    # (key, what, figure path, comparison, limit, unit)
    ("accuracy_real", "accuracy, real recordings (yes/no, stop, digits)", (*ACC, "real", "budget_set", "accuracy"), ">=", 0.97, "%"),
    ("accuracy_synthetic_clean", "accuracy, synthetic corpus, clean", (*ACC, "synthetic", "clean", "accuracy"), ">=", 0.99, "%"),
    ("accuracy_synthetic_10dB", "accuracy, synthetic corpus, 10 dB SNR", (*ACC, "synthetic", "10dB", "accuracy"), ">=", 0.95, "%"),
    ("accuracy_phrasings_spoken", "accuracy, everyday phrasings spoken", (*ACC, "phrasings", "accuracy"), ">=", 0.90, "%"),
    ("understanding_phrasings_text", "understanding, everyday phrasings in text (held-out)", ("text", "heldout", "accuracy"), ">=", 0.95, "%"),
    ("dangerous_confusions", "dangerous confusions", (*ACC, "dangerous", "count"), "<=", 0, ""),
    ("false_accept_silence", "false accepts on _silence_", (*ACC, "false_accept", "silence", "rate"), "<=", 0.02, "%"),
    ("false_accept_unknown", "false accepts on _unknown_", (*ACC, "false_accept", "unknown", "rate"), "<=", 0.02, "%"),
    ("response_median", "response latency, median (worst run)", ("live", "worst_run", "response_median_s"), "<=", 0.300, "ms"),
    ("response_p95", "response latency, p95 (worst run)", ("live", "worst_run", "response_p95_s"), "<=", 0.500, "ms"),
    ("barge_in_median", "barge-in latency, median (worst run)", ("live", "worst_run", "barge_in_median_s"), "<=", 0.200, "ms"),
    ("peak_rss", "peak RSS (idle and session)", ("live", "peak_rss_mb"), "<=", 400.0, "MB"),
    ("idle_cpu", "idle CPU (% of one core)", ("live", "idle", "cpu_percent"), "<=", 15.0, "cpu"),
    ("warm_startup", "warm start-up (median)", ("live", "startup", "warm_median_s"), "<=", 2.0, "s"),
]
ACCURACY_KEYS = {"accuracy_real", "accuracy_synthetic_clean", "accuracy_synthetic_10dB"}


def dig(data: dict, path: tuple):
    """The figure at ``path``, None when it was not measured."""
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def fmt(value, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "%":
        return f"{100 * value:.1f}%"
    if unit == "ms":
        return f"{1000 * value:.0f} ms"
    if unit == "cpu":
        return f"{value:.1f}%"
    if unit == "MB":
        return f"{value:.0f} MB"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:g}"


def check_budgets(result: dict) -> list[dict]:
    """Each budget with its measured value and pass (True/False; None when not measured)."""
    out = []
    for key, what, path, op, limit, unit in BUDGETS:
        value = dig(result, tuple(result.get("default_engine") if k == DEFAULT else k for k in path))
        passed = None if value is None else (value >= limit if op == ">=" else value <= limit)
        out.append({"key": key, "what": what, "value": value, "limit": limit, "op": op, "unit": unit,
                    "passed": passed, "shown": fmt(value, unit), "budget": f"{op} {fmt(limit, unit)}"})
    return out
