"""Everyday phrasing sets: what an item expects, and how well `voicecoach understand` reads their text.

``phrasings/heldout.yaml`` (never used to tune the phrase file: the honest figure) and
``phrasings/tuning.yaml`` (what the phrase file was tuned on) list ``{context, text, expect}``;
``expect`` is printed as ``voicecoach understand --json`` prints an answer (``content.answer.shown``).
The text figure goes through ``Phrases.understand`` alone, no engine involved; the same items
spoken by synthetic voices are scored per engine in :mod:`.accuracy`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent / "phrasings"
SETS = {"heldout": HERE / "heldout.yaml", "tuning": HERE / "tuning.yaml"}
"""The phrasing sets, by name."""
COMMANDS = ("stop", "pause", "resume", "repeat", "skip", "slower", "faster", "how_many_left", "help", "done")
"""Global commands: an ``expect`` naming one means that command, whatever the context."""


def load(name_or_path: str | Path) -> list[dict]:
    """The items of a phrasing set (a name in SETS or a path)."""
    path = SETS.get(str(name_or_path), Path(name_or_path))
    items = yaml.safe_load(Path(path).read_text())
    if not isinstance(items, list) or not all(isinstance(i, dict) and {"context", "text", "expect"} <= set(i)
                                              for i in items):
        raise ValueError(f"{path}: not a list of {{context, text, expect}} items")
    return items


def expected(context: str, expect) -> tuple | None:
    """An item's ``expect`` as the (kind, value) the accuracy code compares; None: no answer may be given."""
    if expect is None:
        return None
    if expect in COMMANDS:
        return (expect, None)
    if context == "idle":
        return ("last_session", None) if expect == "last_session" else ("start", expect)
    if context == "clearance":  # the clearance question's answers are yes/no
        return ("yesno", expect)
    return (context, expect)


def score(rows: list[dict], by: str | None = None) -> dict:
    """Items right (the expected answer, or none when none is expected), rejected (no answer where one was
    expected), wrong (another answer where one was expected) and false accepts (an answer where none was)."""
    n = len(rows)
    correct = sum(1 for r in rows if same(r["got"], r["expected"]))
    rejected = sum(1 for r in rows if r["expected"] is not None and r["got"] is None)
    null = [r for r in rows if r["expected"] is None]
    accepted = sum(1 for r in null if r["got"] is not None)
    out = {"n": n, "correct": correct, "rejected": rejected, "wrong": n - correct - rejected - accepted,
           "accuracy": correct / n if n else None,
           "false_accept": {"n": len(null), "accepted": accepted, "rate": accepted / len(null) if null else None}}
    if by:
        groups: dict[str, list] = defaultdict(list)
        for r in rows:
            groups[r[by]].append(r)
        out[f"by_{by}"] = {k: score(v) for k, v in sorted(groups.items())}
    return out


def same(got, want) -> bool:
    """The answer taken is the one expected (or none was taken and none expected)."""
    return (got is None and want is None) or (got is not None and want is not None and tuple(got) == tuple(want))


def understood_rows(phrases, items: list[dict]) -> list[dict]:
    """Each item read by ``Phrases.understand`` (exactly what `voicecoach understand` prints)."""
    out = []
    for item in items:
        u = phrases.understand(item["text"], item["context"])
        got = (u.answer.kind, u.answer.value) if u.answer else None
        out.append({"context": item["context"], "text": item["text"], "expect": item["expect"],
                    "expected": expected(item["context"], item["expect"]), "got": got, "why": u.why})
    return out


def text_figures(phrases=None) -> dict:
    """Understanding accuracy of every phrasing set's text, per context, with its false accepts and misses."""
    from ..content.phrases import Phrases
    from .accuracy import dangerous

    phrases = phrases or Phrases.load()
    out = {}
    for name in SETS:
        rows = understood_rows(phrases, load(name))
        fig = score(rows, by="context")
        fig["dangerous"] = sum(dangerous(r["expected"], r["got"]) for r in rows)
        misses = [r for r in rows if not same(r["got"], r["expected"])]
        fig["misses_by_why"] = dict(Counter(r["why"] for r in misses).most_common())
        fig["misses"] = [{k: r[k] for k in ("context", "text", "expect", "got", "why")} for r in misses]
        out[name] = fig
    return out
