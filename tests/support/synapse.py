"""A real Synapse homeserver on loopback for end-to-end tests.

Fakes of the Matrix client-server API drift from what Synapse actually does
(rate limits, transaction-id idempotency, power-level rules of new room
versions), so the end-to-end tests talk to the real thing. Synapse lives in
its own cached venv because its dependency tree (Twisted and friends) must not
leak into the project's.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import aiohttp

from tests.support.eventually import eventually

# RATELIMIT_KEYS was checked against 1.163's synapse/config/ratelimiting.py;
# a major release may rename limiters, which would silently re-enable them.
SYNAPSE_REQUIREMENT = "matrix-synapse>=1.163,<2"

Event = dict[str, Any]

_UNLIMITED = {"per_second": 100_000, "burst_count": 100_000}
RATELIMIT_KEYS = (
    "rc_message",
    "rc_registration",
    "rc_registration_token_validity",
    "rc_login.address",
    "rc_login.account",
    "rc_login.failed_attempts",
    "rc_admin_redaction",
    "rc_joins.local",
    "rc_joins.remote",
    "rc_joins_per_room",
    "rc_key_requests",
    "rc_3pid_validation",
    "rc_invites.per_room",
    "rc_invites.per_user",
    "rc_invites.per_issuer",
    "rc_third_party_invite",
    "rc_media_create",
    "rc_presence.per_user",
    "rc_delayed_event_mgmt",
    "rc_room_creation",
    "rc_reports",
    "rc_user_directory",
    "rc_profile",
)

_START_TIMEOUT = 60.0
_HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30)


class SynapseSupportError(RuntimeError):
    """Synapse could not be installed or started; tests must fail, never skip."""


class MatrixHTTPError(Exception):
    """A non-2xx answer, kept whole so tests can assert on errcode and status."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        self.errcode: str | None = body.get("errcode") if isinstance(body, dict) else None
        super().__init__(f"{method} {path} -> {status}: {body}")


@dataclass(frozen=True)
class MatrixUser:
    user_id: str
    access_token: str
    device_id: str
    password: str


def _subprocess_env() -> dict[str, str]:
    """Without this the project's PYTHONPATH and venv would shadow Synapse's packages."""
    hidden = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    return {key: value for key, value in os.environ.items() if key not in hidden}


def _imports_synapse(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run(
        [python, "-c", "import synapse"], env=_subprocess_env(), capture_output=True
    )
    return probe.returncode == 0


def _run_checked(args: Sequence[str | Path], what: str) -> None:
    done = subprocess.run(args, env=_subprocess_env(), capture_output=True, text=True)
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-4000:]
        raise SynapseSupportError(f"{what} failed ({done.returncode}):\n{output}")


def ensure_synapse_venv() -> Path:
    """Return the python of the cached Synapse venv, building it on first use.

    The flock makes concurrent pytest runs (xdist workers, parallel CI jobs)
    wait for one installer instead of corrupting a shared venv.
    """
    default = Path.home() / ".cache" / "convene" / "synapse-venv"
    venv = Path(os.environ.get("CONVENE_SYNAPSE_VENV") or default)
    python = venv / "bin" / "python"
    if _imports_synapse(python):
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _imports_synapse(python):
            shutil.rmtree(venv, ignore_errors=True)
            # The tests run inside the project venv; a venv made from it would
            # inherit nothing useful, so build from the underlying interpreter.
            base_python = getattr(sys, "_base_executable", sys.executable)
            _run_checked([base_python, "-m", "venv", venv], f"creating {venv}")
            pip_install: list[str | Path] = [python, "-m", "pip", "install", "--only-binary=:all:"]
            _run_checked(
                [*pip_install, SYNAPSE_REQUIREMENT], f"installing {SYNAPSE_REQUIREMENT} into {venv}"
            )
            if not _imports_synapse(python):
                raise SynapseSupportError(f"{venv} was installed but cannot import synapse")
    return python


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ratelimit_config() -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key in RATELIMIT_KEYS:
        *parents, leaf = key.split(".")
        section = config
        for parent in parents:
            section = section.setdefault(parent, {})
        section[leaf] = _UNLIMITED
    return config


