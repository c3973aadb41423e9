"""What the measurements say about each budget missed: where the misses are, and what takes the time
or the memory. Every sentence is built from figures of the same run (none when a figure is missing).
"""

from __future__ import annotations

from .accuracy import label
from .budgets import ACCURACY_KEYS, fmt
from .corpus import BUDGET_FOLDERS


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
    best, worst = (max(voices, key=voices.get), min(voices, key=voices.get)) if voices else (None, None)
    if best and voices[best] != voices[worst]:
        text += f". Clean by voice: best {best} {fmt(voices[best], '%')}, worst {worst} {fmt(voices[worst], '%')}"
    worst_ctx = sorted((t["clean"]["accuracy"], c) for c, t in acc["by_context"].items() if t["clean"]["n"])
    if worst_ctx and worst_ctx[0][0] < 1:
        text += ". Clean by context, worst first: " + ", ".join(f"{c} {fmt(a, '%')}" for a, c in worst_ctx[:3])
    words = sorted((t["accuracy"], f) for f, t in acc["real"]["by_folder"].items()
                   if t["n"] and f in BUDGET_FOLDERS and t["accuracy"] < 1)
    if words:
        text += ". Hardest real words: " + ", ".join(f"{f} {fmt(a, '%')}" for a, f in words[:4])
    top = acc.get("ceiling")
    if top:
        text += (". At best from its evidence (a missed clip counted right when any look's answer or best-scored short "
                 "answer was the expected one, .ceiling): " + ", ".join(
                     f"{name} {fmt(t['accuracy'], '%')}" for name, t in (
                         ("clean", top["synthetic"]["clean"]), ("20 dB", top["synthetic"]["20dB"]),
                         ("10 dB", top["synthetic"]["10dB"]), ("real", top["real_budget_set"])) if t["n"]))
    for other, fig in result["accuracy"].items():
        if other != engine and "synthetic" in fig:
            text += (f". {other} on the same clips: clean {fmt(fig['synthetic']['clean']['accuracy'], '%')}, 10 dB "
                     f"{fmt(fig['synthetic']['10dB']['accuracy'], '%')}, real {fmt(fig['real']['budget_set']['accuracy'], '%')}")
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
            f"understood either (the phrase file), {len(heard)} are the recognizer's"
            + "".join(f"{'; ' if k else ', e.g. '}{m['text']!r} [{m['group']}] -> {label(m['got'])} (heard {m['decoded']!r})"
                      for k, m in enumerate(heard[:4]))
            + ". By context: " + ", ".join(f"{c} {fmt(a, '%')}" for a, c in worst)
            + (f". At best from the evidence (.ceiling): {fmt(top['phrasings']['accuracy'], '%')}"
               if (top := result["accuracy"][engine].get("ceiling")) else ""))


def _endpointer(lc: dict, barge_in: bool) -> str:
    early = lc.get("endpoint_early_barge_in_ms" if barge_in else "endpoint_early_ms")
    if early is None:
        return ""
    ms = lambda key: fmt(lc[key] / 1000, "ms") if lc.get(key) is not None else "n/a"  # noqa: E731
    return (f"; the endpointer ends an utterance after {early} ms of silence when the answer is sure and whole, else "
            f"{lc.get('endpoint_hangover_ms')} ms; offline, the patient's phrases take {ms('recognize_ms_median')} "
            f"to recognize (median), of which the final decode {ms('decode_ms_median')}, the rest the checks made "
            f"while the words came in")


