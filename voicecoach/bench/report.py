"""The benchmark's budgets, its readable table and its JSON."""

from __future__ import annotations

import json
from pathlib import Path

from .accuracy import CONDITIONS, CONTEXTS

BUDGETS = [
    # (key, what, figure path, comparison, limit, unit)
    ("accuracy_synthetic_clean", "accuracy, synthetic corpus, clean", ("accuracy", "synthetic", "clean", "accuracy"), ">=", 0.99, "%"),
    ("accuracy_synthetic_10dB", "accuracy, synthetic corpus, 10 dB SNR", ("accuracy", "synthetic", "10dB", "accuracy"), ">=", 0.95, "%"),
    ("accuracy_real", "accuracy, real recordings (yes/no, stop, digits)", ("accuracy", "real", "budget_set", "accuracy"), ">=", 0.95, "%"),
    ("dangerous_confusions", "dangerous confusions", ("accuracy", "dangerous", "count"), "<=", 0, ""),
    ("false_accept_silence", "false accepts on _silence_", ("accuracy", "false_accept", "silence", "rate"), "<=", 0.02, "%"),
    ("false_accept_unknown", "false accepts on _unknown_", ("accuracy", "false_accept", "unknown", "rate"), "<=", 0.02, "%"),
    ("response_median", "response latency, median", ("live", "response", "median_s"), "<=", 0.300, "ms"),
    ("response_p95", "response latency, p95", ("live", "response", "p95_s"), "<=", 0.500, "ms"),
    ("barge_in_median", "barge-in latency, median", ("live", "barge_in", "median_s"), "<=", 0.200, "ms"),
    ("idle_cpu", "idle CPU (% of one core)", ("live", "idle", "cpu_percent"), "<=", 15.0, "cpu"),
    ("peak_rss", "peak RSS (idle and session)", ("live", "peak_rss_mb"), "<=", 400.0, "MB"),
    ("warm_startup", "warm start-up (median)", ("live", "startup", "warm_median_s"), "<=", 2.0, "s"),
]


def dig(data: dict, path: tuple):
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
        value = dig(result, path)
        passed = None if value is None else (value >= limit if op == ">=" else value <= limit)
        out.append({"key": key, "what": what, "value": value, "limit": limit, "op": op, "unit": unit,
                    "passed": passed, "shown": fmt(value, unit), "budget": f"{op} {fmt(limit, unit)}"})
    return out


