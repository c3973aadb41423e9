"""The benchmark's report: one table (rows = figures, columns = engines, then the budget and the
default engine's PASS/FAIL), the causes of the budgets missed, and the JSON with every figure.

Recognition rows have a cell per engine (every engine `--engine` accepts; "not installed" when it
cannot run here). The text phrasing rows involve no engine and the live rows are the default
engine's `voicecoach run`: their value is in the default engine's column. ``--detail`` adds the
default engine's per-context figures and confusions.
"""

from __future__ import annotations

import json
from pathlib import Path

from .budgets import dig, fmt
from .corpus import CONDITIONS, CONTEXTS
from .live_report import LIVE_ROWS, live_header, live_notes

LABEL_W = 48
"""Width of the figure column."""
COL_W = 22
"""Least width of an engine's column."""


def _acc(t: dict | None) -> str:
    """Accuracy with its misses: rejected (r), wrong answer (w), and for phrasings answered-expecting-nothing (fa)."""
    if not t or not t.get("n"):
        return "-"
    fa = t.get("false_accept")
    return f"{100 * t['accuracy']:.1f}% {t['rejected']}r {t['wrong']}w" + (f" {fa['accepted']}fa" if fa else "")


def _rate(x: dict | None) -> str:
    return f"{fmt(x['rate'], '%')} ({x['accepted']}/{x['n']})" if x and x.get("n") else "-"


ENGINE_ROWS = [
    # (label, path of the figure in one engine's accuracy dict (its n is shown), cell, budget key or None)
    ("synthetic voices, clean", ("synthetic", "clean"), _acc, "accuracy_synthetic_clean"),
    ("synthetic voices, 20 dB SNR", ("synthetic", "20dB"), _acc, None),
    ("synthetic voices, 10 dB SNR", ("synthetic", "10dB"), _acc, "accuracy_synthetic_10dB"),
    ("real yes/no/stop/digits", ("real", "budget_set"), _acc, "accuracy_real"),
    ("real up/down/left/right in context", ("real", "other"), _acc, None),
    ("everyday phrasings spoken (held-out)", ("phrasings",), _acc, "accuracy_phrasings_spoken"),
    ("dangerous confusions", ("dangerous",), lambda d: str(d["count"]), "dangerous_confusions"),
    ("false accepts, _silence_", ("false_accept", "silence"), _rate, "false_accept_silence"),
    ("false accepts, _unknown_", ("false_accept", "unknown"), _rate, "false_accept_unknown"),
    ("answered out-of-context words, real", ("false_accept", "out_of_context_real"), _rate, None),
    ("answered out-of-context sentences", ("false_accept", "out_of_context_synthetic"), _rate, None),
    ("processing per clip, median / p95", ("processing_ms",),
     lambda p: f"{p['median']:.0f} / {p['p95']:.0f} ms" if p.get("median") is not None else "-", None),
]
"""The recognition rows: one cell per engine."""


def _text_cell(t: dict | None) -> str:
    return _acc(t) if t else "-"


TEXT_ROWS = [
    ("phrasings in text, held-out", lambda r: _text_cell(dig(r, ("text", "heldout"))), "understanding_phrasings_text"),
    ("phrasings in text, tuning set", lambda r: _text_cell(dig(r, ("text", "tuning"))), None),
]
"""`voicecoach understand`'s code (Phrases.understand) on the phrasing sets' text."""


def _n(result: dict, path: tuple) -> str:
    for a in (result.get("accuracy") or {}).values():
        x = dig(a, path)
        if isinstance(x, dict) and "n" in x:
            return f" (n={x['n']})"
    return ""


def _cells(cells: list[str], widths: list[int]) -> str:
    """The cells in their columns; a cell longer than its column runs on into the empty columns after it
    (a live cell into the other engines' ones), so the budget column stays in place where it fits."""
    out, edge = "", 0
    for c, w in zip(cells, widths):
        if c and out and not out.endswith(" "):
            out += " "
        edge += w
        out = (out + c).ljust(edge)
    return out if out.endswith(" ") else out + " "


