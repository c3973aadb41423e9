"""The Whisper recognizer's ceiling: how many answers its evidence could give at best, whatever the decision rule.

For a clip the recognizer missed (asked again, or another answer), every utterance the endpointer cuts is heard
on every look (the first, then each of ``WhisperTuning.looks``); the answers that evidence points to are each
look's judged answer (``whisper_judge.judge``) and its best-scored short answer. The clip counts for the ceiling
when one of them is the expected answer: an oracle that always picked the right look and the right signal, with no
margin against the answer's dangerous opposites, would be right there. A figure below its budget here means no
rule that chooses among these signals reaches the budget: more is in the model's hearing, not in the judgement.
Like PocketSphinx's ``first_choice`` figures, a measurement of the engine, never a way of answering.
"""

from __future__ import annotations

from .corpus import BUDGET_FOLDERS, CONDITIONS
from .phrasings import same


def pointed_answers(rec, pcm: bytes) -> set[tuple]:
    """The (kind, value) answers any look's evidence of the recording points to (``rec``: a Whisper recognizer
    in the clip's context)."""
    from ..speech.whisper_judge import judge

    out: set[tuple] = set()
    for utterance in rec.utterances(pcm):
        for look in (None, *rec.tuning.looks):
            ev, _ = rec.measure(utterance, look)
            answer, _ = judge(ev, rec.tuning)
            if answer is not None:
                out.add((answer.kind, answer.value))
            if ev.scores:
                out.add(ev.best()[0][0])
    return out


def could_be_right(row: dict) -> bool:
    """Right as recognized, or missed where the evidence pointed to the expected answer."""
    return same(row["got"], row["expected"]) or bool(row.get("evidence_right"))


def _share(rows: list[dict]) -> dict:
    n = len(rows)
    right = sum(could_be_right(r) for r in rows)
    return {"n": n, "correct": right, "accuracy": right / n if n else None}


def ceiling(rows: list[dict]) -> dict:
    """The ceiling figures of one engine's recognized rows (the rows it missed carry ``evidence_right``):
    synthetic per condition (answers expected), real yes/no/stop/digits, spoken phrasings (items)."""
    syn = [r for r in rows if r["source"] == "synthetic" and r["expected"] is not None]
    return {"synthetic": {cond: _share([r for r in syn if r["condition"] == cond]) for cond in CONDITIONS},
            "real_budget_set": _share([r for r in rows if r["source"] == "real" and r["expected"] is not None
                                       and r["group"] in BUDGET_FOLDERS]),
            "phrasings": _share([r for r in rows if r["source"] == "phrasing"])}
