"""One `convene run` per SQLite file.

SQLite takes one writer, and two bots on one file would both plan, send and answer: every
reminder twice. So `run` holds an exclusive lock on a file beside the store for as long as it
runs, and a second `run` is refused, naming the file and the pid that holds it.

The lock is `flock(2)` on `<store>.lock`, through `fcntl`: the kernel lets go of it when the
process ends however it ends (even SIGKILL), so a crash never leaves a stale lock behind, and a
lock file left on disk means nothing by itself. Not `filelock`: it truncates the file as it
tries the lock, so the holder's pid could not be read from it. Not a lock on the store itself:
SQLite has its own locks on that file. PostgreSQL stores take no lock here.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path


class StoreInUse(Exception):
    """Another process runs Convene on this SQLite store."""


class StoreLock:
    def __init__(self, database: str) -> None:
        self.store = Path(database).resolve()
        self.path = self.store.with_name(self.store.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Hold the store, or raise `StoreInUse` saying who holds it. Where no lock file can
        be made (a missing folder), there is no store either, and opening it says why."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"another Convene (pid {holder})" if holder else "another Convene"
            raise StoreInUse(
                f"{who} is running on the SQLite store {self.store}; stop it first "
                "(a SQLite store serves one bot at a time)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None
