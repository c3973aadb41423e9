"""Offline recognition, whatever the engine: grammars from the phrase file, endpointing, reading WAV files,
choosing the engine, and `voicecoach hear`. Each engine's accuracy and rejection are tested in
test_asr_whisper.py (the default) and test_asr_pocketsphinx.py.

Real speech comes from shared/audio/speech_commands next to the repo (required: the tests
fail when it is missing).
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import wave
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from voicecoach.audio.levels import levels_db
from voicecoach.content.phrases import Answer, Phrases
from voicecoach.content.answer import opposite
from voicecoach.speech.asr import Grammar, Heard, read_wav
from voicecoach.speech.asr_vosk import find_vosk_model
from voicecoach.speech.endpoint import FRAME_BYTES, Endpointer
from voicecoach.speech.engines import EngineError, load_recognizer
from voicecoach.speech.hear import hear_main

DATA = Path(__file__).parents[2] / "shared" / "audio" / "speech_commands"
DIGITS = "zero one two three four five six seven eight nine".split()
PER_FOLDER = 15


@pytest.fixture(scope="module")
def phrases() -> Phrases:
    return Phrases.load()


def clips(folder: str, n: int = PER_FOLDER) -> list[Path]:
    files = sorted((DATA / folder).glob("*.wav"))
    assert files, f"no clips in {DATA / folder}: shared/audio/speech_commands must be next to the repo"
    random.Random(1).shuffle(files)
    return files[:n]


def run(rec, files: list[Path], context: str, strict: bool = False) -> list[Heard]:
    rec.set_context(context, strict)
    return [rec.recognize(read_wav(f)) for f in files]


def meaning(h: Heard):
    return None if h.answer is None else (h.answer.kind, h.answer.value)


def synth(tmp: Path, engine: str, voice: str, text: str) -> Path:
    path = tmp / f"{engine}-{voice}-{text}.wav".replace(" ", "_").replace("'", "")
    cmd = ["espeak-ng", "-v", voice, "-w", str(path), text] if engine == "espeak-ng" else \
          ["flite", "-voice", voice, "-t", text, "-o", str(path)]
    subprocess.run(cmd, check=True, capture_output=True)
    return path


def test_shared_speech_data_is_there():
    assert DATA.is_dir(), f"{DATA} is missing: clone the repo next to shared/"
    for folder in ["yes", "no", "stop", "up", "down", "_unknown_", "_silence_", *DIGITS]:
        assert list((DATA / folder).glob("*.wav")), folder


def test_grammar_comes_from_the_phrase_file(phrases):
    g = Grammar.from_phrases(phrases)
    assert set(g.sentences["yesno"]) == set(phrases.sentences("yesno")) | set(phrases.sentences("global"))
    assert all(phrases.parse(s, "number") for s in g.sentences["number"])
    assert {phrases.parse(s, "pain").kind for s in g.strict("pain")} == {"stop", "pause"}


def test_opposites():
    a = lambda kind, value: Answer(kind, value, "")  # noqa: E731
    assert opposite(a("yesno", "yes"), a("yesno", "no"))
    assert opposite(a("number", 7), a("number", 10)) and not opposite(a("number", 7), a("number", 8))
    assert opposite(a("pain", "partial"), a("pain", "peripheralized"))
    assert not opposite(a("pain", "same"), a("pain", "worse")) and not opposite(a("stop", None), a("pause", None))


def test_read_wav_converts_rate_and_channels(tmp_path):
    t = np.arange(44100) / 44100
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    path = tmp_path / "stereo.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2), w.setsampwidth(2), w.setframerate(44100)
        w.writeframes(np.repeat(tone, 2).tobytes())
    pcm = np.frombuffer(read_wav(path), np.int16)
    assert abs(len(pcm) - 16000) <= 1
    spectrum = np.abs(np.fft.rfft(pcm))
    assert abs(np.argmax(spectrum) * 16000 / len(pcm) - 440) < 3


def test_engine_choice_and_vosk_model_lookup(phrases, tmp_path, monkeypatch, caplog):
    model = tmp_path / "models" / "vosk-model-small-en-us-0.15"
    for sub in ("am", "conf", "graph"):
        (model / sub).mkdir(parents=True)
    assert find_vosk_model(model) == model
    assert find_vosk_model(model.parent) == model  # the zip's folder unpacked one level down
    monkeypatch.setenv("VOICECOACH_VOSK_MODEL", str(model))
    assert find_vosk_model() == model
    monkeypatch.setenv("VOICECOACH_VOSK_MODEL", str(tmp_path / "nothing"))
    with pytest.raises(EngineError, match="No Vosk model"):  # pointed to, but not there: one sentence
        load_recognizer(phrases)
    monkeypatch.delenv("VOICECOACH_VOSK_MODEL")
    with caplog.at_level("INFO", logger="voicecoach"):
        default = load_recognizer(phrases)
        asked = load_recognizer(phrases, "pocketsphinx")
    try:
        assert (default.engine, asked.engine) == ("whisper", "pocketsphinx")
        assert default.choice.why.startswith("the default") and asked.choice.why == "asked for"
        said = [r.getMessage() for r in caplog.records if "speech recognition" in r.getMessage()]
        assert said[0].startswith("speech recognition: whisper") and said[1].startswith("speech recognition: pocketsphinx")
    finally:
        asked.close()
    with pytest.raises(EngineError, match="Unknown recognition engine"):
        load_recognizer(phrases, "kaldi")


def test_endpointer_ends_early_only_when_asked_and_told_so():
    t = np.arange(8000) / 16000
    burst = (6000 * np.sin(2 * np.pi * 200 * t) * (1 + np.sin(2 * np.pi * 5 * t))).astype(np.int16).tobytes()
    quiet = np.random.default_rng(2).normal(0, 20, 32000).astype(np.int16).tobytes()
    for whole, frames_after in [(True, 4), (False, 10)]:
        asked: list[bytes] = []
        ep = Endpointer(complete=lambda pcm: asked.append(pcm) or whole)
        ep.prime(quiet)
        pcm, ended = quiet + burst + quiet, None
        for i in range(0, len(pcm), 960):  # 30 ms frames
            done = ep.feed(pcm[i:i + 960])
            if done:
                ended = i // 960
                break
        speech_end = (len(quiet) + len(burst)) // 960
        assert len(asked) == 1 and ended is not None
        assert ended - speech_end in (frames_after - 1, frames_after, frames_after + 1)
        if whole:  # asked 60 ms into the pause (it decodes while the rest arrives), ended at 120 ms
            assert len(done[0][0]) - len(asked[0]) == 2 * 960


def test_a_recheck_asks_once_more_a_frame_later_then_ends_early():
    """Barge-in (recheck): the check says no 30 ms into the pause and yes at 60 ms: the utterance ends at
    90 ms, as when the first check says yes; when the early end is at 60 ms or sooner, at once. Without
    recheck it waits for the full pause."""
    t = np.arange(7200) / 16000  # 450 ms: it ends loud, so its first unvoiced frame is the pause's
    burst = (6000 * np.sin(2 * np.pi * 200 * t) * (1 + np.sin(2 * np.pi * 5 * t))).astype(np.int16).tobytes()
    quiet = np.random.default_rng(2).normal(0, 20, 32000).astype(np.int16).tobytes()
    for recheck, early, asks, frames_after in [(True, 3, 2, 3), (False, 3, 1, 10), (True, 2, 2, 2), (True, 1, 2, 2)]:
        asked: list[bytes] = []
        ep = Endpointer(check_frames=1, early_frames=early, recheck=recheck,
                        complete=lambda pcm: asked.append(pcm) or len(asked) == 2)
        ep.prime(quiet)
        pcm = quiet + burst + quiet
        ended = next(i // 960 for i in range(0, len(pcm), 960) if ep.feed(pcm[i:i + 960]))
        assert len(asked) == asks and len(asked[-1]) - len(asked[0]) == (asks - 1) * 960
        assert ended - (len(quiet) + len(burst)) // 960 in (frames_after - 1, frames_after, frames_after + 1)


def test_a_barge_in_word_may_end_after_what_sounded_like_a_pause():
    """Barge-in (``resume_frames``): the check says yes 30 ms into a pause and the word's last sound follows (flite's
    "pau... s"): the utterance ends 60 ms after that sound, with one check; a sentence that goes on voids the yes."""
    t = np.arange(8000) / 16000
    burst = (6000 * np.sin(2 * np.pi * 200 * t) * (1 + np.sin(2 * np.pi * 5 * t))).astype(np.int16).tobytes()
    quiet = np.random.default_rng(2).normal(0, 20, 32000).astype(np.int16).tobytes()
    for resume, tail, whole in [(5, burst[: 960 * 3], True), (0, burst[: 960 * 3], False), (5, burst, False)]:
        asked: list[bytes] = []
        ep = Endpointer(check_frames=1, early_frames=2, resume_frames=resume,
                        complete=lambda pcm: asked.append(pcm) or len(asked) == 1)
        ep.prime(quiet)
        pcm = quiet + burst + quiet[:960] + tail + quiet
        ends = [(i // 960, u) for i in range(0, len(pcm), 960) for u in ep.feed(pcm[i:i + 960])]
        tail_end = (len(quiet) + len(burst) + 960 + len(tail)) // 960
        assert len(ends) == 1 and len(ends[0][1][0]) > len(burst) + len(tail), resume
        assert (ends[0][0] - tail_end in (1, 2, 3)) == whole, (resume, ends[0][0] - tail_end)
        assert len(asked) == (1 if whole else 2)


def test_speech_after_the_early_check_voids_its_yes():
    """The check says yes 60 ms into a pause, but the person goes on: the utterance does not end early (an
    endpointer whose early end is its check ends it there)."""
    t = np.arange(8000) / 16000
    burst = (6000 * np.sin(2 * np.pi * 200 * t) * (1 + np.sin(2 * np.pi * 5 * t))).astype(np.int16).tobytes()
    quiet = np.random.default_rng(2).normal(0, 20, 32000).astype(np.int16).tobytes()
    gap = quiet[: 960 * 3]  # 90 ms: past the check (60 ms), short of the early end (120 ms)
    asked: list[bytes] = []
    ep = Endpointer(complete=lambda pcm: asked.append(pcm) or True)
    ep.prime(quiet)
    pcm = quiet + burst + gap + burst + quiet
    ends = [(i // 960, u) for i in range(0, len(pcm), 960) for u in ep.feed(pcm[i:i + 960])]
    assert len(asked) == 2 and len(ends) == 1
    assert len(ends[0][1][0]) > len(burst) * 2  # both bursts in one utterance
    at_check = Endpointer(check_frames=1, early_frames=1, complete=lambda pcm: True)
    at_check.prime(quiet)
    ends = [(i // 960, u) for i in range(0, len(pcm), 960) for u in at_check.feed(pcm[i:i + 960])]
    assert len(ends[0][1][0]) < len(burst) * 2  # ended at its check: what follows is another utterance


def test_a_fading_vowel_ends_where_a_listener_hears_it_end(tmp_path):
    """flite's "no" and "continue" fade out slowly: on a quiet line the endpointer's check (60 ms into the pause)
    comes at most 90 ms after the last 20 ms a listener hears (RMS above -36 dBFS, the outside latency client's
    mark); counting the fade down to the 30 dB gate as speech, as without ``max_below_peak_db``, 130-170 ms."""
    quiet = np.random.default_rng(2).normal(0, 3, 16000).astype(np.int16)
    for word in ("no", "continue"):
        said = np.frombuffer(read_wav(synth(tmp_path, "flite", "slt", word)), np.int16)
        pcm = np.concatenate([quiet, said, quiet, quiet])
        rms = np.sqrt((pcm[: len(pcm) // 320 * 320].astype(float).reshape(-1, 320) ** 2).mean(axis=1))
        heard_end = (np.nonzero(rms > 500)[0].max() + 1) * 320 / 16  # ms
        check_ms = {}
        for gate in (35.0, float("inf")):
            asked: list[float] = []
            ep = Endpointer(max_below_peak_db=gate, complete=lambda utt: asked.append(at) or False)
            ep.prime(quiet.tobytes())
            for i in range(0, len(pcm), 480):
                at = (i + 480) / 16
                ep.feed(pcm[i:i + 480].tobytes())
            check_ms[gate] = asked[0] - heard_end
        assert 30 <= check_ms[35.0] <= 90 < 120 <= check_ms[float("inf")], (word, check_ms)


def test_endpointer_splits_two_utterances():
    ep = Endpointer()
    t = np.arange(8000) / 16000
    burst = (6000 * np.sin(2 * np.pi * 200 * t) * (1 + np.sin(2 * np.pi * 5 * t))).astype(np.int16).tobytes()
    quiet = np.random.default_rng(2).normal(0, 20, 16000).astype(np.int16).tobytes()
    ep.prime(quiet)
    done = ep.feed(quiet + burst + quiet + burst + quiet)
    assert len(done) == 2


def test_a_word_soon_after_a_click_keeps_its_first_sound():
    """A breath or click just before a word is an utterance of its own; the word that follows within the
    first one's hangover must still start with its pre-roll, not where the hangover ended (real "five" after
    a click: its "f" was cut, and Whisper heard "size")."""
    pcm = read_wav(DATA / "five" / "five_798f702a_nohash_0.wav")
    ep = Endpointer(start_frames=2, min_voiced=2)  # the Whisper recognizer's endpointing
    ep.prime(pcm)
    found = [pcm.find(u) / 32000 for u, _ in ep.feed(pcm) + ep.flush()]
    onset = 0.48  # the word's first loud frame (the click is at 0.03-0.15 s)
    assert len(found) == 2 and found[0] < 0.1, found
    assert onset - found[1] >= 0.15, f"the word's utterance starts {1000 * (onset - found[1]):.0f} ms before it"


def test_a_fricative_is_no_pause_where_answers_wait_for_the_full_pause(tmp_path):
    """espeak's "yes... sorry, I misheard, no": the s of "yes", 210 ms of silence and the s of "sorry" are 300 ms
    without a voiced frame (a fricative is as flat as hiss), which ended the utterance after "yes". Holding on
    loud unvoiced frames keeps it whole; a pause of silence still ends it, 300 ms after the last sound."""
    said = read_wav(synth(tmp_path, "espeak-ng", "en-us", "yes... sorry, I misheard, no, I haven't"))
    pcm = said + bytes(16000)
    ends = {}
    for hold in (False, True):
        ep = Endpointer(start_frames=2, min_voiced=2, hold_on_sound=hold)
        ep.prime(pcm)
        ends[hold] = [(pcm.find(u) + len(u)) / 32000 for u, _ in ep.feed(pcm)]
    last_sound = (np.nonzero(levels_db(said, FRAME_BYTES) > 30)[0].max() + 1) * 0.03
    assert len(ends[False]) >= 2 and ends[False][0] < 1.0, ends  # cut after "yes"
    assert len(ends[True]) == 1 and 0 <= ends[True][0] - last_sound <= 0.3, (ends, last_sound)


def test_what_fades_after_an_early_end_starts_no_utterance_of_its_own(tmp_path):
    """An answer ended early (120 ms into what the 35 dB gate calls its fading end) may go on sounding: what
    follows within 300 ms more than 35 dB under its loudest frame (here the answer again, 36 dB down) is not
    the start of the next utterance (the echo test's "my calf" left the rest of its "f" so, heard on its own as
    "S, F."). The same said 0 or 12 dB down, an ordinary next word, still starts one."""
    said = np.frombuffer(read_wav(synth(tmp_path, "flite", "slt", "my calf")), np.int16).astype(np.float64)
    loudest = int(np.abs(said).argmax())
    said = said[loudest - 8000:loudest + 8000]  # "my calf" and 170 ms after it: the copy's "my" follows soon
    quiet = np.random.default_rng(1).normal(0, 2, 8000)
    found = {}
    for fade in (0, 10):
        for down_db in (0, 12, 36):
            pcm = np.concatenate([quiet, said, said * 10 ** (-down_db / 20), quiet])
            pcm = (pcm + np.random.default_rng(2).normal(0, 2, len(pcm))).astype(np.int16).tobytes()
            ep = Endpointer(complete=lambda utt: True, fade_frames=fade)
            ep.prime(quiet.astype(np.int16).tobytes())
            found[fade, down_db] = len([u for i in range(0, len(pcm), 960) for u in ep.feed(pcm[i:i + 960])]
                                       + ep.flush())
    assert found[10, 0] == found[10, 12] == 2, found
    assert found[10, 36] == 1 < found[0, 36], found


def test_hear_command_prints_one_json_line_per_file(tmp_path):
    files = [clips("yes", 3)[0], clips("_silence_", 1)[0]]
    out = io.StringIO()
    with redirect_stdout(out):
        assert hear_main(files, "yesno", True, None) == 0
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [x["file"] for x in lines] == [str(f) for f in files]
    assert set(lines[0]) == {"file", "text", "answer", "confidence", "engine", "ms"}
    assert lines[1]["answer"] is None and lines[1]["text"] is None
    assert all(x["engine"] == "whisper" for x in lines)


