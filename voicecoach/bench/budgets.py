"""The benchmark's budgets (issue 13), pass or fail, and what the measurements say about each one missed.

The accuracy budgets apply to the default engine (the one ``load_recognizer(phrases)`` picks); the
text figure involves no engine; the live budgets are the default engine's `voicecoach run`.
"""

from __future__ import annotations

from .accuracy import label
from .corpus import BUDGET_FOLDERS

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
    ("response_median", "response latency, median", ("live", "response", "median_s"), "<=", 0.300, "ms"),
    ("response_p95", "response latency, p95", ("live", "response", "p95_s"), "<=", 0.500, "ms"),
    ("barge_in_median", "barge-in latency, median", ("live", "barge_in", "median_s"), "<=", 0.200, "ms"),
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


def _misses(name: str, t: dict) -> str:
    return f"{name} {fmt(t['accuracy'], '%')} ({t['rejected']} of {t['n']} rejected, {t['wrong']} wrong)"


def accuracy_cause(result: dict) -> str:
    """Where the default engine's misses are (rejected or wrong, noise, voices, words) and what the others do."""
    engine = result["default_engine"]
    acc = result["accuracy"][engine]
    syn, real = acc["synthetic"], acc["real"]["budget_set"]
    tallies = [("clean", syn["clean"]), ("20 dB", syn["20dB"]), ("10 dB", syn["10dB"]), ("real yes/no/stop/digits", real)]
    tallies = [(n, t) for n, t in tallies if t["n"]]
    rejected, wrong = sum(t["rejected"] for _, t in tallies), sum(t["wrong"] for _, t in tallies)
    kind = ("most misses are rejections (the coach asks again), not wrong answers" if rejected >= wrong
            else "most misses are wrong answers, not rejections")
    text = f"{engine}: {kind}: " + "; ".join(_misses(n, t) for n, t in tallies)
    voices = {v: t["clean"]["accuracy"] for v, t in acc["synthetic_by_voice"].items() if t["clean"]["n"]}
    if voices:
        best, worst = max(voices, key=voices.get), min(voices, key=voices.get)
        text += f". Clean by voice: best {best} {fmt(voices[best], '%')}, worst {worst} {fmt(voices[worst], '%')}"
    words = sorted((t["accuracy"], f) for f, t in acc["real"]["by_folder"].items()
                   if t["n"] and f in BUDGET_FOLDERS and t["accuracy"] < 1)
    if words:
        text += ". Hardest real words: " + ", ".join(f"{f} {fmt(a, '%')}" for a, f in words[:4])
    for other, fig in result["accuracy"].items():
        if other != engine and "synthetic" in fig:
            text += (f". {other} on the same clips: clean {fmt(fig['synthetic']['clean']['accuracy'], '%')}, 10 dB "
                     f"{fmt(fig['synthetic']['10dB']['accuracy'], '%')}, real {fmt(fig['real']['budget_set']['accuracy'], '%')}")
    fc = acc.get("first_choice")
    if fc:  # PocketSphinx only: its grammar decode before rejection
        text += (f". PocketSphinx's grammar decode itself is the limit: taking its first choice every time (no rejection) "
                 f"gives clean {fmt(fc['synthetic']['clean']['accuracy'], '%')}, 10 dB {fmt(fc['synthetic']['10dB']['accuracy'], '%')}, "
                 f"real {fmt(fc['real_budget_set']['accuracy'], '%')}, the most any rejection could keep, and would answer "
                 f"_unknown_ clips {fmt(fc['false_accept']['unknown']['rate'], '%')} of the time with {fc['dangerous']} "
                 f"dangerous confusions")
    return text


def phrasing_cause(result: dict) -> str:
    """Spoken phrasing misses: the ones whose text is not understood either, and what the engine wrote for the rest."""
    engine = result["default_engine"]
    ph = result["accuracy"][engine]["phrasings"]
    text_missed = {(e["context"], e["text"]) for e in (result.get("text") or {}).get("heldout", {}).get("misses", [])}
    misses = ph["misses"]
    in_text = [m for m in misses if (m["context"], m["text"]) in text_missed]
    heard = [m for m in misses if (m["context"], m["text"]) not in text_missed]
    worst = sorted((t["accuracy"], c) for c, t in ph["by_context"].items() if t["n"])
    return (f"{len(misses)} of {ph['n']} spoken items missed ({ph['rejected']} rejected, {ph['wrong']} wrong, "
            f"{ph['false_accept']['accepted']} answered that expect nothing): {len(in_text)} are items whose text is not "
            f"understood either (the phrase file), {len(heard)} are the recognizer's, e.g. "
            + "; ".join(f"{m['text']!r} [{m['group']}] -> {label(m['got'])} ({m['decoded']!r})" for m in heard[:4])
            + ". By context: " + ", ".join(f"{c} {fmt(a, '%')}" for a, c in worst))