def live_causes(result: dict, missed: set[str]) -> dict[str, str]:
    """Response, barge-in, memory and start-up budgets missed: their parts, as measured."""
    out: dict[str, str] = {}
    live = result.get("live") or {}
    lc = live.get("latency_causes") or {}
    r, b = live.get("response") or {}, live.get("barge_in") or {}
    if missed & {"response_median", "response_p95"} and r.get("n"):
        br = r.get("breakdown_median_s") or {}
        out["response_latency"] = (
            f"end of speech -> recognized {fmt(br.get('recognized_s'), 'ms')} (median; {r.get('ended_early', 0)} of "
            f"{r['n']} turns ended early){_endpointer(lc, False)}; recognized -> reply started "
            f"{fmt(br.get('coach_s'), 'ms')}, -> audible {fmt(br.get('output_s'), 'ms')}")
    if "barge_in_median" in missed and b.get("n"):
        out["barge_in"] = (
            f"the output goes silent {fmt(b.get('cut_after_event_median_s'), 'ms')} (median) after the coach acts, so the "
            f"time is recognizing the word: end of speech -> barge_in event {fmt(b.get('event_median_s'), 'ms')} "
            f"({b.get('ended_early', 0)} of {b['n']} ended early){_endpointer(lc, True)}")
    mem = live.get("memory_breakdown") or {}
    engine = f" ({result['default_engine']})" if result.get("default_engine") else ""
    if "peak_rss" in missed and mem.get("total_mb"):
        out["peak_rss"] = (
            f"fresh process, RSS added by each part: Python {mem.get('python_mb', 0):.0f} MB, imports "
            f"{mem.get('imports_mb', 0):.0f} MB, content {mem.get('content_mb', 0):.0f} MB, recognizer{engine} "
            f"{mem.get('recognizer_mb', 0):.0f} MB (+{mem.get('recognizer_decoding_mb', 0):.0f} MB once every context "
            f"has decoded), piper voice (onnxruntime) {mem.get('piper_voice_mb', 0):.0f} MB: {mem['total_mb']:.0f} MB "
            f"in all; the coach itself: {fmt((live.get('idle') or {}).get('rss_mb'), 'MB')} idle-listening, peak "
            f"{fmt(live.get('peak_rss_mb'), 'MB')} in the session, where it synthesized "
            f"{(live.get('session') or {}).get('lines_synthesized_by_coach')} lines missing from its cache")
    st = live.get("startup") or {}
    if "warm_startup" in missed and st:
        sec = mem.get("seconds") or {}
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in sec.items() if k in ("imports", "content", "recognizer"))
        cold = f"cold {fmt(st['cold_s'], 's')}, " if st.get("cold_s") else ""
        out["warm_startup"] = (f"{cold}warm {fmt(st.get('warm_median_s'), 's')}"
                               + (f"; in a fresh process, before the coach can speak: {parts}" if parts else
                                  " (where the time goes is measured in the full run)"))
    if "idle_cpu" in missed:
        out["idle_cpu"] = "the idle loop and the voice activity detection run on every 30 ms frame"
    return out


def causes(result: dict) -> dict[str, str]:
    """For each missed budget, what the measurements say limits it."""
    out: dict[str, str] = {}
    missed = {b["key"] for b in result.get("budgets", []) if b["passed"] is False}
    acc = (result.get("accuracy") or {}).get(result.get("default_engine")) or {}
    if missed & ACCURACY_KEYS and "synthetic" in acc:
        out["accuracy"] = accuracy_cause(result)
    if "accuracy_phrasings_spoken" in missed and "phrasings" in acc:
        out["phrasings_spoken"] = phrasing_cause(result)
    text = (result.get("text") or {}).get("heldout")
    if "understanding_phrasings_text" in missed and text:
        out["phrasings_text"] = (
            f"{text['n'] - text['correct']} of {text['n']} held-out items missed "
            f"({', '.join(f'{w} {n}' for w, n in text['misses_by_why'].items())}), e.g. "
            + "; ".join(f"{e['text']!r} ({e['context']}, expected {e['expect']}) -> {label(e['got'])}"
                        for e in text["misses"][:4]))
    if "dangerous_confusions" in missed and "dangerous" in acc:
        out["dangerous_confusions"] = "; ".join(
            f"{e['text']!r} ({e['source']} {e['group']}, {e['condition']}, context {e['context']}) heard as "
            f"{e['decoded'] or e['heard_text']!r} -> {label(e['got'])}" for e in acc["dangerous"]["examples"][:5])
    if missed & {"false_accept_silence", "false_accept_unknown"} and "false_accept" in acc:
        out["false_accepts"] = "; ".join(
            f"{e['group']} in {e['context']} heard as {e['decoded'] or e['heard_text']!r} -> {label(e['got'])}"
            for e in acc["false_accept"]["examples"] if e["group"] in ("_silence_", "_unknown_"))
    out.update(live_causes(result, missed))
    return out
