"""The benchmark's readable table (engines side by side, then the default engine's detail) and its JSON."""

from __future__ import annotations

import json
from pathlib import Path

from .budgets import fmt
from .corpus import CONDITIONS, CONTEXTS
from .live_report import live_lines

W = 26
"""Width of one engine's column."""


def _cell(t: dict | None) -> str:
    if not t or not t.get("n"):
        return "-"
    return f"{100 * t['accuracy']:5.1f}% {t['rejected']:>3}r {t['wrong']:>2}w /{t['n']}"


def _acc(t: dict) -> str:
    """Accuracy with its misses: rejected (r), wrong answer (w), and for phrasings answered-expecting-nothing (fa)."""
    if not t or not t.get("n"):
        return "-"
    fa = t.get("false_accept")
    return f"{100 * t['accuracy']:5.1f}% {t['rejected']}r {t['wrong']}w" + (f" {fa['accepted']}fa" if fa else "")


def _rate(x: dict) -> str:
    return f"{fmt(x['rate'], '%')} ({x['accepted']}/{x['n']})" if x and x.get("n") else "-"


SIDE_BY_SIDE = [
    # (label, its n: a path into one engine's figures, cell)
    ("synthetic, clean", ("synthetic", "clean"), lambda a: _acc(a["synthetic"]["clean"])),
    ("synthetic, 20 dB SNR", ("synthetic", "20dB"), lambda a: _acc(a["synthetic"]["20dB"])),
    ("synthetic, 10 dB SNR", ("synthetic", "10dB"), lambda a: _acc(a["synthetic"]["10dB"])),
    ("real yes/no/stop/digits", ("real", "budget_set"), lambda a: _acc(a["real"]["budget_set"])),
    ("real up/down/left/right in context", ("real", "other"), lambda a: _acc(a["real"]["other"])),
    ("everyday phrasings, spoken", ("phrasings",), lambda a: _acc(a["phrasings"])),
    ("dangerous confusions", None, lambda a: f"{a['dangerous']['count']}"),
    ("false accepts, _silence_", ("false_accept", "silence"), lambda a: _rate(a["false_accept"]["silence"])),
    ("false accepts, _unknown_", ("false_accept", "unknown"), lambda a: _rate(a["false_accept"]["unknown"])),
    ("out-of-context words, real", ("false_accept", "out_of_context_real"),
     lambda a: _rate(a["false_accept"]["out_of_context_real"])),
    ("out-of-context sentences, synthetic", ("false_accept", "out_of_context_synthetic"),
     lambda a: _rate(a["false_accept"]["out_of_context_synthetic"])),
    ("processing per clip, median / p95", None,
     lambda a: f"{a['processing_ms']['median']:.0f} / {a['processing_ms']['p95']:.0f} ms"),
]
"""The rows of the side-by-side block: one figure each, one column per engine."""


def side_by_side(result: dict) -> list[str]:
    """Rows = figures, columns = engines (every engine `--engine` accepts, installed or not)."""
    engines, acc = result["engines"], result["accuracy"]
    head = [f"{e['engine']}{' (default)' if e['default'] else ''}" for e in engines]
    lines = [f"{'figure':<44}" + "".join(f"{h:<{W}}" for h in head)]
    measured = [acc.get(e["engine"]) for e in engines]
    some = next((a for a in measured if a and "synthetic" in a), None)
    for label, n_path, cell in SIDE_BY_SIDE:
        n = some
        for k in n_path or ():
            n = n[k]
        what = f"{label} (n={n['n']})" if n_path and some else label
        cells = []
        for e, a in zip(engines, measured):
            if not e["installed"]:
                cells.append(e["why"] if label == SIDE_BY_SIDE[0][0] else "")
            elif not a or "error" in a:
                cells.append(f"failed: {(a or {}).get('error', 'not run')}"[:W - 1] if label == SIDE_BY_SIDE[0][0] else "")
            else:
                cells.append(cell(a))
        lines.append(f"{what:<44}" + "".join(f"{c:<{W}}" for c in cells).rstrip())
    for e, a in zip(engines, measured):
        fc = (a or {}).get("first_choice")
        if fc:
            lines.append(f"{e['engine']} without rejection (its grammar decode's first choice every time; accuracy can "
                         f"go no higher): " + ", ".join(f"{k} {fmt(fc['synthetic'][k]['accuracy'], '%')}" for k in CONDITIONS)
                         + f", real yes/no/stop/digits {fmt(fc['real_budget_set']['accuracy'], '%')}; dangerous "
                         f"{fc['dangerous']}; _unknown_ answered {fmt(fc['false_accept']['unknown']['rate'], '%')}")
    return lines


def text_lines(text: dict) -> list[str]:
    """The everyday phrasings read as text by `voicecoach understand` (no engine)."""
    out = ["Everyday phrasings in text (Phrases.understand, what `voicecoach understand` prints; no engine): "
           + "; ".join(f"{name} {fmt(t['accuracy'], '%')} of {t['n']} ({t['rejected']} asked again, {t['wrong']} wrong, "
                       f"{t['false_accept']['accepted']} of {t['false_accept']['n']} expecting nothing answered, "
                       f"dangerous {t['dangerous']})" for name, t in text.items())]
    h = text.get("heldout")
    if h:
        out.append("  held-out by context: " + ", ".join(f"{c} {fmt(t['accuracy'], '%')} /{t['n']}"
                                                          for c, t in h["by_context"].items()))
    return out