def causes(result: dict) -> dict[str, str]:
    """For each missed budget, what the measurements say limits it."""
    out: dict[str, str] = {}
    missed = {b["key"] for b in result.get("budgets", []) if b["passed"] is False}
    acc = (result.get("accuracy") or {}).get(result.get("default_engine")) or {}
    live = result.get("live") or {}
    if missed & ACCURACY_KEYS and "synthetic" in acc:
        out["accuracy"] = accuracy_cause(result)
    if "accuracy_phrasings_spoken" in missed and "phrasings" in acc:
        out["phrasings_spoken"] = phrasing_cause(result)
    text = (result.get("text") or {}).get("heldout")
    if "understanding_phrasings_text" in missed and text:
        out["phrasings_text"] = (
            f"{text['n'] - text['correct']} of {text['n']} held-out items missed ({', '.join(f'{w} {n}' for w, n in text['misses_by_why'].items())}), e.g. "
            + "; ".join(f"{e['text']!r} ({e['context']}, expected {e['expect']}) -> {label(e['got'])}" for e in text["misses"][:4]))
    if "dangerous_confusions" in missed and "dangerous" in acc:
        out["dangerous_confusions"] = "; ".join(
            f"{e['text']!r} ({e['source']} {e['group']}, {e['condition']}, context {e['context']}) heard as {e['heard_text']!r}"
            for e in acc["dangerous"]["examples"][:5])
    if missed & {"false_accept_silence", "false_accept_unknown"} and "false_accept" in acc:
        out["false_accepts"] = "; ".join(
            f"{e['group']} in {e['context']} heard as {e['decoded']!r} -> {label(e['got'])}"
            for e in acc["false_accept"]["examples"] if e["group"] in ("_silence_", "_unknown_"))
    lc = live.get("latency_causes") or {}
    engine = result.get("default_engine") or "the recognizer"
    if missed & {"response_median", "response_p95"} and live.get("response", {}).get("n"):
        br = live["response"].get("breakdown_median_s", {})
        out["response_latency"] = (
            f"end of speech -> recognized takes {fmt(br.get('recognized_s'), 'ms')} (median): the endpointer waits "
            f"{lc.get('endpoint_early_ms')} ms of silence when the answer is sure and whole "
            f"({live['response'].get('ended_early', 0)} of {live['response']['n']} turns), else "
            f"{lc.get('endpoint_hangover_ms')} ms, before it ends an utterance; the decode takes "
            f"{lc.get('decode_ms_median') or 0:.0f} ms (median over the patient's phrases, offline, {engine}), plus frame and "
            f"queue delays ({lc.get('frame_ms')} ms frames); the coach then needs {fmt(br.get('coach_s'), 'ms')} to start its "
            f"reply (TTS cache hit) and the output path {fmt(br.get('output_s'), 'ms')} to make it audible")
    if "barge_in_median" in missed and live.get("barge_in", {}).get("n"):
        b = live["barge_in"]
        out["barge_in"] = (
            f"the output goes silent {fmt(b.get('cut_after_event_median_s'), 'ms')} (median) after the coach acts, "
            f"so cutting is immediate; the time is the recognition of the barge-in word: end of speech -> barge_in "
            f"event {fmt(b.get('event_median_s'), 'ms')} (a {lc.get('endpoint_early_barge_in_ms')} ms pause for a sure "
            f"stop/pause -- {b.get('ended_early', 0)} of {b.get('n')} -- else {lc.get('endpoint_hangover_ms')} ms, + decode; "
            f"{engine} decodes a word once the endpointer has ended it)")
    mem = live.get("memory_breakdown") or {}
    if "peak_rss" in missed and mem.get("total_mb"):
        piper = (live.get("idle") or {}).get("piper_loaded")
        out["peak_rss"] = (
            f"fresh process, RSS after each part: Python {mem.get('python_mb', 0):.0f} MB, imports and content "
            f"{mem.get('imports_and_content_mb', 0):.0f} MB, recognizer ({engine}) {mem.get('recognizer_mb', 0):.0f} MB "
            f"(+{mem.get('recognizer_decoding_mb', 0):.0f} MB once every context has decoded), piper voice "
            f"(onnxruntime) {mem.get('piper_voice_mb', 0):.0f} MB; piper was {'loaded' if piper else 'not loaded'} "
            f"in the idle warm coach, which synthesized {(live.get('session') or {}).get('lines_synthesized_by_coach')} "
            f"lines missing from a full cache during start-up and the session (the start-up rehearsal's "
            f"'last session' lines carry the current date and time, so they are never cached)")
    st = live.get("startup") or {}
    if "warm_startup" in missed and st:
        out["warm_startup"] = f"cold {fmt(st.get('cold_s'), 's')} vs warm {fmt(st.get('warm_median_s'), 's')}"
    if "idle_cpu" in missed:
        out["idle_cpu"] = "see the CPU figures: the idle loop and VAD run on every 30 ms frame"
    return out