def one_table(result: dict) -> list[str]:
    """Rows = figures, columns = engines, then the budget and the default engine's verdict."""
    listed = result.get("engines")
    engines = listed or [{"engine": "default engine", "default": True, "installed": True}]  # --only live
    acc = result.get("accuracy") or {}
    heads = [f"{e['engine']}{' (default)' if e['default'] and listed else ''}" for e in engines]
    widths = [max(COL_W, len(h) + 2) for h in heads]
    live = result.get("live")
    live_cells = [cell(live) for _, cell, _ in LIVE_ROWS] if live is not None else []
    first = next((i for i, e in enumerate(engines) if e["default"]), 0)  # the live cells' column
    widths[-1] += max(0, max(map(len, live_cells), default=0) + 2 - sum(widths[first:]))
    budgets = {b["key"]: b for b in result.get("budgets", [])}

    def line(label: str, cells: list[str], key: str | None) -> str:
        b = budgets.get(key) if key else None
        verdict = {True: "PASS", False: "FAIL", None: "not measured"}[b["passed"]] if b else ""
        return (f"{label:<{LABEL_W}}" + _cells(cells, widths) + f"{b['budget'] if b else '':<12}{verdict}").rstrip()

    lines = [f"{'figure':<{LABEL_W}}" + "".join(f"{h:<{w}}" for h, w in zip(heads, widths)) + f"{'budget':<12}verdict"]
    if acc or result.get("text"):
        lines.append("  recognition, every engine on the same clips:")
        for label, path, cell, key in ENGINE_ROWS:
            cells = []
            for e in engines:
                a = acc.get(e["engine"])
                if not e.get("installed", True):
                    cells.append("not installed")
                elif not a or "error" in a:
                    cells.append("failed" if a else "not run")
                else:
                    x = dig(a, path)
                    cells.append(cell(x) if x is not None else "-")
            lines.append(line(label + (_n(result, path) if path[-1] not in ("dangerous", "processing_ms") else ""),
                              cells, key))
        lines.append("  everyday phrasings as text, through `voicecoach understand`'s code (no engine):")
        for label, cell, key in TEXT_ROWS:
            n = dig(result, ("text", "heldout" if "held-out" in label else "tuning", "n"))
            lines.append(line(f"{label} (n={n})" if n else label,
                              [cell(result) if e["default"] else "" for e in engines], key))
    if live is not None:
        lines.append("  live, the default engine's `voicecoach run` on virtual audio:")
        for (label, _, key), text in zip(LIVE_ROWS, live_cells):
            lines.append(line(label, [text if e["default"] else "" for e in engines], key))
    return lines


def _budget_count(result: dict) -> str:
    bs = result.get("budgets", [])
    return (f"Budgets ({len(bs)}, for the default engine{' ' + result['default_engine'] if result.get('default_engine') else ''}): "
            f"{sum(b['passed'] is True for b in bs)} PASS, {sum(b['passed'] is False for b in bs)} FAIL, "
            f"{sum(b['passed'] is None for b in bs)} not measured.")


def table(result: dict, detail: bool = False) -> str:
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
    n = next((a["clips"] for a in (result.get("accuracy") or {}).values() if "clips" in a), None)
    if n:
        add(f"Clips, the same for every engine: {n['synthetic']} synthetic, {n['phrasing']} spoken phrasings, "
            f"{n['real']} real recognitions; accuracy = right answers (phrasings: items right, expecting nothing "
            f"and given nothing counts), r = rejected (asked again), w = wrong answer, fa = answered an item that "
            f"expects nothing")
    add(f"Coach voice: {result.get('coach_voice')}; patient voices (live): {(result.get('live') or {}).get('patient_voice', '-')}")
    lines.extend(live_header(result.get("live")))
    add("")
    lines.extend(one_table(result))
    add("")
    add(_budget_count(result))
    for engine, a in (result.get("accuracy") or {}).items():
        if "error" in a:
            add(f"RECOGNITION FAILED for {engine}: {a['error']}")
    lines.extend(live_notes(result.get("live")))
    if result.get("causes"):
        add("Why the budgets missed are missed (measured):")
        for key, text in result["causes"].items():
            add(f"  {key}: {text}")
    if detail and "by_context" in ((result.get("accuracy") or {}).get(result.get("default_engine")) or {}):
        add("")
        lines.extend(default_detail(result["accuracy"][result["default_engine"]], result["default_engine"]))
    return "\n".join(lines)


def _cell(t: dict | None) -> str:
    if not t or not t.get("n"):
        return "-"
    return f"{100 * t['accuracy']:5.1f}% {t['rejected']:>3}r {t['wrong']:>2}w /{t['n']}"


def default_detail(acc: dict, engine: str) -> list[str]:
    """Per-context figures and confusions of the default engine (``--detail``)."""
    lines = [f"Default engine ({engine}) per context (accuracy, r = rejected, w = wrong, /n)",
             f"{'context':<10}" + "".join(f"{c:<24}" for c in (*CONDITIONS, "real", "phrasing"))]
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
    pairs: dict = {}
    for src in ("synthetic", "real", "phrasing"):
        for exp, row in acc["confusion"][src].items():
            for got, k in row.items():
                if got != exp:
                    pairs[(exp, got)] = pairs.get((exp, got), 0) + k
    wrong = sorted(((k, e, g) for (e, g), k in pairs.items() if g != "-"), reverse=True)[:10]
    rejected = sorted(((k, e) for (e, g), k in pairs.items() if g == "-"), reverse=True)[:8]
    lines.append("Wrong answers, expected -> heard: " + (", ".join(f"{e} -> {g} x{k}" for k, e, g in wrong) or "none"))
    lines.append("Most rejected: " + (", ".join(f"{e} x{k}" for k, e in rejected) or "none"))
    return lines


def write_json(result: dict, path: Path) -> None:
    path.write_text(json.dumps(result, indent=1, default=str, ensure_ascii=False))
