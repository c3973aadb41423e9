"""How a line is cut for piper: into sentences (``Voice.sentences``) and into pieces short enough to synthesize
in one call (``Voice`` synthesizes a long sentence piece by piece)."""

from __future__ import annotations

import re

MAX_PIECE_CHARS = 60
"""Longest text piper synthesizes in one call: its memory grows with the audio (a 10-second sentence took
197 MB on top of the voice, in pieces of at most 60 characters 85 MB), and that spike set the peak memory."""
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")
JOINING_WORDS = frozenset("and or but then so with while until to toward towards under on in from".split())
"""Words a long clause may be cut before (a pause there sounds natural)."""


def split_sentences(text: str) -> list[str]:
    """Split text after . ! ? (and a closing quote or bracket) followed by whitespace; never returns empty pieces."""
    return [s for s in (" ".join(p.split()) for p in _SENTENCE_END.split(text)) if s]


def split_pieces(sentence: str, max_chars: int = MAX_PIECE_CHARS) -> list[str]:
    """A sentence in pieces of at most ``max_chars`` for synthesis: cut after commas, semicolons and
    colons (clauses joined while they fit); a longer clause is cut before a joining word ("and",
    "with"...) where it can be, else between words. Joined with spaces the pieces give the sentence back."""
    pieces: list[str] = []
    for clause in _CLAUSE_END.split(" ".join(sentence.split())):
        if pieces and len(pieces[-1]) + 1 + len(clause) <= max_chars:
            pieces[-1] += " " + clause
        else:
            pieces.extend(_cut_clause(clause.split(), max_chars))
    return pieces


def _cut_clause(words: list[str], max_chars: int) -> list[str]:
    """One clause's words in pieces of at most ``max_chars`` (a single longer word stays whole)."""
    pieces = []
    while len(" ".join(words)) > max_chars and len(words) > 1:
        fits = 1  # how many words fit into this piece
        while len(" ".join(words[:fits + 1])) <= max_chars:
            fits += 1
        joins = [n for n in range(fits // 2 + 1, fits + 1) if words[n].lower() in JOINING_WORDS]
        cut = joins[-1] if joins else fits  # before a joining word, unless that leaves a short stub
        pieces.append(" ".join(words[:cut]))
        words = words[cut:]
    return pieces + ([" ".join(words)] if words else [])
