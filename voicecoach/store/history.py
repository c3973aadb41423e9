"""Crash-safe session history: every coaching event is committed to SQLite as it happens.

The database lives in ``history_dir()/history.sqlite3`` and runs in WAL mode with
``synchronous=FULL`` and autocommit, so killing the process at any moment loses at
most the event being written. Sessions that were never finished (the process died)
are closed later by ``History.recover_interrupted`` with a summary rebuilt from what
was committed. Times are timezone-aware datetimes, stored as ISO-8601 strings; a
"day" is the calendar date in the offset the caller gave. Summaries and events come
back as plain dicts ready for JSON.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import platformdirs

DB_NAME = "history.sqlite3"
SCHEMA_VERSION = 1
INTERRUPTED_ADVICE = "The last session was interrupted. Start again when you are ready."
SUMMARY_KEYS = ("session_id", "program", "started_at", "ended_at", "end_reason", "baseline",
                "pain_after", "exercises", "working_exercise", "advice")
ENTRY_KEYS = ("id", "response", "sets", "reps", "hold_s")
_NEXT_SEQ = "(SELECT COALESCE(MAX(seq), 0) + 1 FROM exercises WHERE session_id = ?1)"

# MIGRATIONS[n] upgrades a database from user_version n-1 to n.
MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        program TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        end_reason TEXT,
        baseline_json TEXT,
        screened_at TEXT,
        summary_json TEXT
    );
    CREATE TABLE exercises (
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        seq INTEGER NOT NULL,
        exercise_id TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        entry_json TEXT,
        PRIMARY KEY (session_id, seq)
    );
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        data_json TEXT
    );
    CREATE INDEX events_by_session ON events(session_id, seq);
    CREATE INDEX sessions_by_day ON sessions(substr(started_at, 1, 10));
    """,
}


class HistoryError(Exception):
    """The history database cannot be opened or used as asked."""


@dataclass(frozen=True)
class Baseline:
    """Pain reported at the start of a session."""

    location: str
    """Where the pain is felt, e.g. "back", "buttock", "thigh", "below knee"."""
    side: str
    """Which side the pain is on, e.g. "left", "right", "both", "central"."""
    score: int
    """Pain intensity on a 0-10 scale."""

    def __post_init__(self) -> None:
        if isinstance(self.score, bool) or not isinstance(self.score, int) or not 0 <= self.score <= 10:
            raise ValueError(f"pain score must be an integer from 0 to 10, got {self.score!r}")


def history_dir() -> Path:
    """Directory holding the history: $VOICECOACH_HOME if set, else the platform user data dir."""
    home = os.environ.get("VOICECOACH_HOME", "").strip()
    if home:
        return Path(home).expanduser()
    return Path(platformdirs.user_data_dir("voicecoach"))


def _iso(at: datetime) -> str:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {at!r}")
    return at.isoformat()


def _require_keys(what: str, value: dict, keys: tuple[str, ...]) -> None:
    missing = [k for k in keys if k not in value] if isinstance(value, dict) else list(keys)
    if missing:
        raise ValueError(f"{what} is missing keys {missing}: {value!r}")


