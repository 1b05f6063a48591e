"""A PostgreSQL server of the test's own, with password authentication.

The shared server on 127.0.0.1:5432 trusts every local connection, so no password can be wrong
there; to see what a wrong password really does, a test starts its own cluster (initdb takes
about a second) that asks for one. Without initdb on this machine such a test skips.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

USER = "convene"


@dataclass(frozen=True)
class PrivatePostgres:
    port: int
    password: str
    # `pg_ctl -D data` as the cluster's owner, and the options it was started with.
    control: tuple[str, ...] = ()
    options: str = ""

    def url(self, password: str, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def restart(self) -> None:
        """Stop the server at once, as a crash or a failover would, and start it again on the
        same data and port; this cluster is the test's own, so nobody else loses it."""
        subprocess.run([*self.control, "-m", "immediate", "-w", "stop"], capture_output=True)
        subprocess.run(
            [*self.control, "-o", self.options, "-w", "start"], check=True, capture_output=True
        )


def available() -> bool:
    """Whether this machine can start a PostgreSQL of a test's own."""
    return _binaries() is not None


def _binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def private_postgres(password: str) -> Iterator[PrivatePostgres]:
    binaries = _binaries()
    if binaries is None:
        pytest.skip("initdb is not installed: cannot start a PostgreSQL that asks for a password")
    # PostgreSQL refuses to run as root; then the cluster belongs to the postgres account.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    home = Path(tempfile.mkdtemp(prefix="convene-pg-"))
    secret = home / "password"
    secret.write_text(password)
    if as_user:
        shutil.chown(home, "postgres")
        shutil.chown(secret, "postgres")
    data, port = home / "data", _free_port()
    run = [*as_user, str(binaries / "pg_ctl"), "-D", str(data)]
    try:
        initdb = [str(binaries / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={secret}"]
        fast = ["-A", "scram-sha-256", "--no-sync", "-E", "UTF8"]
        subprocess.run([*as_user, *initdb, *fast], check=True, capture_output=True)
        options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off"
        control = (*run, "-l", str(home / "log"))
        subprocess.run([*control, "-o", options, "-w", "start"], check=True, capture_output=True)
        try:
            yield PrivatePostgres(port, password, control, options)
        finally:
            subprocess.run([*run, "-m", "immediate", "-w", "stop"], capture_output=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)