def causes(result: dict) -> dict[str, str]:
    """For each missed budget, what the measurements say limits it."""
    out: dict[str, str] = {}
    missed = {b["key"] for b in result.get("budgets", []) if b["passed"] is False}
    acc, live = result.get("accuracy") or {}, result.get("live") or {}
    if missed & {"accuracy_synthetic_clean", "accuracy_synthetic_10dB", "accuracy_real"} and acc:
        parts = []
        for name, t in (("clean", acc["synthetic"]["clean"]), ("10 dB", acc["synthetic"]["10dB"]),
                        ("real yes/no/stop/digits", acc["real"]["budget_set"])):
            if t["n"]:
                parts.append(f"{name}: {t['rejected']} of {t['n']} rejected, {t['wrong']} wrong")
        voices = {v: t["clean"]["accuracy"] for v, t in acc["synthetic_by_voice"].items() if t["clean"]["n"]}
        best = max(voices, key=voices.get) if voices else None
        out["accuracy"] = (
            f"almost every miss is a rejection, not a wrong answer ({'; '.join(parts)}): "
            f"{result.get('engine', {}).get('engine')} with its general US English acoustic model and strict "
            f"rejection prefers asking again to guessing; noise makes it worse "
            f"(clean {fmt(acc['synthetic']['clean']['accuracy'], '%')}, 20 dB {fmt(acc['synthetic']['20dB']['accuracy'], '%')}, "
            f"10 dB {fmt(acc['synthetic']['10dB']['accuracy'], '%')})"
            + (f"; best voice {best} {fmt(voices[best], '%')} clean" if best else ""))
        fc = acc.get("first_choice")
        if fc:
            out["accuracy"] += (
                f". The grammar decode itself is the limit: taking its first choice every time (no rejection) gives "
                f"clean {fmt(fc['synthetic']['clean']['accuracy'], '%')}, 10 dB {fmt(fc['synthetic']['10dB']['accuracy'], '%')}, "
                f"real {fmt(fc['real_budget_set']['accuracy'], '%')}, the most any rejection could keep, and would answer "
                f"_unknown_ clips {fmt(fc['false_accept']['unknown']['rate'], '%')} of the time with {fc['dangerous']} "
                f"dangerous confusions")
    if "dangerous_confusions" in missed and acc:
        ex = acc["dangerous"]["examples"]
        out["dangerous_confusions"] = "; ".join(
            f"{e['text']!r} ({e['group']}, {e['condition']}, context {e['context']}) heard as {e['heard_text']!r}"
            for e in ex[:5])
    lc = live.get("latency_causes") or {}
    if missed & {"response_median", "response_p95"} and live.get("response", {}).get("n"):
        br = live["response"].get("breakdown_median_s", {})
        out["response_latency"] = (
            f"end of speech -> recognized takes {fmt(br.get('recognized_s'), 'ms')} (median): the endpointer waits "
            f"{lc.get('endpoint_early_ms')} ms of silence when the answer is sure and whole "
            f"({live['response'].get('ended_early', 0)} of {live['response']['n']} turns), else "
            f"{lc.get('endpoint_hangover_ms')} ms, before it ends an utterance; the decode takes "
            f"{lc.get('decode_ms_median') or 0:.0f} ms (median over the patient's phrases, offline), plus frame and queue "
            f"delays ({lc.get('frame_ms')} ms frames); the coach then needs {fmt(br.get('coach_s'), 'ms')} to start its "
            f"reply (TTS cache hit) and the output path {fmt(br.get('output_s'), 'ms')} to make it audible")
    if "barge_in_median" in missed and live.get("barge_in", {}).get("n"):
        b = live["barge_in"]
        out["barge_in"] = (
            f"the output goes silent {fmt(b.get('cut_after_event_median_s'), 'ms')} (median) after the coach acts, "
            f"so cutting is immediate; the time is the recognition of the barge-in word: end of speech -> barge_in "
            f"event {fmt(b.get('event_median_s'), 'ms')} (a {lc.get('endpoint_early_barge_in_ms')} ms pause for a sure "
            f"stop/pause -- {b.get('ended_early', 0)} of {b.get('n')} -- else {lc.get('endpoint_hangover_ms')} ms, + decode; "
            f"PocketSphinx decodes a word only once it has ended)")
    mem = live.get("memory_breakdown") or {}
    if "peak_rss" in missed and mem.get("total_mb"):
        piper = (live.get("idle") or {}).get("piper_loaded")
        out["peak_rss"] = (
            f"fresh process, RSS after each part: Python {mem.get('python_mb', 0):.0f} MB, imports and content "
            f"{mem.get('imports_and_content_mb', 0):.0f} MB, PocketSphinx recognizer {mem.get('recognizer_mb', 0):.0f} MB "
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


def _cell(t: dict | None) -> str:
    if not t or not t.get("n"):
        return "-"
    return f"{100 * t['accuracy']:5.1f}% {t['rejected']:>3}r {t['wrong']:>2}w /{t['n']}"


def table(result: dict) -> str:
    """The readable report."""
    m, lines = result["machine"], []
    add = lines.append
    parts = {**((result.get("accuracy") or {}).get("timings_s") or {}), "live": result["timings_s"].get("live")}
    add(f"VoiceCoach benchmark ({'quick' if result['quick'] else 'full'}), {result['date']}, took {result['duration_s']:.0f} s"
        + (" (" + ", ".join(f"{k} {v:.0f} s" for k, v in parts.items() if v is not None) + ")" if parts else ""))
    add(f"Machine: {m['cores']} cores, {m['cpu_model']}, {m['system']}, Python {m['python']}")
    add(f"Engine: {result.get('engine', {}).get('engine')} ({result.get('engine', {}).get('model')}); "
        f"coach voice: {result.get('coach_voice')}; patient voice: {result.get('live', {}).get('patient_voice', '-')}")
    acc = result.get("accuracy")
    if acc:
        add("")
        add(f"Recognition accuracy per context ({acc['clips']['synthetic']} synthetic, {acc['clips']['real']} real "
            f"recognitions; cell: accuracy, r = rejected, w = wrong answer, /n in-grammar clips)")
        add(f"{'context':<10}" + "".join(f"{c:<24}" for c in (*CONDITIONS, "real")))
        for c in CONTEXTS:
            row = acc["by_context"][c]
            add(f"{c:<10}" + "".join(f"{_cell(row.get(k)):<24}" for k in (*CONDITIONS, "real")))
        add(f"{'all':<10}" + "".join(f"{_cell(acc['synthetic'][k]):<24}" for k in CONDITIONS)
            + _cell(acc["real"]["all"]))
        add("Synthetic by voice (clean / 20 dB / 10 dB): " + "; ".join(
            f"{v} " + "/".join(f"{100 * t[k]['accuracy']:.0f}%" if t[k]["n"] else "-" for k in CONDITIONS)
            for v, t in acc["synthetic_by_voice"].items()))
        add("Real by word: " + ", ".join(f"{f} {100 * t['accuracy']:.0f}%" for f, t in acc["real"]["by_folder"].items()
                                           if t["n"]))
        fa = acc["false_accept"]
        add("False accepts: " + "; ".join(
            f"{name} {x['accepted']}/{x['n']} ({fmt(x['rate'], '%')})" for name, x in
            (("_silence_", fa["silence"]), ("_unknown_", fa["unknown"]),
             ("out-of-context real words", fa["out_of_context_real"]),
             ("out-of-context synthetic sentences", fa["out_of_context_synthetic"]))))
        d = acc["dangerous"]
        add(f"Dangerous confusions: {d['count']} (synthetic {d['synthetic']}, real {d['real']})"
            + (": " + "; ".join(f"{e['text']!r} [{e['group']}, {e['condition']}] heard as {e['heard_text']!r}"
                                for e in d["examples"][:6]) if d["count"] else ""))
        fc = acc.get("first_choice")
        if fc:
            add("Without rejection (every grammar decode's first choice taken; accuracy can go no higher): "
                + ", ".join(f"{k} {fmt(fc['synthetic'][k]['accuracy'], '%')} ({fc['synthetic'][k]['wrong']} wrong)"
                            for k in CONDITIONS)
                + f", real yes/no/stop/digits {fmt(fc['real_budget_set']['accuracy'], '%')} "
                  f"({fc['real_budget_set']['wrong']} wrong); dangerous {fc['dangerous']}; false accepts _silence_ "
                  f"{fmt(fc['false_accept']['silence']['rate'], '%')}, _unknown_ {fmt(fc['false_accept']['unknown']['rate'], '%')}")
        add("Most frequent confusions, expected -> heard (- = nothing), synthetic + real:")
        pairs = {}
        for src in ("synthetic", "real"):
            for exp, row in acc["confusion"][src].items():
                for got, n in row.items():
                    if got != exp:
                        pairs[(exp, got)] = pairs.get((exp, got), 0) + n
        wrong = sorted(((n, e, g) for (e, g), n in pairs.items() if g != "-"), reverse=True)[:10]
        rejected = sorted(((n, e) for (e, g), n in pairs.items() if g == "-"), reverse=True)[:8]
        add("  wrong answers: " + (", ".join(f"{e} -> {g} x{n}" for n, e, g in wrong) or "none"))
        add("  most rejected: " + ", ".join(f"{e} x{n}" for n, e in rejected))
        p = acc["processing_ms"]
        add(f"Recognizer processing per clip: median {p['median']:.0f} ms, p95 {p['p95']:.0f} ms")
    live = result.get("live")
    if live and live.get("error"):
        add("")
        add(f"Live measurements failed: {live['error']}")
    elif live:
        add("")
        r, b = live["response"], live["barge_in"]
        br = r.get("breakdown_median_s", {})
        add(f"Response latency (mic last sample -> first audible reply sample): median {fmt(r['median_s'], 'ms')}, "
            f"p95 {fmt(r['p95_s'], 'ms')}, max {fmt(r['max_s'], 'ms')}, over {r['n']} turns")
        add(f"  medians of its parts: end of speech -> recognized {fmt(br.get('recognized_s'), 'ms')}, "
            f"recognized -> reply started {fmt(br.get('coach_s'), 'ms')}, reply started -> audible {fmt(br.get('output_s'), 'ms')}")
        add(f"Barge-in latency (end of 'pause'/'stop' over the coach -> output silent): median {fmt(b['median_s'], 'ms')}, "
            f"p95 {fmt(b['p95_s'], 'ms')}, over {b['n']} (attempts {b['attempts']}, not heard {b['missed']}; "
            f"end of speech -> barge_in event median {fmt(b.get('event_median_s'), 'ms')})")
        i, s = live.get("idle", {}), live.get("session", {})
        add(f"CPU / memory of `voicecoach run`: idle {i.get('seconds', 0):.0f} s: {fmt(i.get('cpu_percent'), 'cpu')} of one core, "
            f"RSS {fmt(i.get('rss_mb'), 'MB')}; session {s.get('seconds', 0):.0f} s: {fmt(s.get('cpu_percent'), 'cpu')}, "
            f"peak RSS {fmt(live.get('peak_rss_mb'), 'MB')}")
        st = live.get("startup", {})
        add(f"Start-up to the first audible greeting sample: cold {fmt(st.get('cold_s'), 's')}, warm median "
            f"{fmt(st.get('warm_median_s'), 's')} ({', '.join(fmt(x, 's') for x in st.get('warm_s', []))})")
        if live.get("notes"):
            add("Notes: " + "; ".join(live["notes"][:10]))
    add("")
    add("Budgets:")
    for x in result["budgets"]:
        verdict = {True: "PASS", False: "FAIL", None: "n/a "}[x["passed"]]
        add(f"  {verdict}  {x['what']:<50} {x['shown']:>10}   (budget {x['budget']})")
    if result.get("causes"):
        add("")
        add("Why the missed budgets are missed (measured):")
        for key, text in result["causes"].items():
            add(f"  {key}: {text}")
    return "\n".join(lines)


def write_json(result: dict, path: Path) -> None:
    path.write_text(json.dumps(result, indent=1, default=str, ensure_ascii=False))
