"""The unconstrained decode (PocketSphinx with its general US English language model) in a child process.

It is the slowest of the checks an answer needs (60-70 % of the decoding time) and PocketSphinx holds
Python's lock while it decodes, so in the same process it could only run after the grammar decodes.
In its own process it runs on a second core beside them: ``start`` hands it an utterance at once and
``result`` collects what it heard when the rejection rules need it (measured: a sure "yes" checked in
~150 ms instead of ~300 ms, the grammar decodes and the phone loop running meanwhile). Results are the
same as in-process: the same model, settings and audio, with a fresh front end for every decode.

The child also answers dictionary questions (a word's pronunciations), so the 130,000-word dictionary
and the language model are loaded once, there. If it dies, every utterance until it is back counts
as unverified -- which only makes the rejection rules stricter -- and it is started again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import subprocess
import sys
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

log = logging.getLogger("voicecoach")

RESULT_TIMEOUT = 10.0
"""Seconds to wait for one decode before the child is taken as hung (a decode takes well under 1 s)."""
START_TIMEOUT = 60.0
"""Seconds the child may take to load the model and answer its first question."""
PIPE_BYTES = 1 << 20
"""Size asked for the pipe to the child: an utterance is at most 10 s (320 KB)."""
REMEMBERED = 8
"""Results kept for audio decoded again (a recording heard in several contexts: `hear`, the benchmark)."""


@dataclass(frozen=True)
class Heard:
    """What the free decode made of one utterance."""

    text: str | None
    """The words it heard, None for nothing."""
    phones: str | None
    """Their phones (first pronunciations), None when any word has none."""


def model_paths() -> tuple[Path, Path, Path, Path]:
    """(acoustic model, dictionary, language model, phone language model) shipped in PocketSphinx's wheel."""
    import pocketsphinx

    base = Path(pocketsphinx.get_model_path()) / "en-us"
    return base / "en-us", base / "cmudict-en-us.dict", base / "en-us.lm.bin", base / "en-us-phone.lm.bin"


def audio_key(pcm: bytes) -> bytes:
    """A short digest of an utterance's audio: the key for results that depend on nothing else."""
    return hashlib.blake2b(pcm, digest_size=16).digest()


class FreeDecoderError(RuntimeError):
    """The free decoder's process cannot be started."""


class FreeDecoder:
    """The main process's handle on the child: one decode at a time, started early, collected late."""

    def __init__(self, beam: float) -> None:
        self.beam = beam
        self._proc: subprocess.Popen | None = None
        self._pending: int | None = None
        """The request whose result ``result`` returns (start() clears it before any restart)."""
        self._seq = 0
        self._added: dict[str, str] = {}
        self._known: OrderedDict[bytes, Heard] = OrderedDict()
        """The latest results by their audio's digest (the decode depends on nothing else)."""
        self._digest: bytes | None = None
        """The digest of the audio given to ``start``."""
        self._spawn()

    @property
    def pid(self) -> int | None:
        """The child's process id (None while it is not running)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def _spawn(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        _widen(to_child_w)
        cmd = [sys.executable, "-m", "voicecoach.speech.free_decode", str(to_child_r), str(from_child_w), repr(self.beam)]
        try:
            self._proc = subprocess.Popen(cmd, pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL,
                                          env=_env())
        except OSError as exc:
            raise FreeDecoderError(f"cannot start the speech recognizer's helper process: {exc}") from exc
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self._send_conn = Connection(to_child_w, readable=False)
        self._conn = Connection(from_child_r, writable=False)
        self._finalizer = weakref.finalize(self, _stop, self._proc, self._send_conn, self._conn)
        if self._added:  # a restarted child learns the words its predecessor was taught
            self._send("add", self._added)

    def _send(self, kind: str, arg: object) -> int:
        self._seq += 1
        self._send_conn.send((self._seq, kind, arg))
        return self._seq

    def _answer(self, seq: int, timeout: float) -> object:
        """The child's answer to request ``seq``; answers to earlier requests are dropped on the way."""
        while True:
            if not self._conn.poll(timeout):
                raise TimeoutError(f"no answer in {timeout:.0f} s")
            got, answer = self._conn.recv()
            if got == seq:
                return answer

    def pronunciations(self, words: list[str]) -> dict[str, list[str]]:
        """Each word's pronunciations in the dictionary (CMUdict order, [] when it has none)."""
        try:
            return self._answer(self._send("lookup", words), START_TIMEOUT)
        except (OSError, EOFError, TimeoutError) as exc:
            raise FreeDecoderError(f"the speech recognizer's helper process failed: {exc}") from exc

    def add_words(self, phones: dict[str, str]) -> None:
        """Teach the dictionary words it lacks (word -> phones)."""
        self._known.clear()
        self._added.update(phones)
        self._send("add", phones)

    def start(self, pcm: bytes) -> None:
        """Begin decoding one utterance (16 kHz mono int16). An earlier one not collected yet is dropped:
        the child skips it when it has not begun it. Audio decoded lately is not decoded again."""
        self._pending = None
        self._digest = audio_key(pcm)
        if self._digest in self._known:
            return
        try:
            if self._proc is None or self._proc.poll() is not None:
                log.warning("speech recognizer helper process ended; starting it again")
                self._finalizer()
                self._spawn()
            self._pending = self._send("decode", pcm)
        except (OSError, EOFError, FreeDecoderError) as exc:
            log.warning("free decode unavailable: %s", exc)

    def result(self) -> Heard:
        """What the utterance given to ``start`` was heard as (nothing heard if the child failed)."""
        seq, self._pending = self._pending, None
        digest, self._digest = self._digest, None
        if digest in self._known:
            self._known.move_to_end(digest)
            return self._known[digest]
        if seq is None:
            return Heard(None, None)
        try:
            text, phones = self._answer(seq, RESULT_TIMEOUT)
            heard = self._known[digest] = Heard(text, phones)
            if len(self._known) > REMEMBERED:
                self._known.popitem(last=False)
            return heard
        except (OSError, EOFError, TimeoutError) as exc:
            log.warning("free decode failed (%s); the answer counts as unverified", exc)
            self._finalizer()
            return Heard(None, None)

    def close(self) -> None:
        """Stop the child (also done when this object is collected)."""
        self._finalizer()


