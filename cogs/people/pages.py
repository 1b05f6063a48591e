"""People and their linked accounts, for organizers: who the bot knows, newest first, with
each account's platform, handle and the role its platform last gave it. People who asked to
be forgotten are not listed."""

from __future__ import annotations

from sqlmodel import col, func, select

from bot.core.context import Role
from bot.core.errors import UserError
from bot.core.pages import PageHandler, PageRequest, View
from bot.core.runtime import Runtime
from bot.identity import FORGOTTEN, Person, people, platform_label

PATH = "/people"
SHOWN = 200
MAX_SEARCH = 100


def people_page(runtime: Runtime) -> PageHandler:
    async def page(request: PageRequest) -> View:
        q = " ".join(request.query.get("q", "").split())
        if len(q) > MAX_SEARCH:
            raise UserError(
                f"Search for at most {MAX_SEARCH} characters of a name, e.g. {PATH}?q=nina"
            )
        where = [col(Person.display_name) != FORGOTTEN]
        if q:
            escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(col(Person.display_name).ilike(f"%{escaped}%", escape="\\"))
        async with runtime.sessions() as session:
            total = (await session.exec(select(func.count()).where(*where))).one()
            query = (
                select(Person)
                .where(*where)
                .order_by(col(Person.created_at).desc(), col(Person.id).desc())
                .limit(SHOWN)
            )
            found = list((await session.exec(query)).all())
            accounts = await people(session, (p.id for p in found if p.id is not None))
        rows = []
        for person in found:
            assert person.id is not None
            linked = accounts[person.id].accounts if person.id in accounts else []
            rows.append(
                {
                    "name": person.display_name,
                    "since": person.created_at,
                    "accounts": [
                        {
                            "platform": platform_label(a.platform),
                            "handle": a.handle,
                            "role": Role(a.role).label,
                        }
                        for a in linked
                    ],
                }
            )
        return View("people/people.html", {"rows": rows, "total": total, "q": q}, title="People")

    return page
