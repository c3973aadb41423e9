"""Tests for voicecoach.content.phrases: parsing answers and listing accepted sentences."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from hassil import Intents, recognize_all
from hypothesis import given, settings
from hypothesis import strategies as st

from voicecoach.content.phrases import CONTEXTS, GLOBAL, Answer, Phrases, _key, expand, prompts_dir

PHRASES_YAML = prompts_dir() / "phrases.yaml"
GLOBAL_KINDS = {"stop", "pause", "resume", "repeat", "skip", "slower", "faster",
                "how_many_left", "help", "done"}


@pytest.fixture(scope="module")
def phrases() -> Phrases:
    return Phrases.load()


CASES = [
    # idle
    ("idle", "start session", "start", "session"),
    ("idle", "let's start", "start", "session"),
    ("idle", "begin", "start", "session"),
    ("idle", "start extension", "start", "extension"),
    ("idle", "Start McKenzie", "start", "extension"),
    ("idle", "start flexion", "start", "flexion"),
    ("idle", "start easy", "start", "easy"),
    ("idle", "start strengthening", "start", "strength"),
    ("idle", "start stretching", "start", "general"),
    ("idle", "last session", "last_session", None),
    ("idle", "how did my last session go?", "last_session", None),
    ("idle", "read my last session", "last_session", None),
    # yesno
    *[("yesno", t, "yesno", "yes") for t in ("yes", "yeah", "yep", "I do", "I have", "Yes, I do.")],
    *[("yesno", t, "yesno", "no") for t in ("no", "nope", "I don't", "no I haven't", "not at all")],
    # location
    ("location", "my back", "location", "back"),
    ("location", "just my lower back", "location", "back"),
    ("location", "buttock", "location", "buttock"),
    ("location", "bottom", "location", "buttock"),
    ("location", "thigh", "location", "thigh"),
    ("location", "down to my knee", "location", "knee"),
    ("location", "calf", "location", "calf"),
    ("location", "foot", "location", "foot"),
    ("location", "my toes", "location", "foot"),
    # side
    ("side", "left", "side", "left"),
    ("side", "on the right side", "side", "right"),
    *[("side", t, "side", "both") for t in ("both", "middle", "both sides", "the middle", "center")],
    # number
    ("number", "seven", "number", 7),
    ("number", "7", "number", 7),
    ("number", "it's a seven", "number", 7),
    ("number", "about six", "number", 6),
    ("number", "seven out of ten", "number", 7),
    ("number", "7 out of 10", "number", 7),
    ("number", "zero", "number", 0),
    ("number", "no pain", "number", 0),
    ("number", "ten", "number", 10),
    ("number", "10", "number", 10),
    ("number", "it's an eight", "number", 8),
    # pain
    *[("pain", t, "pain", "centralized") for t in (
        "gone from the leg", "only in my back now", "it's in my back only", "centralized")],
    *[("pain", t, "pain", "partial") for t in (
        "moved up", "up", "toward my back", "better", "a bit better", "higher", "the pain moved up")],
    *[("pain", t, "pain", "same") for t in ("same", "no change", "about the same")],
    *[("pain", t, "pain", "worse") for t in ("worse", "more pain", "it hurts more")],
    *[("pain", t, "pain", "peripheralized") for t in (
        "moved down", "down", "into my leg", "spreading", "further down my leg", "lower")],
    *[("pain", t, "pain", "unable") for t in ("I can't", "too painful", "I can't do it")],
    # global
    ("global", "resume", "resume", None),
    ("global", "continue", "resume", None),
    ("global", "go on", "resume", None),
    ("global", "I'm ready", "resume", None),
    ("global", "say that again", "repeat", None),
    ("global", "what?", "repeat", None),
    ("global", "how many left", "how_many_left", None),
    ("global", "how many more", "how_many_left", None),
    ("global", "that's it", "done", None),
    *[("global", t, t, None) for t in ("stop", "pause", "repeat", "skip", "slower", "faster", "help")],
    *[("global", t, "done", None) for t in ("done", "finished")],
]


@pytest.mark.parametrize(("context", "text", "kind", "value"), CASES)
def test_examples_parse_to_their_answer(phrases, context, text, kind, value):
    answer = phrases.parse(text, context)
    assert answer is not None, text
    assert (answer.kind, answer.value) == (kind, value)
    assert type(answer.value) is type(value)


@pytest.mark.parametrize("context", CONTEXTS)
def test_yaml_examples_are_accepted(phrases, context):
    assert phrases.examples(context)
    for text in phrases.examples(context):
        assert phrases.parse(text, context) is not None


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("text", ["stop", "pause", "resume", "repeat", "skip", "how many left", "help", "done"])
def test_global_commands_work_everywhere(phrases, context, text):
    answer = phrases.parse(text, context)
    if (context, text) == ("idle", "resume"):  # before a session, resuming starts one (global_means)
        assert (answer.kind, answer.value) == ("start", "session")
        return
    assert answer is not None and answer.kind in GLOBAL_KINDS and answer.value is None


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("text", [
    "", "   ", "?!", "banana", "maybe", "not sure", "I'm not sure", "maybe yes", "yes no",
    "not better", "better not", "no better", "not worse", "the pain is going up",
    "the pain is going down", "start banana", "eleven", "11", "1.5", "seventy",
])
def test_unclear_text_gives_none(phrases, context, text):
    assert phrases.parse(text, context) is None


@pytest.mark.parametrize(("text", "context"), [
    ("knee", "yesno"), ("yes", "pain"), ("seven", "side"), ("left", "number"),
    ("start session", "pain"), ("better", "idle"), ("my back", "pain"), ("nine", "yesno"),
    ("last session", "number"), ("I can't", "location"),
])
def test_context_isolation(phrases, text, context):
    assert phrases.parse(text, context) is None


def test_same_words_mean_what_the_context_says(phrases):
    # "I can't" answers the pain question; to a red-flag question ("trouble controlling your
    # bladder?") it could mean either, so it is not a yes/no answer: the coach asks again.
    assert phrases.parse("I can't", "yesno") is None
    assert phrases.parse("I can", "yesno") is None
    assert phrases.parse("I can't", "pain").value == "unable"


def test_matching_ignores_case_punctuation_and_apostrophes(phrases):
    expected = Answer(kind="number", value=7, text="it's a seven")
    assert phrases.parse("It's a SEVEN!", "number") == expected
    assert phrases.parse("  it\u2019s   a seven. ", "number").value == 7
    assert phrases.parse("its a seven", "number").value == 7
    assert phrases.parse("I cant do it", "pain").value == "unable"


@pytest.mark.parametrize("method", ["parse", "sentences", "examples"])
def test_unknown_context_raises(phrases, method):
    args = ("yes", "maybe") if method == "parse" else ("maybe",)
    with pytest.raises(ValueError, match="unknown context"):
        getattr(phrases, method)(*args)


def test_no_sentence_maps_to_two_answers():
    raw = yaml.safe_load(PHRASES_YAML.read_text(encoding="utf-8"))
    meanings: dict[str, dict[str, set]] = {c: defaultdict(set) for c in CONTEXTS}
    for context, sentence, meaning, _ in expand(Intents.from_dict(raw)):
        meanings[context][_key(sentence)].add(meaning)
    for context in CONTEXTS:
        merged: dict[str, set] = defaultdict(set)
        for source in {context, GLOBAL}:
            for key, found in meanings[source].items():
                merged[key] |= found
        clashes = {k: v for k, v in merged.items() if len(v) > 1}
        assert not clashes, f"{context}: {clashes}"


@pytest.mark.parametrize("context", CONTEXTS)
def test_sentences_round_trip_through_parse(phrases, context):
    sentences = phrases.sentences(context)
    assert sentences == sorted(set(sentences))
    assert 0 < len(sentences) < 2000
    for sentence in sentences:
        assert sentence == sentence.lower() == " ".join(sentence.split())
        assert not any(ch.isdigit() for ch in sentence)
        answer = phrases.parse(sentence, context)
        assert answer is not None, sentence
        assert answer.text == sentence
        assert (answer.kind in GLOBAL_KINDS) == (context == GLOBAL)


def test_sentences_exclude_global_commands(phrases):
    assert "stop" in phrases.sentences("global")
    assert "stop" not in phrases.sentences("pain")
    assert "better" in phrases.sentences("pain")


@pytest.mark.parametrize("context", [c for c in CONTEXTS if c != GLOBAL])
def test_hassil_recognize_agrees_with_the_table(phrases, context):
    raw = yaml.safe_load(PHRASES_YAML.read_text(encoding="utf-8"))
    raw["intents"] = {k: v for k, v in raw["intents"].items() if k.split(".")[0] in (context, GLOBAL)}
    intents = Intents.from_dict(raw)
    for sentence in phrases.sentences(context) + phrases.sentences(GLOBAL):
        answer = phrases.parse(sentence, context)
        found = {(r.intent.name.split(".")[1], r.entities["value"].value if "value" in r.entities else None)
                 for r in recognize_all(sentence, intents)}
        found = {tuple(raw["global_means"].get(context, {}).get(kind, (kind, value))) for kind, value in found}
        assert found == {(answer.kind, answer.value)}, sentence
    assert not list(recognize_all("not better", intents))


def _write(tmp_path: Path, intents: dict, examples: dict | None = None, **more) -> Path:
    path = tmp_path / "phrases.yaml"
    path.write_text(yaml.safe_dump({"language": "en", "examples": examples or {}, "intents": intents, **more}))
    return path


def test_loader_refuses_a_sentence_with_two_meanings(tmp_path):
    path = _write(tmp_path, {
        "pain.pain": {"data": [{"sentences": ["better"], "slots": {"value": "partial"}},
                               {"sentences": ["[much] better"], "slots": {"value": "worse"}}]}})
    with pytest.raises(ValueError, match="means both"):
        Phrases.load(path)


def test_loader_refuses_a_context_answer_that_shadows_a_global_command(tmp_path):
    path = _write(tmp_path, {
        "pain.pain": {"data": [{"sentences": ["stop"], "slots": {"value": "worse"}}]},
        "global.stop": {"data": [{"sentences": ["stop"]}]}})
    with pytest.raises(ValueError, match="different things"):
        Phrases.load(path)


def test_loader_refuses_unknown_context_and_bad_examples(tmp_path):
    with pytest.raises(ValueError, match="context"):
        Phrases.load(_write(tmp_path, {"kitchen.light": {"data": [{"sentences": ["on"]}]}}))
    with pytest.raises(ValueError, match="not accepted"):
        Phrases.load(_write(tmp_path, {"global.stop": {"data": [{"sentences": ["stop"]}]}},
                            {"global": ["halt"]}))


def test_hints_are_the_offered_answers_and_a_malformed_hint_is_refused(phrases, tmp_path):
    """The recognizer's hint in a context names that context's answers (Whisper is prompted with it)."""
    for context in CONTEXTS:
        offered = [a for part in phrases.hint(context).rstrip("?").split(", ") for a in part.split(" or ") if a]
        assert all(phrases.parse(a, context) is not None for a in offered), (context, offered)
    assert phrases.hint("location") and not phrases.hint("number")
    stop = {"global.stop": {"data": [{"sentences": ["stop"]}]}}
    assert Phrases.load(_write(tmp_path, stop, hints={"global": "Stop?"})).hint("global") == "Stop?"
    for bad in ({"kitchen": "Lights?"}, {"global": ["stop"]}, ["Stop?"]):
        with pytest.raises(ValueError, match="hints"):
            Phrases.load(_write(tmp_path, stop, hints=bad))


def test_yes_no_side_and_score_answers_wait_for_the_full_pause_and_a_malformed_list_is_refused(phrases, tmp_path):
    """Red flags and the therapist's clearance are yes/no, left for right turns the side-aware cues around, the
    score says whether today is acute: those answers (the kinds) are never ended early."""
    assert phrases.full_pause == {"yesno", "side", "number"}
    stop = {"global.stop": {"data": [{"sentences": ["stop"]}]}}
    assert Phrases.load(_write(tmp_path, stop)).full_pause == frozenset()
    for bad in (["kitchen"], "yesno", {"yesno": True}):
        with pytest.raises(ValueError, match="full_pause"):
            Phrases.load(_write(tmp_path, stop, full_pause=bad))


@pytest.mark.parametrize("text", ["carry on", "continue", "I'm ready", "right then, let's crack on with the exercises"])
def test_carrying_on_before_a_session_means_start_session(phrases, text):
    """In idle "carry on" starts a session (the phrase file's global_means); everywhere else it resumes."""
    idle, elsewhere = (phrases.understand(text, c).answer for c in ("idle", "location"))
    assert (idle.kind, idle.value) == ("start", "session")
    assert (elsewhere.kind, elsewhere.value) == ("resume", None)


def test_a_malformed_global_means_is_refused(tmp_path):
    intents = {"global.resume": {"data": [{"sentences": ["carry on"]}]},
               "idle.start": {"data": [{"sentences": ["start"], "slots": {"value": "session"}}]}}
    assert Phrases.load(_write(tmp_path, intents, global_means={"idle": {"resume": ["start", "session"]}})) \
        .parse("carry on", "idle") == Answer("start", "session", "carry on")
    for bad in ({"idle": {"resume": ["dance", "session"]}}, {"idle": {"jump": ["start", "session"]}},
                {"kitchen": {"resume": ["start", "session"]}}, {"idle": {"resume": "start"}}, ["idle"]):
        with pytest.raises(ValueError, match="global_means"):
            Phrases.load(_write(tmp_path, intents, global_means=bad))


def test_load_uses_voicecoach_prompts(tmp_path, monkeypatch):
    _write(tmp_path, {"global.help": {"data": [{"sentences": ["help me"]}]}}, {"global": ["help me"]})
    monkeypatch.setenv("VOICECOACH_PROMPTS", str(tmp_path))
    loaded = Phrases.load()
    assert loaded.sentences("global") == ["help me"]
    assert loaded.parse("Help me!", "pain") == Answer(kind="help", value=None, text="help me")


@settings(max_examples=300, deadline=None)
@given(text=st.text(), context=st.sampled_from(CONTEXTS))
def test_parse_never_raises(phrases, text, context):
    answer = phrases.parse(text, context)
    assert answer is None or isinstance(answer, Answer)
