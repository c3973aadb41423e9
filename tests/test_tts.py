"""Speech out: real piper with the en_US-joe-medium voice (no mocks), and its disk cache."""

from __future__ import annotations

import math
import wave
from array import array
from pathlib import Path

import pytest

from voicecoach.speech.pieces import MAX_PIECE_CHARS, split_pieces, split_sentences
from voicecoach.speech.tts import KEEP_LEAD_MS, QUIET, Speech, TTSError, Voice, default_cache_dir, trim_lead

LINE = "Lie face down and let your back relax."


def rms(speech: Speech) -> float:
    samples = array("h", speech.pcm)
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tts-cache")


@pytest.fixture(scope="module")
def voice(cache: Path) -> Voice:
    """One loaded voice shared by the module (loading takes about half a second)."""
    return Voice(cache_dir=cache)


def test_a_line_is_audible_with_a_plausible_duration(voice):
    speech = voice.speech(LINE)
    assert speech.text == LINE
    assert speech.sample_rate == voice.sample_rate == 22050
    assert len(speech.pcm) % 2 == 0
    assert rms(speech) > 1000, "the audio is (nearly) silent"
    # eight words at a calm pace: well over a second, well under five
    assert 1.2 < speech.duration < 5.0
    short = voice.speech("Seven.")
    assert 0.2 < short.duration < 1.5
    assert rms(short) > 1000


def lead_ms(speech: Speech) -> float:
    samples = array("h", speech.pcm)
    first = next(i for i, s in enumerate(samples) if abs(s) > QUIET)
    return 1000 * first / speech.sample_rate


def test_a_line_starts_sounding_at_once(voice):
    """Piper begins most lines with ~45 ms of silence; it is cut to KEEP_LEAD_MS, so replies start sooner."""
    for line in (LINE, "Seven.", "Is the pain better, worse, or the same?", "Well done."):
        assert lead_ms(voice.speech(line)) <= KEEP_LEAD_MS + 0.1, line


def test_trim_lead_keeps_the_sound_and_a_little_silence_before_it():
    quiet, sound = [3, -5] * 500, [2000, -2000, 100]
    pcm = array("h", quiet + sound + quiet).tobytes()
    out = array("h", trim_lead(pcm, 16000, keep_ms=5))
    assert out.tolist() == (quiet + sound + quiet)[1000 - 80:]
    assert trim_lead(array("h", quiet).tobytes(), 16000) == array("h", quiet).tobytes()  # all silence: unchanged


def test_cache_hit_returns_identical_bytes_without_loading_the_model(voice, cache):
    first = voice.speech("Press up slowly.")
    other = Voice(cache_dir=cache)
    again = other.speech("Press up slowly.")
    assert again.pcm == first.pcm
    assert other.loads == 0 and other.synthesized == 0
    assert voice.loads == 1, "the model is loaded once per Voice, however many lines it says"


def test_whitespace_does_not_change_the_cache_entry(voice):
    assert voice.speech("  Press   up slowly. ").pcm == voice.speech("Press up slowly.").pcm


def test_cache_is_keyed_by_voice_settings(voice, cache):
    base = voice.speech(LINE)
    slow = Voice(cache_dir=cache, length_scale=1.5)
    assert slow.voice_id != voice.voice_id
    assert not slow.is_cached(LINE)
    slower = slow.speech(LINE)
    assert slow.synthesized == 1
    assert slower.duration > base.duration * 1.2
    assert slow.is_cached(LINE) and voice.is_cached(LINE)


def test_prepare_synthesizes_only_what_is_missing(voice):
    voice.speech("Seven.")
    before = voice.synthesized
    assert voice.prepare(["Eight.", "Nine.", "Eight.", "Seven."]) == 2
    assert voice.synthesized == before + 2
    assert voice.prepare(["Eight.", "Nine.", "Seven."]) == 0
    assert voice.is_cached("Nine.")


def test_sentences_yields_one_speech_per_sentence_lazily(cache, tmp_path):
    fresh = Voice(cache_dir=tmp_path)
    text = "You did three sessions this week. Your pain moved toward your back! Well done?"
    parts = fresh.sentences(text)
    first = next(parts)
    assert first.text == "You did three sessions this week."
    assert fresh.synthesized == 1, "the first sentence comes before the rest is synthesized"
    rest = list(parts)
    assert [s.text for s in rest] == ["Your pain moved toward your back!", "Well done?"]
    assert all(rms(s) > 1000 and s.duration > 0.3 for s in [first, *rest])


def test_split_sentences():
    assert split_sentences("One. Two!  Three? \"Four.\" Five") == ["One.", "Two!", "Three?", "\"Four.\"", "Five"]
    assert split_sentences("  ") == []
    assert split_sentences("Hold for 2.5 seconds.") == ["Hold for 2.5 seconds."]