def default_detail(acc: dict) -> list[str]:
    """Per-context figures and confusions of the default engine."""
    lines = [f"{'context':<10}" + "".join(f"{c:<24}" for c in (*CONDITIONS, "real", "phrasing"))]
    for c in CONTEXTS:
        row = acc["by_context"][c]
        lines.append(f"{c:<10}" + "".join(f"{_cell(row.get(k)):<24}" for k in (*CONDITIONS, "real", "phrasing")).rstrip())
    lines.append("Synthetic by voice (clean / 20 dB / 10 dB): " + "; ".join(
        f"{v} " + "/".join(f"{100 * t[k]['accuracy']:.0f}%" if t[k]["n"] else "-" for k in CONDITIONS)
        for v, t in acc["synthetic_by_voice"].items()))
    lines.append("Spoken phrasings by voice: " + "; ".join(f"{v} {fmt(t['accuracy'], '%')} /{t['n']}"
                                                          for v, t in acc["phrasings"]["by_voice"].items()))
    lines.append("Real by word: " + ", ".join(f"{f} {100 * t['accuracy']:.0f}%" for f, t in acc["real"]["by_folder"].items()
                                              if t["n"]))
    d = acc["dangerous"]
    lines.append(f"Dangerous confusions: {d['count']} (synthetic {d['synthetic']}, real {d['real']}, phrasing {d['phrasing']})"
                 + (": " + "; ".join(f"{e['text']!r} [{e['group']}, {e['condition']}] heard as {e['heard_text']!r}"
                                     for e in d["examples"][:6]) if d["count"] else ""))
    pairs: dict = {}
    for src in ("synthetic", "real", "phrasing"):
        for exp, row in acc["confusion"][src].items():
            for got, n in row.items():
                if got != exp:
                    pairs[(exp, got)] = pairs.get((exp, got), 0) + n
    wrong = sorted(((n, e, g) for (e, g), n in pairs.items() if g != "-"), reverse=True)[:10]
    rejected = sorted(((n, e) for (e, g), n in pairs.items() if g == "-"), reverse=True)[:8]
    lines.append("Most frequent confusions, expected -> heard (- = nothing), all clips:")
    lines.append("  wrong answers: " + (", ".join(f"{e} -> {g} x{n}" for n, e, g in wrong) or "none"))
    lines.append("  most rejected: " + (", ".join(f"{e} x{n}" for n, e in rejected) or "none"))
    return lines


def table(result: dict) -> str:
    """The readable report."""
    m, lines = result["machine"], []
    add = lines.append
    took = ", ".join(f"{k} {v:.0f} s" for k, v in result["timings_s"].items() if v is not None)
    add(f"VoiceCoach benchmark ({'quick' if result['quick'] else 'full'}), {result['date']}, took {result['duration_s']:.0f} s"
        + (f" ({took})" if took else ""))
    add(f"Machine: {m['cores']} cores, {m['cpu_model']}, {m['system']}, Python {m['python']}; load average at the "
        f"start {m.get('load_start', '-')}, at the end {m.get('load_end', '-')}")
    if result.get("engines"):
        add("Engines: " + "; ".join(f"{e['engine']}{' (default)' if e['default'] else ''}: {e['why']}"
                                    for e in result["engines"]))
    add(f"Coach voice: {result.get('coach_voice')}; patient voice: {(result.get('live') or {}).get('patient_voice', '-')}")
    acc = result.get("accuracy")
    if acc:
        default = result["default_engine"]
        n = next((a["clips"] for a in acc.values() if "clips" in a), {})
        add("")
        add(f"Recognition, every engine on the same clips ({n.get('synthetic', 0)} synthetic, {n.get('phrasing', 0)} spoken "
            f"phrasings, {n.get('real', 0)} real recognitions). Accuracy: right answers of the clips that have one "
            f"(phrasings: of all items; an item expecting nothing is right when nothing is taken); r = rejected (asked "
            f"again), w = wrong answer, fa = answered an item that expects nothing.")
        lines.extend(side_by_side(result))
        if result.get("text"):
            add("")
            lines.extend(text_lines(result["text"]))
        if "by_context" in acc.get(default, {}):
            add("")
            add(f"Default engine ({default}) per context (cell: accuracy, r = rejected, w = wrong, /n clips with an answer; "
                f"phrasing: /n items)")
            lines.extend(default_detail(acc[default]))
    lines.extend(live_lines(result.get("live")))
    add("")
    add(f"Budgets (accuracy: the default engine, {result.get('default_engine')}):")
    for x in result["budgets"]:
        verdict = {True: "PASS", False: "FAIL", None: "n/a "}[x["passed"]]
        add(f"  {verdict}  {x['what']:<52} {x['shown']:>10}   (budget {x['budget']})")
    if result.get("causes"):
        add("")
        add("Why the missed budgets are missed (measured):")
        for key, text in result["causes"].items():
            add(f"  {key}: {text}")
    return "\n".join(lines)


def write_json(result: dict, path: Path) -> None:
    path.write_text(json.dumps(result, indent=1, default=str, ensure_ascii=False))
