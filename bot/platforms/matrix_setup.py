"""What `convene init` does on Matrix: one password login, which gives the access token and
device id the bot then runs with, and the rooms the account is in or invited to, by name."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from nio import AsyncClient, AsyncClientConfig, LoginError, LoginResponse, SyncError
from pydantic import SecretStr

from bot.core.cli import CliError

DEVICE_NAME = "Convene"
TIMEOUT = aiohttp.ClientTimeout(total=20)
# Room names and membership come from state; no message is needed.
SYNC_FILTER = {
    "presence": {"types": []},
    "account_data": {"types": []},
    "room": {"timeline": {"limit": 0}, "ephemeral": {"types": []}},
}


@dataclass(frozen=True)
class MatrixRoom:
    id: str
    name: str
    alias: str | None
    joined: bool


@dataclass(frozen=True)
class MatrixLogin:
    user_id: str
    device_id: str
    access_token: SecretStr
    rooms: tuple[MatrixRoom, ...]


def _config() -> AsyncClientConfig:
    # nio waits out 429s forever by default; a person at a terminal gets an answer instead.
    return AsyncClientConfig(max_limit_exceeded=0, max_timeouts=2)


async def _is_matrix(homeserver: str) -> None:
    """A homeserver answers `GET /_matrix/client/versions` with its versions; anything else is
    the wrong address, said before a password is sent there."""
    url = f"{homeserver}/_matrix/client/versions"
    body: object = None
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.get(url) as response,
        ):
            if response.status == 200:
                body = await response.json(content_type=None)
    except ValueError:
        pass
    except (aiohttp.ClientError, TimeoutError) as exc:
        reason = type(exc).__name__ if isinstance(exc, TimeoutError) else exc
        raise CliError(f"cannot reach {homeserver}: {reason}") from None
    if not (isinstance(body, dict) and isinstance(body.get("versions"), list)):
        raise CliError(
            f"{homeserver} is not a Matrix homeserver (no answer at /_matrix/client/versions); "
            "give its client URL, such as https://matrix.example.org"
        )


async def login(homeserver: str, user_id: str, password: SecretStr) -> MatrixLogin:
    """Log in once and list the rooms; a refused login or sync raises `CliError`."""
    await _is_matrix(homeserver)
    client = AsyncClient(homeserver, user_id, config=_config())
    try:
        answer = await client.login(password.get_secret_value(), device_name=DEVICE_NAME)
        if isinstance(answer, LoginError) or not isinstance(answer, LoginResponse):
            code = getattr(answer, "status_code", None)
            if code == "M_FORBIDDEN":
                raise CliError(
                    f"{homeserver} refused the password for {user_id} (M_FORBIDDEN); check the "
                    "user id and the password"
                )
            raise CliError(f"{homeserver} refused the login for {user_id}: {answer}")
        synced = await client.sync(timeout=0, sync_filter=SYNC_FILTER, full_state=True)
        if isinstance(synced, SyncError):
            await client.logout()
            raise CliError(f"{homeserver} refused to list the rooms of {user_id}: {synced}")
        rooms = [
            MatrixRoom(room.room_id, room.display_name, room.canonical_alias, joined)
            for joined, held in ((True, client.rooms), (False, client.invited_rooms))
            for room in held.values()
        ]
        return MatrixLogin(
            answer.user_id,
            answer.device_id,
            SecretStr(answer.access_token),
            tuple(sorted(rooms, key=lambda r: (r.name.casefold(), r.id))),
        )
    except aiohttp.ClientError as exc:
        raise CliError(f"cannot reach {homeserver}: {exc}") from None
    finally:
        await client.close()


async def logout(homeserver: str, login: MatrixLogin) -> None:
    """Ends the session `login` opened, when init writes nothing after all, so no unused
    device is left on the account; a failure here changes nothing for the person."""
    client = AsyncClient(homeserver, login.user_id, config=_config())
    client.restore_login(login.user_id, login.device_id, login.access_token.get_secret_value())
    try:
        await client.logout()
    except aiohttp.ClientError:
        pass
    finally:
        await client.close()
