"""Platform connections held by one instance at a time, through leases in PostgreSQL.

Two `convene run` on one PostgreSQL store share the work that claims rows (deliveries, planners,
digests), but a platform connection cannot be shared: two Matrix sync loops, or two Discord
gateways, would each answer every command. So each platform is run under a lease, and the other
instances stand by, trying again every `RETRY` seconds.

A lease is a session-level advisory lock (`pg_try_advisory_lock`) on a connection of its own,
not a row with an expiry. The lock lives exactly as long as the holder's connection: a clean
stop closes it and the standby has it within `RETRY`; a SIGKILL closes the socket, PostgreSQL
sees the end of the connection at once and lets go; a holder whose host or network vanished is
found by TCP keepalives and `tcp_user_timeout`, set on the connection (`DEAD_AFTER`). No clock is
compared and nothing has to be renewed, so a slow holder never loses a lease it still holds.
There is no fencing token: a holder stops the platform the moment its lease's connection ends
(asyncpg tells it when the socket closes, as it does when PostgreSQL ends the session, e.g. by
`pg_terminate_backend` or a restart), before a standby, which asks only every `RETRY`, is likely
to have the lock; a connection that hangs without closing is found by the `CHECK` query. What
both could do in the remaining gap is made harmless elsewhere (incoming events are answered once
per event id, sends carry idempotency keys, rows are claimed).
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable

import asyncpg
from sqlalchemy import BigInteger, Boolean, Integer, column, table
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)

# How often a standby asks for a lease, and the holder checks that its connection lives.
RETRY = 1.0
CHECK = 2.0
# How long PostgreSQL waits on a silent holder (host gone, cable cut) before ending its session.
DEAD_AFTER = 10
_KEEPALIVE = {
    "tcp_keepalives_idle": "2",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": str(DEAD_AFTER // 2 - 1),
    "tcp_user_timeout": str(DEAD_AFTER * 1000),
    "application_name": "convene lease",
}
# The first key of every Convene lock, so they stand apart from other users' advisory locks.
NAMESPACE = 0x436F6E76


# The lease every instance holds for its whole life, named by its dispatcher: while the lock is
# held, the rows that instance claimed are being sent; once it is gone, they are anyone's.
PRESENCE = "instance:"
_LOCKS = table(
    "pg_locks",
    column("locktype"),
    column("classid", Integer),
    column("objid", BigInteger),
    column("objsubid", Integer),
    column("granted", Boolean),
)
_HELD = select(_LOCKS.c.objid).where(
    _LOCKS.c.locktype == "advisory",
    _LOCKS.c.classid == NAMESPACE,
    _LOCKS.c.objsubid == 2,
    _LOCKS.c.granted,
)


class LeaseLost(Exception):
    """The connection that held a lease ended while its platform ran."""


def lock_key(name: str) -> int:
    """The second key of the lease *name*: a signed 32-bit number, as PostgreSQL takes it."""
    return int.from_bytes(zlib.crc32(name.encode()).to_bytes(4, "big"), "big", signed=True)


class Leases:
    """The leases of one process; `held` is what /healthz shows."""

    def __init__(
        self, engine: AsyncEngine, pause: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        """*pause* is how a standby waits `RETRY` between tries: a test steps it instead, so that
        it counts tries that found the lease held rather than timing them."""
        self._connect_args = dict(engine.dialect.create_connect_args(engine.url)[1])
        self._pause = pause
        self.held: set[str] = set()
        self._connections: dict[str, asyncpg.Connection] = {}

    async def run(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        """Stand by until the lease *name* is free, then run *work* holding it; the lease is
        given up when *work* ends, fails or is cancelled. `LeaseLost` if it went first."""
        connection = await self._acquire(name)
        ended = asyncio.Event()
        connection.add_termination_listener(lambda _: ended.set())
        self.held.add(name)
        log.info("holding the %s lease", name)
        task = asyncio.ensure_future(work())
        watch = asyncio.create_task(ended.wait())
        try:
            while not task.done():
                await asyncio.wait(
                    {task, watch}, timeout=CHECK, return_when=asyncio.FIRST_COMPLETED
                )
                if not task.done() and (ended.is_set() or not await _alive(connection)):
                    raise LeaseLost(
                        f"the connection holding the {name} lease to PostgreSQL ended; "
                        "another instance may hold it now"
                    )
            await task
        finally:
            watch.cancel()
            # The platform ends before the standby may start, so there are not two connections
            # at once; a stop that cancels again cuts this wait short, never the release.
            task.cancel()
            try:
                await asyncio.wait({task}, timeout=RETRY)
            finally:
                self.held.discard(name)
                await self.release(name)

    async def hold(self, name: str) -> None:
        """Take the lease *name* for the life of the process (until `close`)."""
        await self._acquire(name)

    async def _acquire(self, name: str) -> asyncpg.Connection:
        """Ask on one connection every `RETRY` until the lock is granted; a connection that
        fails is replaced, and one left by a stop while standing by is dropped."""
        connection: asyncpg.Connection | None = None
        waiting_said = False
        try:
            while True:
                if connection is None:
                    connection = await self._connect(name)
                if connection is not None:
                    try:
                        if await connection.fetchval(
                            "SELECT pg_try_advisory_lock($1, $2)", NAMESPACE, lock_key(name)
                        ):
                            self._connections[name] = connection
                            return connection
                    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                        log.warning("cannot ask for the %s lease: %s", name, exc)
                        connection.terminate()
                        connection = None
                    if not waiting_said:
                        log.info("standing by: another instance holds the %s lease", name)
                        waiting_said = True
                await self._pause(RETRY)
        except BaseException:
            if connection is not None:
                connection.terminate()
            raise

    async def _connect(self, name: str) -> asyncpg.Connection | None:
        try:
            connection: asyncpg.Connection = await asyncpg.connect(
                **self._connect_args, server_settings=_KEEPALIVE, timeout=RETRY * 5
            )
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            log.warning("cannot reach PostgreSQL for the %s lease: %s", name, exc)
            return None
        return connection

    async def release(self, name: str) -> None:
        """Give the lease up now: closing its connection ends the lock with it."""
        connection = self._connections.pop(name, None)
        if connection is None:
            return
        try:
            await asyncio.wait_for(connection.close(), RETRY)
        except Exception:
            connection.terminate()
        except asyncio.CancelledError:
            # Closing the socket is enough for PostgreSQL to end the session, lock and all.
            connection.terminate()
            raise

    async def close(self) -> None:
        for name in list(self._connections):
            await self.release(name)


async def alive(session: AsyncSession, instances: set[str]) -> set[str]:
    """Which of *instances* (dispatcher names) are running: those whose presence lease is held.
    An instance killed mid-send has none, so the rows it claimed can be sent again at once,
    under the same idempotency keys, rather than after the claim's LEASE."""
    held = set((await session.exec(_HELD)).all())
    return {name for name in instances if lock_key(PRESENCE + name) & 0xFFFFFFFF in held}


async def _alive(connection: asyncpg.Connection) -> bool:
    try:
        await asyncio.wait_for(connection.fetchval("SELECT 1"), CHECK)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    return True