LONG = ("Prone lying, Prone props, Press-up, Press-up with hips off center, Standing side glide, "
        "Flexion rotation stretch and Lying flexion, knees to chest: no change.")


def test_split_pieces_cuts_after_clauses_and_gives_the_sentence_back():
    pieces = split_pieces(LONG)
    assert " ".join(pieces) == LONG
    assert len(pieces) > 1 and all(len(p) <= MAX_PIECE_CHARS for p in pieces)
    assert all(p.endswith((",", ";", ":", ".")) for p in pieces), "pieces end at clause ends"
    assert split_pieces("Lie face down, and relax.") == ["Lie face down, and relax."]
    assert split_pieces("  ") == []
    assert split_pieces("Lie on your stomach with your elbows bent and your hands flat on the floor under your "
                        "shoulders.") == ["Lie on your stomach with your elbows bent",
                                          "and your hands flat on the floor under your shoulders."]
    long_clause = " ".join(["press"] * 30)
    assert " ".join(split_pieces(long_clause, 20)) == long_clause
    assert all(len(p) <= 20 for p in split_pieces(long_clause, 20))


def test_a_long_sentence_reaches_piper_in_pieces_and_sounds_whole(voice, monkeypatch):
    """Piper's memory grows with the audio of one call: a long sentence goes in clause-sized pieces."""
    piper = voice._load()
    calls = []
    real = type(piper).synthesize

    def spy(self, text, *args, **kwargs):
        calls.append(text)
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(type(piper), "synthesize", spy)
    speech = voice.speech(LONG + " Again.")  # not cached yet
    assert calls == split_pieces(LONG + " Again.")
    assert 6.0 < speech.duration < 15.0 and rms(speech) > 1000


