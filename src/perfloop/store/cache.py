"""The result cache: what a run decided, kept so that a run on unchanged code reuses it.

`.perfloop/cache.db` is SQLite, a file of its own beside the run store, so a damaged
cache never stops a run: a file that is not a readable database is moved aside
(`cache.db.unreadable-<time>`) and a new one started, and a cache written by another
perfloop (a different `user_version`) is left alone and not used; either way the
run says so in a note and computes everything.

Each entry is one result under the digest of everything that decides it (see
`perfloop.store.cache_keys`): `kind` says what it is (`target`: a target's verdicts,
measurements and verification strength; `workload`: the whole-workload A/B of a
patch; `merged`: whether a file's merged winners verify together). `parts` keeps
each part of the key by name (JSON), so a miss can say what changed, and the
recipe library and dataset export can read what an entry was computed under
(`python`, `platform`, `perfloop`). `summary` (JSON) holds the figures a reader
wants without decoding the payload; `payload` is the result itself, pickled
perfloop types, read back as data only (perfloop.sandbox.decode).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from perfloop.sandbox.decode import Refused, decode

CACHE_SCHEMA = 1
CACHE_FILE = "cache.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    kind TEXT NOT NULL,              -- target | workload | merged
    key TEXT NOT NULL,               -- sha256 of `parts`
    function TEXT,                   -- module:qualname, for target and merged entries
    run_id TEXT NOT NULL,            -- the run that computed it
    created_at REAL NOT NULL,
    python TEXT NOT NULL,
    platform TEXT NOT NULL,
    perfloop TEXT NOT NULL,
    parts TEXT NOT NULL,             -- JSON {part: digest}: what the key is made of
    summary TEXT NOT NULL,           -- JSON: status, best origin, speedup, ...
    payload BLOB NOT NULL,           -- the result, pickled perfloop types
    PRIMARY KEY (kind, key)
);
CREATE INDEX IF NOT EXISTS entries_by_function ON entries (kind, function, created_at);
"""


@dataclass(frozen=True)
class CacheKey:
    """What decides a result, part by part: {name: digest or short value}."""

    parts: tuple[tuple[str, str], ...]

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.parts).encode()).hexdigest()

    def changed_since(self, earlier: dict[str, str]) -> list[str]:
        """The names of the parts that differ from an earlier key's parts."""
        mine = dict(self.parts)
        names = list(dict.fromkeys([*mine, *earlier]))
        return [name for name in names if mine.get(name) != earlier.get(name)]

    def get(self, name: str) -> str | None:
        return dict(self.parts).get(name)


@dataclass(frozen=True)
class CacheEntry:
    kind: str
    function: str | None
    run_id: str
    created_at: float
    parts: dict[str, str]
    payload: object


class ResultCache:
    """Entries by (kind, key). A database error after opening turns the cache off for
    the rest of the run (with a note); it never fails the run."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = connection
        self.notes: list[str] = []

    @classmethod
    def open(cls, folder: Path) -> tuple[ResultCache | None, str | None]:
        """The cache in `folder` (created if missing), or None and a note saying why not."""
        path = folder / CACHE_FILE
        try:
            return cls._open(path), None
        except _OtherVersion as exc:
            return None, (
                f"the result cache {path} was written by another perfloop (cache schema "
                f"{exc.version}, this one uses {CACHE_SCHEMA}); it was not used, and this run "
                f"computes everything. Remove the file to start a new cache"
            )
        except sqlite3.DatabaseError as exc:
            moved = path.with_name(f"{CACHE_FILE}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
            try:
                path.replace(moved)
                for suffix in ("-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                cache = cls._open(path)
            except (OSError, sqlite3.DatabaseError, _OtherVersion) as again:
                return None, (
                    f"the result cache {path} could not be read ({exc}) nor replaced "
                    f"({again}); this run computes everything"
                )
            return cache, (
                f"the result cache {path} could not be read ({exc}); it was moved to "
                f"{moved.name} and a new one started, so this run computes everything"
            )

    @classmethod
    def _open(cls, path: Path) -> ResultCache:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=30)
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, CACHE_SCHEMA):  # before anything writes to the file
                raise _OtherVersion(version)
            connection.execute("PRAGMA journal_mode=WAL")
            check = connection.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"damaged: {check}")
            with connection:
                connection.executescript(_SCHEMA)
                connection.execute(f"PRAGMA user_version={CACHE_SCHEMA}")
        except BaseException:
            connection.close()
            raise
        return cls(path, connection)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _failed(self, exc: Exception) -> None:
        self.notes.append(
            f"the result cache {self.path} failed ({exc}); the rest of this run did not use it"
        )
        self.close()

    def get(self, kind: str, key: CacheKey, expected: object = object) -> CacheEntry | None:
        """The entry under `key`, or None (also when its payload is not perfloop data)."""
        if self._connection is None:
            return None
        try:
            row = self._connection.execute(
                "SELECT function, run_id, created_at, parts, payload FROM entries"
                " WHERE kind=? AND key=?",
                (kind, key.digest),
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            self._failed(exc)
            return None
        if row is None:
            return None
        function, run_id, created_at, parts, payload = row
        try:
            value = decode(payload, expected, source=f"the cached {kind} result of run {run_id}")
        except Refused as exc:
            self.notes.append(f"a cached result was not used: {exc}")
            return None
        return CacheEntry(kind, function, run_id, created_at, json.loads(parts), value)

    def latest_parts(self, kind: str, function: str) -> tuple[str, dict[str, str]] | None:
        """The run and key parts of the newest entry of `kind` for `function`, to say what
        changed since."""
        if self._connection is None:
            return None
        try:
            row = self._connection.execute(
                "SELECT run_id, parts FROM entries WHERE kind=? AND function=?"
                " ORDER BY created_at DESC LIMIT 1",
                (kind, function),
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            self._failed(exc)
            return None
        return None if row is None else (row[0], json.loads(row[1]))

    def put(
        self,
        kind: str,
        key: CacheKey,
        run_id: str,
        payload: object,
        *,
        function: str | None = None,
        summary: dict[str, object] | None = None,
    ) -> None:
        if self._connection is None:
            return
        parts = dict(key.parts)
        try:
            with self._connection:
                self._connection.execute(
                    "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        kind,
                        key.digest,
                        function,
                        run_id,
                        time.time(),
                        parts.get("python", ""),
                        parts.get("platform", ""),
                        parts.get("perfloop", ""),
                        json.dumps(parts),
                        json.dumps(summary or {}),
                        pickle.dumps(payload),
                    ),
                )
        except sqlite3.DatabaseError as exc:
            self._failed(exc)

    def count(self, kind: str | None = None) -> int:
        if self._connection is None:
            return 0
        query, args = "SELECT COUNT(*) FROM entries", ()
        if kind is not None:
            query, args = query + " WHERE kind=?", (kind,)  # type: ignore[assignment]
        return self._connection.execute(query, args).fetchone()[0]


class _OtherVersion(Exception):
    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version