def _dumps(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, default=lambda o: o.isoformat())


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class History:
    """The session history database; one connection, safe to share between threads."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else history_dir() / DB_NAME
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None,
                                       check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise self._open_error(exc) from exc
        try:
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
                self._db.execute(f"PRAGMA {pragma}")
            self._migrate()
        except BaseException as exc:
            self._db.close()
            if isinstance(exc, sqlite3.Error):
                raise self._open_error(exc) from exc
            raise

    def _open_error(self, exc: OSError | sqlite3.Error) -> HistoryError:
        reason = getattr(exc, "strerror", None) or str(exc)
        return HistoryError(f"Cannot open the session history at {self.path}: {reason.rstrip('.')}.")

    def _migrate(self) -> None:
        """Bring the schema up to SCHEMA_VERSION (PRAGMA user_version), one version per step."""
        with self._tx() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise HistoryError(f"The session history at {self.path} has schema version {version}, "
                                   f"newer than this VoiceCoach understands ({SCHEMA_VERSION}).")
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target].split(";"):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {target}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        """Hold the connection for this thread; a broken reference becomes a HistoryError."""
        with self._lock:
            try:
                yield self._db
            except sqlite3.IntegrityError as exc:
                raise HistoryError(f"Cannot record that in the session history "
                                   f"(is the session id right?): {exc}.") from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """Run several statements as one committed transaction."""
        with self._guard() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _run(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Run one statement (committed immediately) and return its rows."""
        with self._guard() as db:
            return db.execute(sql, params).fetchall()

    def _set(self, session_id: int, **columns: str | None) -> None:
        """Update columns of one session row; the session must exist."""
        assignments = ", ".join(f"{name} = ?" for name in columns)
        with self._guard() as db:
            cur = db.execute(f"UPDATE sessions SET {assignments} WHERE id = ?",
                             (*columns.values(), session_id))
            if cur.rowcount == 0:
                raise HistoryError(f"There is no session {session_id} in the history.")

    # --- writing -------------------------------------------------------------------------

    def start_session(self, program: str, started_at: datetime) -> int:
        with self._guard() as db:
            cur = db.execute("INSERT INTO sessions (program, started_at) VALUES (?, ?)",
                             (program, _iso(started_at)))
            return int(cur.lastrowid)

    def log_event(self, session_id: int, at: datetime, kind: str, data: dict | None = None) -> None:
        self._run("INSERT INTO events (session_id, at, kind, data_json) VALUES (?, ?, ?, ?)",
                  (session_id, _iso(at), kind, _dumps(data)))

    def set_baseline(self, session_id: int, location: str, side: str, score: int) -> None:
        self._set(session_id, baseline_json=_dumps(asdict(Baseline(location, side, score))))

    def mark_screened(self, session_id: int, at: datetime) -> None:
        """Record that the red-flag screening was completed (all answers "no") in this session."""
        self._set(session_id, screened_at=_iso(at))

    def exercise_started(self, session_id: int, at: datetime, exercise_id: str) -> None:
        self._run(f"INSERT INTO exercises (session_id, seq, exercise_id, started_at) "
                  f"VALUES (?1, {_NEXT_SEQ}, ?2, ?3)", (session_id, exercise_id, _iso(at)))

    def exercise_finished(self, session_id: int, at: datetime, entry: dict) -> None:
        """Complete the latest unfinished start of entry["id"], or append the entry if none."""
        _require_keys("exercise entry", entry, ENTRY_KEYS)
        finished, entry_json = _iso(at), _dumps(entry)
        params = (session_id, entry["id"], finished, entry_json)
        with self._tx() as db:
            updated = db.execute(
                "UPDATE exercises SET finished_at = ?3, entry_json = ?4 WHERE session_id = ?1 AND seq = "
                "(SELECT MAX(seq) FROM exercises WHERE session_id = ?1 AND exercise_id = ?2 "
                "AND finished_at IS NULL)", params).rowcount
            if not updated:
                db.execute(f"INSERT INTO exercises (session_id, seq, exercise_id, started_at, finished_at, "
                           f"entry_json) VALUES (?1, {_NEXT_SEQ}, ?2, ?3, ?3, ?4)", params)

    def finish_session(self, session_id: int, summary: dict) -> None:
        """Store the final summary and mark the session ended."""
        _require_keys("session summary", summary, SUMMARY_KEYS)
        ended_at = summary["ended_at"]
        ended_at = ended_at.isoformat() if isinstance(ended_at, datetime) else ended_at
        self._set(session_id, ended_at=ended_at, end_reason=summary["end_reason"],
                  summary_json=_dumps(summary))

    def recover_interrupted(self, now: datetime) -> list[dict]:
        """Close every session that was started but never finished; return their summaries.

        ``now`` is only checked for being timezone-aware: a recovered session ends at the
        latest time it recorded anything (event, exercise, screening), else when it started.
        """
        _iso(now)
        recovered = []
        with self._tx() as db:
            rows = db.execute("SELECT id, program, started_at, baseline_json, screened_at FROM sessions "
                              "WHERE summary_json IS NULL ORDER BY id").fetchall()
            for session_id, program, started_at, baseline_json, screened_at in rows:
                summary = self._rebuild(db, session_id, program, started_at, baseline_json, screened_at)
                db.execute("UPDATE sessions SET ended_at = ?, end_reason = ?, summary_json = ? WHERE id = ?",
                           (summary["ended_at"], summary["end_reason"], _dumps(summary), session_id))
                recovered.append(summary)
        return recovered

    @staticmethod
    def _rebuild(db: sqlite3.Connection, session_id: int, program: str, started_at: str,
                 baseline_json: str | None, screened_at: str | None) -> dict:
        exercises = db.execute("SELECT exercise_id, started_at, finished_at, entry_json FROM exercises "
                               "WHERE session_id = ? ORDER BY seq", (session_id,)).fetchall()
        event_times = [r[0] for r in db.execute("SELECT at FROM events WHERE session_id = ?", (session_id,))]
        times = [started_at, screened_at, *event_times, *(t for r in exercises for t in r[1:3])]
        ended_at = max((t for t in times if t), key=datetime.fromisoformat)
        entries = [_loads(r[3]) for r in exercises if r[2] is not None]
        if exercises and exercises[-1][2] is None:
            entries.append({"id": exercises[-1][0], "response": "interrupted",
                            "sets": 0, "reps": 0, "hold_s": 0})
        return {"session_id": session_id, "program": program, "started_at": started_at,
                "ended_at": ended_at, "end_reason": "interrupted", "baseline": _loads(baseline_json),
                "pain_after": None, "exercises": entries, "working_exercise": None,
                "advice": INTERRUPTED_ADVICE}

    # --- reading -------------------------------------------------------------------------

    def last_summary(self) -> dict | None:
        """The final summary of the most recently started session that has ended."""
        rows = self._run("SELECT summary_json FROM sessions WHERE summary_json IS NOT NULL "
                         "ORDER BY id DESC LIMIT 1")
        return _loads(rows[0][0]) if rows else None

    def summaries(self, limit: int | None = None) -> list[dict]:
        """Ended sessions' summaries, oldest first; with ``limit``, only the most recent ones."""
        rows = self._run("SELECT summary_json FROM sessions WHERE summary_json IS NOT NULL "
                         "ORDER BY id DESC LIMIT ?", (-1 if limit is None else limit,))
        return [_loads(r[0]) for r in reversed(rows)]

    def exercises(self, session_id: int) -> list[dict]:
        """The finished exercise entries of one session, in order."""
        rows = self._run("SELECT entry_json FROM exercises WHERE session_id = ? AND finished_at IS NOT NULL "
                         "ORDER BY seq", (session_id,))
        return [_loads(r[0]) for r in rows]

    def events(self, session_id: int) -> list[dict]:
        rows = self._run("SELECT at, kind, data_json FROM events WHERE session_id = ? ORDER BY seq",
                         (session_id,))
        return [{"at": at, "kind": kind, "data": _loads(data)} for at, kind, data in rows]

    def screened_on(self, day: date) -> bool:
        rows = self._run("SELECT 1 FROM sessions WHERE substr(screened_at, 1, 10) = ? LIMIT 1",
                         (day.isoformat(),))
        return bool(rows)

    def sessions_on(self, day: date) -> int:
        rows = self._run("SELECT COUNT(*) FROM sessions WHERE substr(started_at, 1, 10) = ?",
                         (day.isoformat(),))
        return int(rows[0][0])
