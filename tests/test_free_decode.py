"""The free decode in its own process: same results as in-process, stale requests dropped, a dead child
costs only verification (answers count as unverified) and comes back."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pocketsphinx
import pytest

from voicecoach.speech.asr import read_wav
from voicecoach.speech.free_decode import FreeDecoder, model_paths
from voicecoach.speech.rejection import SphinxTuning

DATA = Path(__file__).parents[2] / "shared" / "audio" / "speech_commands"
BEAM = SphinxTuning().verify_beam


@pytest.fixture(scope="module")
def free():
    decoder = FreeDecoder(BEAM)
    yield decoder
    decoder.close()


def sample(n: int) -> list[bytes]:
    files = sorted(DATA.glob("[a-z]*/*.wav"))
    assert files, f"no clips in {DATA}"
    return [read_wav(f) for f in random.Random(5).sample(files, n)]


def in_process(pcm: bytes) -> str | None:
    hmm, dic, lm, _ = model_paths()
    dec = in_process.dec = getattr(in_process, "dec", None) or pocketsphinx.Decoder(
        hmm=str(hmm), dict=str(dic), lm=str(lm), beam=BEAM, pbeam=BEAM, wbeam=1e-20, lpbeam=1e-20,
        lponlybeam=1e-20, loglevel="FATAL")
    dec.reinit_feat()
    dec.start_utt()
    dec.process_raw(pcm, full_utt=True)
    dec.end_utt()
    hyp = dec.hyp()
    return hyp.hypstr if hyp is not None and hyp.hypstr else None


def test_child_hears_what_an_in_process_decoder_hears(free):
    clips = sample(8)
    heard = []
    for pcm in clips:
        free.start(pcm)
        heard.append(free.result().text)
    assert heard == [in_process(pcm) for pcm in clips]
    assert any(heard), "nothing was heard at all"


def test_pronunciations_and_phones(free):
    found = free.pronunciations(["yes", "either", "notaword"])
    assert found["yes"] == ["Y EH S"] and len(found["either"]) >= 2 and found["notaword"] == []
    free.add_words({"notaword": "N AA T AH W ER D"})
    assert free.pronunciations(["notaword"])["notaword"] == ["N AA T AH W ER D"]
    pcm = sample(1)[0]
    free.start(pcm)
    result = free.result()
    if result.text:
        assert result.phones == " ".join(free.pronunciations([w])[w][0] for w in result.text.split())


def test_an_uncollected_result_is_dropped(free):
    a, b = sample(2)
    free.start(a)
    free.start(b)
    assert free.result().text == in_process(b)
    assert free.result().text is None  # nothing pending


def test_a_dead_child_means_unverified_then_it_comes_back(free, caplog):
    pcm = sample(1)[0]
    expected = in_process(pcm)
    free.add_words({"glideable": "G L AY D AH B AH L"})
    free.start(pcm)
    free._proc.kill()
    free._proc.wait()
    with caplog.at_level(logging.WARNING, logger="voicecoach"):
        assert free.result().text is None
        free.start(pcm)  # restarted here
        assert "starting it again" in caplog.text
    assert free.result().text == expected and free.pid is not None
    assert free.pronunciations(["glideable"])["glideable"] == ["G L AY D AH B AH L"]  # taught words survive


def test_close_ends_the_child():
    decoder = FreeDecoder(BEAM)
    proc = decoder._proc
    decoder.close()
    assert proc.poll() is not None and decoder.pid is None


def test_audio_decoded_again_reuses_its_result(free):
    """A recording heard in several contexts (hear, the benchmark) is decoded once: shown by a dead child,
    which the same audio does not need and other audio does."""
    a, b = sample(3)[1:]
    free.start(a)
    first = free.result()
    free._proc.kill()
    free._proc.wait()
    free.start(a)
    assert free.result() == first and free.pid is None
    free.start(b)  # new audio: the child is needed, and started again
    assert free.result().text == in_process(b) and free.pid is not None


EXIT_PROBE = """
import sys
from voicecoach.speech.asr import read_wav
from voicecoach.speech.free_decode import FreeDecoder
free = FreeDecoder(float(sys.argv[1]))
free.start(b"".join(read_wav(f) for f in sys.argv[2:]))  # ends before this decode does
"""


def test_a_coach_that_exits_mid_decode_leaves_no_traceback():
    """The child finishes its decode after the parent has gone: it ends quietly (Ctrl-C must never show one)."""
    import subprocess
    import sys

    files = sorted(DATA.glob("yes/*.wav"))[:5]
    res = subprocess.run([sys.executable, "-c", EXIT_PROBE, repr(BEAM), *map(str, files)], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-2000:]