def _env() -> dict[str, str]:
    """The child's environment: ours, with this package importable even when it is not installed."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


def _widen(fd: int) -> None:
    """Let a pipe hold a whole 10 s utterance, so handing one over never waits for the child's current decode."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (ImportError, OSError) as exc:  # not Linux, or over /proc/sys/fs/pipe-max-size: the default 64 KB
        log.debug("pipe size unchanged: %s", exc)


def _stop(proc: subprocess.Popen, send: Connection, recv: Connection) -> None:
    for conn in (send, recv):
        try:
            conn.close()
        except OSError:
            pass
    try:
        proc.wait(timeout=2)  # it exits when its input closes
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _serve(read_fd: int, write_fd: int, beam: float) -> None:
    """The child: load the model, then answer requests until the parent closes the pipe."""
    import pocketsphinx

    from ..memory import return_large_blocks

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the coach, which ends this by closing the pipe
    return_large_blocks()
    inbox, outbox = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    hmm, dic, lm, _ = model_paths()
    dec = pocketsphinx.Decoder(hmm=str(hmm), dict=str(dic), lm=str(lm), beam=beam, pbeam=beam, wbeam=1e-20,
                               lpbeam=1e-20, lponlybeam=1e-20, loglevel="FATAL")

    def variants(word: str) -> list[str]:
        out = [p] if (p := dec.lookup_word(word)) is not None else []
        for k in range(2, 10):  # CMUdict's other pronunciations: "the(2)", "either(2)"
            if out and (p := dec.lookup_word(f"{word}({k})")) is not None:
                out.append(p)
            else:
                break
        return out

    while True:
        try:  # until the parent closes the pipe, or is gone while a decode was still running
            seq, kind, arg = inbox.recv()
            if kind == "add":
                for i, (word, phones) in enumerate(arg.items()):
                    dec.add_word(word, phones, i == len(arg) - 1)
                continue
            if kind == "lookup":
                answer: object = {w: variants(w) for w in arg}
            elif inbox.poll(0):  # a decode with a newer request waiting: this one is stale
                answer = (None, None)
            else:
                dec.reinit_feat()  # a fresh noise estimate, as every grammar decode gets
                dec.start_utt()
                dec.process_raw(arg, full_utt=True)
                dec.end_utt()
                hyp = dec.hyp()
                text = hyp.hypstr if hyp is not None and hyp.hypstr else None
                phones = [dec.lookup_word(w) for w in (text or "").split()]
                answer = (text, " ".join(phones) if phones and None not in phones else None)
            outbox.send((seq, answer))
        except (EOFError, OSError):  # OSError includes BrokenPipeError: nobody is left to answer
            return

if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