def _room(room_id: str) -> str:
    return f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}"


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no output)"


class Synapse:
    """One throwaway homeserver: SQLite, client API only, no federation.

    Unless `ratelimits` is set every limiter is opened wide, so tests that
    are not about rate limiting never flake on a 429.
    """

    def __init__(self, *, ratelimits: bool = False, server_name: str = "test.local") -> None:
        self.ratelimits = ratelimits
        self.server_name = server_name
        self.port = 0
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._shared_secret = secrets.token_hex(32)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def workdir(self) -> Path:
        if self._dir is None:
            raise SynapseSupportError("Synapse is not running")
        return Path(self._dir.name)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="convene-synapse-")
        self.port = _free_port()
        self._write_config()
        self.resume()

    def resume(self) -> None:
        """Start the server process on the existing data, port and config (after `pause`)."""
        python = ensure_synapse_venv()
        with open(self.workdir / "stdout.log", "ab") as output:
            self._process = subprocess.Popen(
                [python, "-m", "synapse.app.homeserver", "-c", self.workdir / "homeserver.yaml"],
                cwd=self.workdir,
                env=_subprocess_env(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def pause(self) -> None:
        """Stop the server process but keep its data, so tests can take the homeserver away."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def stop(self) -> None:
        self.pause()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def logs(self) -> str:
        """What to show when a test fails for a reason only the server knows."""
        return (
            f"--- stdout/stderr ---\n{_tail(self.workdir / 'stdout.log')}\n"
            f"--- homeserver.log ---\n{_tail(self.workdir / 'homeserver.log')}"
        )

    def _write_config(self) -> Path:
        workdir = self.workdir
        key_id = "a_" + secrets.token_hex(2)
        seed = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        (workdir / "signing.key").write_text(f"ed25519 {key_id} {seed}\n")
        log_config = {
            "version": 1,
            "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "formatter": "plain",
                    "filename": str(workdir / "homeserver.log"),
                }
            },
            "root": {"level": "WARNING", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }
        config: dict[str, Any] = {
            "server_name": self.server_name,
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(workdir / "homeserver.db")}},
            "log_config": str(workdir / "log_config.yaml"),
            "media_store_path": str(workdir / "media"),
            "signing_key_path": str(workdir / "signing.key"),
            "registration_shared_secret": self._shared_secret,
            "enable_registration": False,
            "report_stats": False,
            "presence": {"enabled": False},
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "bcrypt_rounds": 4,
        }
        if not self.ratelimits:
            config |= _ratelimit_config()
        # YAML is a superset of JSON, so no YAML library is needed here.
        (workdir / "log_config.yaml").write_text(json.dumps(log_config, indent=2))
        config_path = workdir / "homeserver.yaml"
        config_path.write_text(json.dumps(config, indent=2))
        return config_path

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + _START_TIMEOUT
        url = f"{self.base_url}/_matrix/client/versions"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SynapseSupportError(
                    f"Synapse exited with {self._process.returncode} during startup\n{self.logs()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise SynapseSupportError(f"Synapse not ready after {_START_TIMEOUT:.0f}s\n{self.logs()}")

    async def _request(
        self,
        method: str,
        path: str,
        user: MatrixUser | None = None,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        # A session per call: the server outlives the per-test event loops
        # that pytest-asyncio creates, so nothing loop-bound may be cached.
        headers = {"Authorization": f"Bearer {user.access_token}"} if user else {}
        async with (
            aiohttp.ClientSession(self.base_url, timeout=_HTTP_TIMEOUT) as session,
            session.request(method, path, json=body, params=params, headers=headers) as response,
        ):
            payload = await response.json(content_type=None)
            if response.status >= 300:
                raise MatrixHTTPError(method, path, response.status, payload)
            return payload

    async def download(self, user: MatrixUser, mxc: str) -> bytes:
        """The content of an uploaded file (`mxc://server/id`), as *user* downloads it."""
        server, media_id = mxc.removeprefix("mxc://").split("/", 1)
        path = f"/_matrix/client/v1/media/download/{server}/{media_id}"
        headers = {"Authorization": f"Bearer {user.access_token}"}
        async with (
            aiohttp.ClientSession(self.base_url, timeout=_HTTP_TIMEOUT) as session,
            session.get(path, headers=headers) as response,
        ):
            if response.status >= 300:
                raise MatrixHTTPError("GET", path, response.status, await response.text())
            return await response.read()

    async def register(
        self, localpart: str, password: str | None = None, admin: bool = False
    ) -> MatrixUser:
        """Shared-secret registration: no UIA, no registration rate limit, admin on demand."""
        password = password or secrets.token_urlsafe(16)
        path = "/_synapse/admin/v1/register"
        nonce: str = (await self._request("GET", path))["nonce"]
        mac = hmac.new(self._shared_secret.encode(), digestmod=hashlib.sha1)
        role = b"admin" if admin else b"notadmin"
        mac.update(b"\0".join([nonce.encode(), localpart.encode(), password.encode(), role]))
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        result = await self._request("POST", path, body=body)
        return MatrixUser(result["user_id"], result["access_token"], result["device_id"], password)

    async def create_room(
        self,
        user: MatrixUser,
        *,
        name: str | None = None,
        invite: Sequence[str] = (),
        preset: str = "private_chat",
        power_levels: Mapping[str, int] | None = None,
        room_version: str | None = None,
        alias: str | None = None,
    ) -> str:
        """Create a room; `power_levels` sets extra users' levels after creation.

        Setting levels afterwards rather than via power_level_content_override
        works for every room version: from v12 on the creator must not appear
        in the users map, before v12 it must.
        """
        body: dict[str, Any] = {"preset": preset, "invite": list(invite)}
        if name is not None:
            body["name"] = name
        if room_version is not None:
            body["room_version"] = room_version
        if alias is not None:
            body["room_alias_name"] = alias  # the local part: #alias:server_name
        room_id: str = (await self._request("POST", "/_matrix/client/v3/createRoom", user, body))[
            "room_id"
        ]
        if power_levels:
            await self._update_power_levels(user, room_id, power_levels)
        return room_id

    async def invite(self, user: MatrixUser, room_id: str, user_id: str) -> None:
        await self._request("POST", f"{_room(room_id)}/invite", user, {"user_id": user_id})

    async def join(self, user: MatrixUser, room_id: str) -> None:
        await self._request("POST", f"/_matrix/client/v3/join/{quote(room_id, safe='')}", user, {})

    async def leave(self, user: MatrixUser, room_id: str) -> None:
        await self._request("POST", f"{_room(room_id)}/leave", user, {})

    async def set_display_name(self, user: MatrixUser, name: str) -> None:
        """A new display name, which Synapse sends to every room as a member event."""
        path = f"/_matrix/client/v3/profile/{quote(user.user_id, safe='')}/displayname"
        await self._request("PUT", path, user, {"displayname": name})

    async def send_text(self, user: MatrixUser, room_id: str, body: str) -> str:
        return await self._send(
            user, room_id, "m.room.message", {"msgtype": "m.text", "body": body}
        )

    async def react(self, user: MatrixUser, room_id: str, event_id: str, key: str) -> str:
        relation = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
        return await self._send(user, room_id, "m.reaction", {"m.relates_to": relation})

    async def _send(
        self, user: MatrixUser, room_id: str, kind: str, content: Mapping[str, Any]
    ) -> str:
        path = f"{_room(room_id)}/send/{kind}/{uuid.uuid4().hex}"
        event_id: str = (await self._request("PUT", path, user, content))["event_id"]
        return event_id

    async def power_levels(self, user: MatrixUser, room_id: str) -> dict[str, Any]:
        path = f"{_room(room_id)}/state/m.room.power_levels"
        content: dict[str, Any] = await self._request("GET", path, user)
        return content

    async def set_power_level(
        self, user: MatrixUser, room_id: str, target_user_id: str, level: int
    ) -> None:
        await self._update_power_levels(user, room_id, {target_user_id: level})

    async def _update_power_levels(
        self, user: MatrixUser, room_id: str, levels: Mapping[str, int]
    ) -> None:
        content = await self.power_levels(user, room_id)
        content.setdefault("users", {}).update(levels)
        await self._request("PUT", f"{_room(room_id)}/state/m.room.power_levels", user, content)

    async def override_ratelimit(
        self,
        admin: MatrixUser,
        user_id: str,
        *,
        messages_per_second: int = 0,
        burst_count: int = 0,
    ) -> None:
        """Per-user message limit override; Synapse reads 0/0 as "unlimited"."""
        path = f"/_synapse/admin/v1/users/{quote(user_id, safe='')}/override_ratelimit"
        body = {"messages_per_second": messages_per_second, "burst_count": burst_count}
        await self._request("POST", path, admin, body)

    async def joined_rooms(self, user: MatrixUser) -> list[str]:
        rooms: list[str] = (await self._request("GET", "/_matrix/client/v3/joined_rooms", user))[
            "joined_rooms"
        ]
        return rooms

    async def invited_rooms(self, user: MatrixUser) -> list[str]:
        """Rooms *user* is invited to, e.g. a direct-message room the bot opened.

        Synapse answers an identical initial sync from a cache for a while, so each call
        carries a filter of its own (excluding an account-data type that never exists)."""
        unique = {"account_data": {"not_types": [f"convene.test.{uuid.uuid4().hex}"]}}
        params = {"timeout": "0", "filter": json.dumps(unique)}
        response = await self._request("GET", "/_matrix/client/v3/sync", user, params=params)
        return list(response.get("rooms", {}).get("invite", {}))

    async def messages(
        self, user: MatrixUser, room_id: str, *, after: str | None = None
    ) -> list[Event]:
        """The room's m.room.message events, oldest first, newer than event `after`.

        `after` (e.g. an id from send_text) lets a test ignore replies to
        earlier steps without timing assumptions.
        """
        newest_first: list[Event] = []
        async for event in self._timeline_backwards(user, room_id):
            if event["event_id"] == after:
                break
            if event["type"] == "m.room.message":
                newest_first.append(event)
        return newest_first[::-1]

    async def synced_past(self, user: MatrixUser, room_id: str, token: str, event_id: str) -> bool:
        """Whether a client that kept the sync token *token* has been given *event_id*: the
        room's history read back from a sync token stops at what that sync had."""
        params = {"dir": "b", "from": token, "limit": "100"}
        page = await self._request("GET", f"{_room(room_id)}/messages", user, params=params)
        return any(event["event_id"] == event_id for event in page["chunk"])

    async def _timeline_backwards(self, user: MatrixUser, room_id: str) -> AsyncIterator[Event]:
        params = {"dir": "b", "limit": "100"}
        while True:
            page = await self._request("GET", f"{_room(room_id)}/messages", user, params=params)
            for event in page["chunk"]:
                yield event
            if "end" not in page or not page["chunk"]:
                return
            params["from"] = page["end"]

    async def wait_for_message(
        self,
        user: MatrixUser,
        room_id: str,
        *,
        sender: str | None = None,
        predicate: Callable[[Event], bool] | None = None,
        after: str | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> Event:
        """Poll until a matching message exists; polling /messages cannot miss one that
        arrived before the wait began, which a /sync started now would."""

        async def first_match() -> Event:
            seen = await self.messages(user, room_id, after=after)
            for event in seen:
                if (sender is None or event["sender"] == sender) and (
                    predicate is None or predicate(event)
                ):
                    return event
            summary = [(e["sender"], e["content"].get("body")) for e in seen]
            raise AssertionError(f"none matched; saw {summary}")

        return await eventually(
            first_match,
            timeout=timeout,
            interval=0.1,
            what=f"a message from {sender or 'anyone'} in {room_id}",
        )
