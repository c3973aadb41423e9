"""PulseAudio server and module control through ``pactl`` (pulseaudio-utils), root included.

Starting a server: when none answers, we start a per-user daemon with a minimal module set
(native protocol, plus ``module-always-sink`` so there is always a default sink). Running as
root works in user mode (``--system=false``; PulseAudio only prints a warning), needs no D-Bus,
X11 or desktop session, and never exits when idle (``--exit-idle-time=-1``) or on a client's
request (``--disallow-exit``). The flags are the same as in ``scripts/virtual-audio``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

from .backend import AudioError, Kind

START_TIMEOUT = 10.0
"""Seconds to wait for a freshly started server to answer."""

SERVER_ARGS = [
    "--daemonize=yes", "--system=false", "--exit-idle-time=-1", "--disallow-exit=yes",
    "--disallow-module-loading=no", "-n",
    "--load=module-native-protocol-unix", "--load=module-always-sink",
    "--log-target=syslog",
]
"""How we start PulseAudio: daemon, user mode (also as root), no default.pa, never idle-exits."""


def _env() -> dict:
    env = dict(os.environ, LC_ALL="C")
    return env


def pactl(*args: str, check: bool = True, timeout: float = 10.0) -> str:
    """Run ``pactl ARGS``; its stdout, or AudioError (check=True) when it fails."""
    if not shutil.which("pactl"):
        raise AudioError("pactl is not installed (apt install pulseaudio-utils).")
    try:
        res = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=timeout,
                             env=_env(), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise AudioError("PulseAudio did not answer in time.") from exc
    if res.returncode != 0 and check:
        why = (res.stderr or res.stdout).strip().splitlines()
        raise AudioError(f"pactl {' '.join(args[:2])} failed: {why[-1] if why else 'no reason given'}.")
    return res.stdout


def running() -> bool:
    """True when a PulseAudio server answers for this user."""
    if not shutil.which("pactl"):
        return False
    try:
        res = subprocess.run(["pactl", "info"], capture_output=True, timeout=5, env=_env(),
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0


def _fix_runtime_dir() -> None:
    # A stale XDG_RUNTIME_DIR (e.g. /run/user/0 without a login session) breaks server and
    # clients alike; without it PulseAudio falls back to a private directory under /tmp.
    rd = os.environ.get("XDG_RUNTIME_DIR")
    if rd and not (os.path.isdir(rd) and os.access(rd, os.W_OK)):
        del os.environ["XDG_RUNTIME_DIR"]


def start() -> bool:
    """Make sure a server runs; True if this call started it. AudioError if it cannot."""
    _fix_runtime_dir()
    if running():
        return False
    exe = shutil.which("pulseaudio")
    if not exe:
        raise AudioError("PulseAudio is not installed (apt install pulseaudio pulseaudio-utils).")
    res = subprocess.run([exe, *SERVER_ARGS], capture_output=True, text=True, timeout=30,
                         env=_env(), stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if running():
            return True
        time.sleep(0.05)
    why = [ln for ln in res.stderr.splitlines() if not ln.startswith("W: ")]
    raise AudioError(f"PulseAudio could not be started ({why[-1] if why else 'no reason given'}).")


def stop() -> None:
    """Stop this user's PulseAudio server and wait until it is gone."""
    exe = shutil.which("pulseaudio")
    if exe:
        subprocess.run([exe, "--kill"], capture_output=True, timeout=10, env=_env(),
                       stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while running() and time.monotonic() < deadline:
        time.sleep(0.05)


def load_module(name: str, *args: str) -> int:
    """Load a module; its index."""
    return int(pactl("load-module", name, *args).strip())


def unload_module(index: int) -> None:
    """Unload a module by index (no error if it is already gone)."""
    pactl("unload-module", str(index), check=False)


def names(kind: str) -> list[str]:
    """Names of the server's ``sinks``, ``sources`` or ``modules`` (module: its name)."""
    out = []
    for line in pactl("list", "short", kind).splitlines():
        parts = line.split("\t")
        if len(parts) > 1:
            out.append(parts[1])
    return out


def modules() -> list[tuple[int, str, str]]:
    """Loaded modules as (index, name, argument)."""
    out = []
    for line in pactl("list", "short", "modules").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].isdigit():
            out.append((int(parts[0]), parts[1], parts[2] if len(parts) > 2 else ""))
    return out


def pulse_devices(kind: Kind) -> list[dict]:
    """PulseAudio's sources (input) or sinks (output) as {name, description}; [] without pactl."""
    if not shutil.which("pactl"):
        return []
    what = "sources" if kind == "input" else "sinks"
    try:
        res = subprocess.run(["pactl", "list", what], capture_output=True, text=True, timeout=5,
                             env={**os.environ, "LC_ALL": "C"})
    except (OSError, subprocess.TimeoutExpired):
        return []
    if res.returncode != 0:
        return []
    found: list[dict] = []
    for line in res.stdout.splitlines():
        line = line.strip()
        if line.startswith("Name: "):
            found.append({"name": line[6:], "description": ""})
        elif line.startswith("Description: ") and found:
            found[-1]["description"] = line[13:]
    return found