def test_piper_runs_one_piece_at_a_time(voice, monkeypatch):
    """The coach speaks while lines are prepared in the background: piper runs are never simultaneous
    (each run holds its own buffers: two at once raised the peak memory by 45 MB)."""
    import threading

    piper = voice._load()
    real = type(piper).synthesize
    active, most = [0], [0]

    def spy(self, text, *args, **kwargs):
        active[0] += 1
        most[0] = max(most[0], active[0])
        try:
            yield from real(self, text, *args, **kwargs)
        finally:
            active[0] -= 1

    monkeypatch.setattr(type(piper), "synthesize", spy)
    texts = [f"Breathe in slowly, {n} times, and let your back relax, then rest." for n in ("two", "three", "four")]
    threads = [threading.Thread(target=voice.speech, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(voice.is_cached(t) for t in texts)
    assert most[0] == 1


@pytest.mark.parametrize("damage", ["empty", "truncated", "flipped", "garbage"])
def test_a_corrupt_cache_entry_is_synthesized_again(voice, damage):
    text = f"Rest for a moment, {damage}."
    good = voice.speech(text)
    path = voice._path(text)
    data = path.read_bytes()
    broken = {"empty": b"", "truncated": data[: len(data) // 2],
              "flipped": data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:],
              "garbage": b"not a cache entry at all"}[damage]
    path.write_bytes(broken)
    before = voice.synthesized
    again = voice.speech(text)
    assert voice.synthesized == before + 1
    assert rms(again) > 1000 and abs(again.duration - good.duration) < 0.5 * good.duration
    assert voice.is_cached(text), "the entry is rewritten"


def test_hold_ends_the_preparing_run_and_the_line_is_made_once_let_go(tmp_path):
    """The patient starts speaking while a line is prepared ahead of need: that piper run ends at once (it
    would take a core the decoder wants), nothing more is prepared while held, and once let go every line is
    made whole and cached; a line the coach must say now is made even while held."""
    import threading
    import time

    voice = Voice(cache_dir=tmp_path)
    session = voice._load().session
    real, runs = session.session.run, []

    def spy(*args, **kwargs):  # each run: "ended" or "cancelled" (onnxruntime raised at the terminate flag)
        runs.append("running")
        try:
            out = real(*args, **kwargs)
            runs[-1] = "ended"
            return out
        except Exception:
            runs[-1] = "cancelled" if session.cancelled else "failed"
            raise

    session.session.run = spy
    lines = [f"Breathe in slowly {n} times, and let your back relax completely, then rest on the mat."
             for n in ("two", "three", "four", "five")]
    done = threading.Event()
    preparing = threading.Thread(target=lambda: (voice.prepare(lines), done.set()))
    preparing.start()
    while "running" not in runs:
        time.sleep(0.001)
    voice.hold(True)
    while runs[-1] == "running":
        time.sleep(0.001)
    assert runs[-1] == "cancelled", runs
    held = len(runs)
    now = voice.speech("Seven.")  # the coach's own line goes through
    assert rms(now) > 1000 and len(runs) == held + 1 and runs[-1] == "ended"
    time.sleep(0.5)
    assert len(runs) == held + 1 and not done.is_set(), "nothing is prepared while held"
    voice.hold(False)
    preparing.join(60)
    assert done.is_set() and all(voice.is_cached(line) for line in lines)
    assert runs.count("failed") == 0 and runs.count("cancelled") == 1
    for line in lines:
        speech = voice.speech(line)
        assert rms(speech) > 1000 and 3.0 < speech.duration < 9.0, (line, speech.duration)


def test_a_stopped_preparation_returns_and_caches_nothing_half_made(tmp_path):
    import threading

    voice = Voice(cache_dir=tmp_path)
    stop = threading.Event()
    voice.hold(True)
    stop.set()
    assert voice.prepare(["One more line to make.", "And another."], stop) == 0
    assert not voice.is_cached("One more line to make.")


def test_cache_writes_leave_no_temporary_files(voice, cache):
    voice.prepare(["Turn onto your side.", "Bend your knees."])
    assert not [p for p in cache.iterdir() if not p.name.endswith(".pcm")]


def test_an_unwritable_cache_still_speaks(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache dir should be")
    v = Voice(cache_dir=blocker / "tts")
    assert rms(v.speech("Seven.")) > 1000


def test_write_wav(voice, tmp_path):
    out = tmp_path / "line.wav"
    voice.write_wav("Seven.", out)
    with wave.open(str(out), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 22050)
        assert wav.readframes(wav.getnframes()) == voice.speech("Seven.").pcm


def test_missing_voice_file_is_one_clear_sentence(tmp_path):
    with pytest.raises(TTSError) as err:
        Voice(model=tmp_path / "en_US-nobody.onnx", cache_dir=tmp_path)
    message = str(err.value)
    assert "en_US-nobody.onnx does not exist" in message
    assert message.endswith(".") and "\n" not in message


def test_voice_without_config_and_broken_voice_file(tmp_path):
    model = tmp_path / "broken.onnx"
    model.write_bytes(b"this is not an onnx model")
    with pytest.raises(TTSError, match=r"no config next to it \(broken.onnx.json\)"):
        Voice(model=model, cache_dir=tmp_path)
    (tmp_path / "broken.onnx.json").write_text('{"audio": {"sample_rate": 22050}}')
    v = Voice(model=model, cache_dir=tmp_path / "cache")
    with pytest.raises(TTSError, match=r"broken.onnx cannot be loaded"):
        v.speech("Seven.")
    (tmp_path / "broken.onnx.json").write_text("{not json")
    with pytest.raises(TTSError, match="unreadable"):
        Voice(model=model, cache_dir=tmp_path)


def test_default_cache_dir_follows_voicecoach_home(monkeypatch, tmp_path):
    monkeypatch.setenv("VOICECOACH_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "tts"
    assert Voice().cache_dir == tmp_path / "tts"


PIPER_MEMORY_PROBE = """
import sys, tempfile
from voicecoach.memory import return_large_blocks
from voicecoach.speech.tts import Voice
return_large_blocks()  # as `voicecoach` starts
def rss_kb():
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:"))
voice = Voice(cache_dir=tempfile.mkdtemp())
voice._load()
loaded = rss_kb()
for text in sys.argv[1:]:
    voice.speech(text)
print(rss_kb() - loaded)
"""


def test_piper_gives_its_working_memory_back_after_speaking():
    """onnxruntime keeps its arena at the largest run's size (+100 MB after these lines) unless each run shrinks it."""
    import subprocess
    import sys

    lines = [LONG, "Slowly push your upper body up with your arms and keep your hips on the floor.", LINE]
    out = subprocess.run([sys.executable, "-c", PIPER_MEMORY_PROBE, *lines], capture_output=True, text=True,
                         check=True, timeout=120)
    grown_mb = int(out.stdout.strip()) / 1024
    assert grown_mb < 40, f"resident memory stayed {grown_mb:.0f} MB above the loaded voice's"


def test_the_lines_prepared_ahead_start_with_a_session_and_include_re_asks_and_the_summary():
    """What a first run synthesizes in the background: the greeting, then the default program's lines (needed
    first), and also each question's "Sorry, I didn't catch that ..." and the summary's fixed sentences."""
    from voicecoach.app import Content
    from voicecoach.coach.coach import DEFAULT_PROGRAM
    from voicecoach.rehearse import coach_lines

    content = Content.load()
    lines = coach_lines(content)
    assert lines[0] == content.lines.get("idle_ready")
    assert lines[1] == content.lines.get("session_start", program=content.library.program(DEFAULT_PROGRAM).name)
    sorry = {line for line in lines if line.startswith("Sorry, I didn't catch that.")}
    assert len(sorry) >= 5 and content.lines.get("sorry_paused") in sorry
    assert content.lines.get("summary_none") in lines and "You stopped the session early." in lines
