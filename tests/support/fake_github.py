"""A stand-in for the part of GitHub's REST API Convene uses, served on loopback; under
`/api/v1` the same answers stand for Forgejo's API, which follows GitHub's paths and shapes.

Payloads are GitHub's own examples (tests/data/forge/, see its README), with the fields a test
sets filled in; the behaviour follows GitHub's documentation of the same endpoints:

- `GET /repos/{owner}/{repo}/pulls?state=open|closed` (newest first, or the last updated first
  with `sort=updated`, Forgejo's `sort=recentupdate`), `…/pulls/{n}/reviews` and
  `…/commits/{ref}/status` and `…/check-runs`, paginated with `per_page`/`page` and a `Link` header (next, last);
- every answer has an ETag; a request whose `If-None-Match` names the current one gets 304 with
  no body and is not counted against the rate limit;
- `X-RateLimit-Limit/Remaining/Reset/Used` on every answer; past the limit, 403 with remaining 0;
- a secondary rate limit on demand (`secondary`): 403 with `Retry-After`.

Every request is logged in `requests` as (path, status), which is how tests count them.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

DATA = Path(__file__).parent.parent / "data" / "forge" / "octokit-webhooks"
JSON = dict[str, Any]


def example(name: str) -> JSON:
    """One of octokit/webhooks' payload examples, e.g. `pull_request/opened`."""
    return json.loads((DATA / f"{name}.payload.json").read_text())


PULL = example("pull_request/opened")["pull_request"]
ISSUE = example("issues/opened")["issue"]
REVIEW = example("pull_request_review/submitted")["review"]
CHECK_RUN = example("check_run/completed")["check_run"]


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user(login: str) -> JSON:
    found = copy.deepcopy(PULL["user"])
    found.update(
        login=login,
        html_url=f"https://github.com/{login}",
        url=f"https://api.github.com/users/{login}",
    )
    return found


def pull_request(
    repo: str,
    number: int,
    *,
    title: str = "Fix the docs",
    author: str = "octocat",
    association: str = "CONTRIBUTOR",
    created: datetime,
    updated: datetime | None = None,
    draft: bool = False,
    head_sha: str | None = None,
    requested: tuple[str, ...] = (),
    labels: tuple[str, ...] = (),
    state: str = "open",
    merged: bool = False,
) -> JSON:
    """A pull request as GitHub shows it, from the example with these fields replaced."""
    found = copy.deepcopy(PULL)
    found.update(
        number=number,
        id=1000 + number,
        title=title,
        url=f"https://api.github.com/repos/{repo}/pulls/{number}",
        html_url=f"https://github.com/{repo}/pull/{number}",
        state="closed" if merged else state,
        draft=draft,
        user=user(author),
        author_association=association,
        created_at=stamp(created),
        updated_at=stamp(updated or created),
        merged_at=stamp(updated or created) if merged else None,
        merged=merged,
        requested_reviewers=[user(login) for login in requested],
        labels=[{**PULL["labels"][0], "name": name} for name in labels],
    )
    found["head"]["sha"] = head_sha or hashlib.sha1(f"{repo}{number}".encode()).hexdigest()
    found["base"]["repo"]["full_name"] = repo
    return found


def review(login: str, state: str, submitted: datetime) -> JSON:
    found = copy.deepcopy(REVIEW)
    found.update(user=user(login), state=state.upper(), submitted_at=stamp(submitted))
    return found


def signed(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook(event: str, payload: JSON, secret: str, delivery: str) -> tuple[dict[str, str], bytes]:
    """Headers and body as GitHub posts a webhook delivery."""
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/abc123",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Hook-ID": "42",
        "X-Hub-Signature-256": signed(body, secret),
    }
    return headers, body


def event_payload(name: str, repo: str, **parts: Any) -> JSON:
    """An example webhook payload (`pull_request/opened`), moved to *repo*, with *parts* set."""
    found = example(name)
    found["repository"]["full_name"] = repo
    found["repository"]["name"] = repo.split("/")[1]
    found.update(parts)
    if "pull_request" in parts:
        found["number"] = parts["pull_request"]["number"]
    return found


def issue(
    repo: str,
    number: int,
    *,
    title: str,
    state: str = "open",
    labels: tuple[str, ...] = (),
    assignees: tuple[str, ...] = (),
) -> JSON:
    """An issue as GitHub shows it, from the example with these fields replaced."""
    found = copy.deepcopy(ISSUE)
    found.update(
        number=number,
        title=title,
        state=state,
        html_url=f"https://github.com/{repo}/issues/{number}",
        labels=[{**PULL["labels"][0], "name": name} for name in labels],
        assignees=[user(login) for login in assignees],
        assignee=user(assignees[0]) if assignees else None,
    )
    return found


@dataclass
class Repo:
    issues: dict[int, JSON] = field(default_factory=dict)
    # Comments left on issues: (number, body, the Authorization header).
    comments: list[tuple[int, str, str | None]] = field(default_factory=list)
    pulls: dict[int, JSON] = field(default_factory=dict)
    reviews: dict[int, list[JSON]] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    # Check runs by head commit: (status, conclusion), e.g. ("completed", "failure").
    check_runs: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)


@dataclass
class FakeGitHub:
    repos: dict[str, Repo] = field(default_factory=dict)
    # Accounts by login: their bio, and the descriptions of their public gists.
    users: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    # GitLab: merge requests by project path, and by (project, iid) who approved, the pipeline.
    gitlab: dict[str, dict[int, JSON]] = field(default_factory=dict)
    # GitLab issues by project path, and the notes left on them: (project, iid, body, token).
    gitlab_issues: dict[str, dict[int, JSON]] = field(default_factory=dict)
    notes: list[tuple[str, int, str, str | None]] = field(default_factory=list)
    approvals: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    pipelines: dict[tuple[str, int], str] = field(default_factory=dict)
    limit: int = 5000
    remaining: int = 5000
    reset: datetime = datetime(2030, 1, 1, tzinfo=UTC)
    # The next this many requests meet a secondary rate limit.
    secondary: int = 0
    retry_after: int = 60
    requests: list[tuple[str, int]] = field(default_factory=list)
    # The Authorization header of each request, None when anonymous.
    authorizations: list[str | None] = field(default_factory=list)
    url: str = ""

    def repo(self, name: str) -> Repo:
        return self.repos.setdefault(name, Repo())

    def add(self, repo: str, pull: JSON) -> JSON:
        self.repo(repo).pulls[pull["number"]] = pull
        return pull

    def statuses(self) -> Iterator[int]:
        return (status for _, status in self.requests)

    def _headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": str(int(self.reset.timestamp())),
            "X-RateLimit-Used": str(self.limit - max(self.remaining, 0)),
            "X-RateLimit-Resource": "core",
        }

    def _answer(self, request: web.Request, items: list[JSON] | JSON) -> web.Response:
        self.authorizations.append(
            request.headers.get("Authorization") or request.headers.get("PRIVATE-TOKEN")
        )
        headers = self._headers()
        if self.secondary > 0:
            self.secondary -= 1
            self.requests.append((request.path_qs, 403))
            return web.json_response(
                {
                    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                },
                status=403,
                headers={**headers, "Retry-After": str(self.retry_after)},
            )
        if isinstance(items, list):
            # Forgejo's `limit` is GitHub's `per_page`.
            per_page = min(int(request.query.get("per_page", request.query.get("limit", 30))), 100)
            page = int(request.query.get("page", 1))
            last = max(1, -(-len(items) // per_page))
            body: Any = items[(page - 1) * per_page : page * per_page]
            links = []
            for rel, number in (("next", page + 1), ("last", last)):
                if number <= last and (rel == "last" or page < last):
                    query = dict(request.query, page=str(number))
                    links.append(
                        f'<{self.url}{request.url.with_query(query).path_qs}>; rel="{rel}"'
                    )
            if links:
                headers["Link"] = ", ".join(links)
        else:
            body = items
        text = json.dumps(body)
        etag = '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
        headers["ETag"] = etag
        if etag in request.headers.get("If-None-Match", ""):
            self.requests.append((request.path_qs, 304))
            return web.Response(status=304, headers=headers)
        if self.remaining <= 0:
            self.requests.append((request.path_qs, 403))
            return web.json_response(
                {
                    "message": "API rate limit exceeded for 127.0.0.1.",
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                },
                status=403,
                headers=self._headers(),
            )
        self.remaining -= 1
        headers.update(self._headers())
        self.requests.append((request.path_qs, 200))
        return web.Response(text=text, content_type="application/json", headers=headers)

    async def list_pulls(self, request: web.Request) -> web.Response:
        repo = self.repos.get(f"{request.match_info['owner']}/{request.match_info['repo']}")
        if repo is None:
            return web.json_response({"message": "Not Found"}, status=404)
        state = request.query.get("state", "open")
        found = [p for p in repo.pulls.values() if state == "all" or p["state"] == state]
        found.sort(key=lambda p: -p["number"])
        # GitHub's `sort=updated&direction=desc`, Forgejo's `sort=recentupdate`.
        if request.query.get("sort") in ("updated", "recentupdate"):
            found.sort(key=lambda p: p["updated_at"], reverse=True)
        return self._answer(request, found)

    async def list_issues(self, request: web.Request) -> web.Response:
        repo = self.repos.get(f"{request.match_info['owner']}/{request.match_info['repo']}")
        if repo is None:
            return web.json_response({"message": "Not Found"}, status=404)
        wanted = {name for name in request.query.get("labels", "").split(",") if name}
        found = [
            issue
            for issue in repo.issues.values()
            if issue["state"] == request.query.get("state", "open")
            and wanted <= {label["name"] for label in issue["labels"]}
            # Forgejo's `type=issues` leaves pull requests out.
            and not (request.query.get("type") == "issues" and issue.get("pull_request"))
        ]
        if request.path.startswith("/api/v1/"):  # no order asked: the newest first
            return self._answer(request, sorted(found, key=lambda issue: -issue["number"]))
        return self._answer(request, sorted(found, key=lambda issue: issue["number"]))

    async def add_comment(self, request: web.Request) -> web.Response:
        repo = self.repos.get(f"{request.match_info['owner']}/{request.match_info['repo']}")
        number = int(request.match_info["number"])
        if repo is None or number not in repo.issues:
            return web.json_response({"message": "Not Found"}, status=404)
        if request.headers.get("Authorization") is None:
            return web.json_response({"message": "Requires authentication"}, status=401)
        body = str((await request.json()).get("body", ""))
        repo.comments.append((number, body, request.headers.get("Authorization")))
        self.requests.append((request.path_qs, 201))
        return web.json_response(
            {"id": len(repo.comments), "body": body, "user": user("convene-bot")}, status=201
        )

    async def get_issue(self, request: web.Request) -> web.Response:
        repo = self.repos.get(f"{request.match_info['owner']}/{request.match_info['repo']}")
        found = None if repo is None else repo.issues.get(int(request.match_info["number"]))
        if found is None:
            self.requests.append((request.path_qs, 404))
            return web.json_response(
                {
                    "message": "Not Found",
                    "documentation_url": "https://docs.github.com/rest/issues/issues#get-an-issue",
                },
                status=404,
            )
        return self._answer(request, found)

    def _user(self, request: web.Request) -> tuple[str, str, list[str]] | None:
        login = request.match_info["login"]
        found = next((k for k in self.users if k.lower() == login.lower()), None)
        if found is None:
            self.requests.append((request.path_qs, 404))
            return None
        return (found, *self.users[found])

    async def get_user(self, request: web.Request) -> web.Response:
        found = self._user(request)
        if found is None:
            return web.json_response({"message": "Not Found"}, status=404)
        login, bio, _ = found
        if request.path.startswith("/api/v1/"):  # Forgejo keeps the bio as `description`
            return self._answer(
                request, {**user(login), "full_name": login.title(), "description": bio}
            )
        return self._answer(request, {**user(login), "name": login.title(), "bio": bio or None})

    async def gitlab_users(self, request: web.Request) -> web.Response:
        wanted = request.query.get("username", "").lower()
        names = sorted(self.users)
        found = [
            {"id": n + 1, "username": name, "name": name.title(), "state": "active"}
            for n, name in enumerate(names)
            if name.lower() == wanted
        ]
        return self._answer(request, found)

    async def gitlab_user(self, request: web.Request) -> web.Response:
        names = sorted(self.users)
        index = int(request.match_info["id"]) - 1
        if not 0 <= index < len(names):
            return web.json_response({"message": "404 User Not Found"}, status=404)
        name = names[index]
        bio = self.users[name][0]
        return self._answer(
            request, {"id": index + 1, "username": name, "name": name.title(), "bio": bio}
        )

    async def list_gists(self, request: web.Request) -> web.Response:
        found = self._user(request)
        if found is None:
            return web.json_response({"message": "Not Found"}, status=404)
        login, _, descriptions = found
        gists = [
            {
                "id": f"gist{n}",
                "html_url": f"https://gist.github.com/{login}/gist{n}",
                "public": True,
                "description": description,
                "files": {"notes.md": {"filename": "notes.md", "type": "text/markdown"}},
                "owner": user(login),
            }
            for n, description in enumerate(descriptions)
        ]
        return self._answer(request, gists)

    async def list_reviews(self, request: web.Request) -> web.Response:
        repo = self.repos[f"{request.match_info['owner']}/{request.match_info['repo']}"]
        return self._answer(request, repo.reviews.get(int(request.match_info["number"]), []))

    async def status(self, request: web.Request) -> web.Response:
        repo = self.repos[f"{request.match_info['owner']}/{request.match_info['repo']}"]
        sha = request.match_info["ref"]
        state = repo.statuses.get(sha)
        contexts = (
            [] if state is None else [{"state": state, "context": "ci/test", "description": state}]
        )
        return self._answer(
            request,
            {
                "state": state or "pending",
                "sha": sha,
                "total_count": len(contexts),
                "statuses": contexts,
            },
        )

    async def check_runs(self, request: web.Request) -> web.Response:
        """`GET …/commits/{ref}/check-runs`: `{total_count, check_runs}`, each run the
        example's with its status and conclusion set."""
        repo = self.repos[f"{request.match_info['owner']}/{request.match_info['repo']}"]
        sha = request.match_info["ref"]
        runs = []
        for n, (status, conclusion) in enumerate(repo.check_runs.get(sha, [])):
            run = copy.deepcopy(CHECK_RUN)
            run.update(id=4000 + n, head_sha=sha, status=status, conclusion=conclusion)
            runs.append(run)
        return self._answer(request, {"total_count": len(runs), "check_runs": runs})

    async def list_merge_requests(self, request: web.Request) -> web.Response:
        found = self.gitlab.get(request.match_info["project"], {})
        state = request.query.get("state", "all")
        shown = [mr for mr in found.values() if state == "all" or mr["state"] == state]
        shown.sort(key=lambda mr: -mr["iid"])
        if request.query.get("order_by") == "updated_at":
            shown.sort(key=lambda mr: mr["updated_at"], reverse=True)
        return self._answer(request, shown)

    async def get_merge_request(self, request: web.Request) -> web.Response:
        project, iid = request.match_info["project"], int(request.match_info["iid"])
        found = dict(self.gitlab[project][iid])
        status = self.pipelines.get((project, iid))
        found["head_pipeline"] = (
            None if status is None else {"id": 1, "sha": found["sha"], "status": status}
        )
        return self._answer(request, found)

    async def get_approvals(self, request: web.Request) -> web.Response:
        project, iid = request.match_info["project"], int(request.match_info["iid"])
        approved = self.approvals.get((project, iid), [])
        return self._answer(
            request,
            {
                "iid": iid,
                "approved": bool(approved),
                "approved_by": [
                    {"user": {"username": name, "name": name.title()}} for name in approved
                ],
            },
        )

    def _gitlab_project(self, request: web.Request) -> dict[int, JSON] | None:
        found = self.gitlab_issues.get(request.match_info["project"])
        if found is None:
            self.requests.append((request.path_qs, 404))
        return found

    async def gitlab_issue(self, request: web.Request) -> web.Response:
        project = self._gitlab_project(request)
        if project is None:
            return web.json_response({"message": "404 Project Not Found"}, status=404)
        found = project.get(int(request.match_info["iid"]))
        if found is None:
            self.requests.append((request.path_qs, 404))
            return web.json_response({"message": "404 Not found"}, status=404)
        return self._answer(request, found)

    async def gitlab_issue_list(self, request: web.Request) -> web.Response:
        """`GET /projects/:id/issues`: `state` opened|closed|all, `labels` (all of them),
        `order_by=created_at` and `sort` asc|desc (desc by default)."""
        project = self._gitlab_project(request)
        if project is None:
            return web.json_response({"message": "404 Project Not Found"}, status=404)
        state = request.query.get("state", "all")
        wanted = {name for name in request.query.get("labels", "").split(",") if name}
        found = [
            issue
            for issue in project.values()
            if (state == "all" or issue["state"] == state) and wanted <= set(issue["labels"])
        ]
        backwards = request.query.get("sort", "desc") == "desc"
        return self._answer(request, sorted(found, key=lambda i: i["iid"], reverse=backwards))

    async def gitlab_note(self, request: web.Request) -> web.Response:
        project = self._gitlab_project(request)
        iid = int(request.match_info["iid"])
        if project is None or iid not in project:
            return web.json_response({"message": "404 Not found"}, status=404)
        token = request.headers.get("PRIVATE-TOKEN")
        if token is None:
            return web.json_response({"message": "401 Unauthorized"}, status=401)
        body = str((await request.json()).get("body", ""))
        self.notes.append((request.match_info["project"], iid, body, token))
        self.requests.append((request.path_qs, 201))
        note = {
            "id": len(self.notes),
            "body": body,
            "author": {"id": 1, "username": "convene-bot", "name": "Convene"},
            "system": False,
            "noteable_type": "Issue",
            "noteable_iid": iid,
        }
        return web.json_response(note, status=201)

    def app(self) -> web.Application:
        """GitHub's paths at the root, again under `/api/v1` as Forgejo serves them, and
        GitLab's under `/api/v4`."""
        app = web.Application()
        self._routes(app)
        forgejo = web.Application()
        self._routes(forgejo)
        app.add_subapp("/api/v1", forgejo)
        mrs = "/api/v4/projects/{project:.+}/merge_requests"
        app.router.add_get(mrs + "/{iid:[0-9]+}/approvals", self.get_approvals)
        app.router.add_get(mrs + "/{iid:[0-9]+}", self.get_merge_request)
        app.router.add_get(mrs, self.list_merge_requests)
        issues = "/api/v4/projects/{project:.+}/issues"
        app.router.add_get(issues + "/{iid:[0-9]+}", self.gitlab_issue)
        app.router.add_post(issues + "/{iid:[0-9]+}/notes", self.gitlab_note)
        app.router.add_get(issues, self.gitlab_issue_list)
        app.router.add_get("/api/v4/users", self.gitlab_users)
        app.router.add_get("/api/v4/users/{id:[0-9]+}", self.gitlab_user)
        return app

    def _routes(self, app: web.Application) -> None:
        base = "/repos/{owner}/{repo}"
        app.router.add_get(f"{base}/pulls", self.list_pulls)
        app.router.add_get(base + "/pulls/{number}/reviews", self.list_reviews)
        app.router.add_get(base + "/issues", self.list_issues)
        app.router.add_get(base + "/issues/{number}", self.get_issue)
        app.router.add_post(base + "/issues/{number}/comments", self.add_comment)
        app.router.add_get("/users/{login}", self.get_user)
        app.router.add_get("/users/{login}/gists", self.list_gists)
        app.router.add_get(base + "/commits/{ref}/status", self.status)
        app.router.add_get(base + "/commits/{ref}/check-runs", self.check_runs)
        return app


@asynccontextmanager
async def serving(fake: FakeGitHub) -> AsyncIterator[FakeGitHub]:
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    fake.url = f"http://{host}:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()


# GitLab and Forgejo send webhooks only (Convene does not poll them yet): their payloads, from
# GitLab's documentation and Woodpecker CI's Forgejo fixtures (tests/data/forge/README.md).
FORGE_DATA = DATA.parent


def gitlab_merge_request(
    repo: str,
    iid: int,
    *,
    action: str = "open",
    title: str = "Fix the docs",
    author: str = "root",
    first: bool = False,
    created: datetime,
    updated: datetime | None = None,
    draft: bool = False,
    state: str = "opened",
) -> JSON:
    """GitLab's "Merge Request Hook" example, moved to *repo*, with these fields replaced."""
    found = json.loads((FORGE_DATA / "gitlab" / "merge_request.payload.json").read_text())
    found["project"]["path_with_namespace"] = repo
    found["user"]["username"] = author
    found["object_attributes"].update(
        iid=iid,
        title=title,
        action=action,
        state=state,
        draft=draft,
        first_contribution=first,
        url=f"https://gitlab.com/{repo}/-/merge_requests/{iid}",
        created_at=stamp(created),
        updated_at=stamp(updated or created),
    )
    return found


def gitlab_webhook(
    payload: JSON, token: str, delivery: str, event: str = "Merge Request Hook"
) -> tuple[dict[str, str], bytes]:
    headers = {
        "Content-Type": "application/json",
        "X-Gitlab-Event": event,
        "X-Gitlab-Event-UUID": delivery,
        "X-Gitlab-Token": token,
    }
    return headers, json.dumps(payload).encode()


def forgejo_pull_request(
    repo: str,
    number: int,
    *,
    action: str = "opened",
    title: str = "Fix the docs",
    author: str = "gordon",
    created: datetime,
    updated: datetime | None = None,
    merged: bool = False,
) -> JSON:
    """A Forgejo `pull_request` delivery (Woodpecker's fixture of a merged one), with these
    fields replaced."""
    found = json.loads(
        (FORGE_DATA / "woodpecker-forgejo" / "HookPullRequestMerged.json").read_text()
    )
    found["action"] = action
    found["number"] = number
    found["repository"]["full_name"] = repo
    pull = found["pull_request"]
    pull.update(
        number=number,
        title=title,
        state="closed" if merged else "open",
        merged=merged,
        merged_at=stamp(updated or created) if merged else None,
        html_url=f"https://codeberg.org/{repo}/pulls/{number}",
        created_at=stamp(created),
        updated_at=stamp(updated or created),
    )
    pull["user"]["login"] = author
    return found


def forgejo_webhook(
    payload: JSON, secret: str, delivery: str, event: str = "pull_request"
) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Forgejo-Event": event,
        "X-Forgejo-Delivery": delivery,
        "X-Forgejo-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }
    return headers, body


GITLAB_LIST_ITEM = json.loads((FORGE_DATA / "gitlab" / "merge_requests.list.json").read_text())[0]


def gitlab_listed(
    repo: str,
    iid: int,
    *,
    title: str = "Fix the docs",
    author: str = "admin",
    created: datetime,
    reviewers: tuple[str, ...] = (),
    sha: str | None = None,
) -> JSON:
    """A merge request as GitLab's API lists it (the documentation's example), opened, with
    these fields replaced; `reviewers` and `draft`, which newer GitLab adds, set too."""
    found = copy.deepcopy(GITLAB_LIST_ITEM)
    found.update(
        iid=iid,
        id=5000 + iid,
        title=title,
        state="opened",
        merged_by=None,
        merged_at=None,
        draft=False,
        created_at=stamp(created),
        updated_at=stamp(created),
        sha=sha or hashlib.sha1(f"{repo}!{iid}".encode()).hexdigest(),
        web_url=f"https://gitlab.com/{repo}/-/merge_requests/{iid}",
        reviewers=[
            {"id": n, "username": name, "name": name.title()} for n, name in enumerate(reviewers)
        ],
    )
    found["author"] = {**found["author"], "username": author}
    return found


GITLAB_ISSUE = json.loads((FORGE_DATA / "gitlab" / "issues.list.json").read_text())[0]
FORGEJO_ISSUE = json.loads((FORGE_DATA / "gitea" / "issue.json").read_text())


def gitlab_issue(
    project: str,
    iid: int,
    *,
    title: str,
    state: str = "opened",
    labels: tuple[str, ...] = (),
    assignees: tuple[str, ...] = (),
) -> JSON:
    """An issue as GitLab's API v4 shows it (the documentation's example), with these fields
    replaced: states `opened`/`closed`, labels by name, users by `username`."""
    found = copy.deepcopy(GITLAB_ISSUE)
    people = [
        {**found["assignees"][0], "username": name, "id": 100 + n}
        for n, name in enumerate(assignees)
    ]
    found.update(
        iid=iid,
        id=7000 + iid,
        title=title,
        state=state,
        labels=list(labels),
        assignees=people,
        assignee=people[0] if people else None,
        web_url=f"https://gitlab.com/{project}/-/issues/{iid}",
    )
    return found


def forgejo_issue(
    repo: str,
    number: int,
    *,
    title: str,
    state: str = "open",
    labels: tuple[str, ...] = (),
    assignees: tuple[str, ...] = (),
    pull: bool = False,
) -> JSON:
    """An issue as Forgejo's API v1 shows it (Gitea's `Issue` model), with these fields
    replaced; a pull request listed among issues has `pull_request` set."""
    found = copy.deepcopy(FORGEJO_ISSUE)
    people = [{**found["user"], "login": name, "username": name} for name in assignees]
    found.update(
        number=number,
        id=1300 + number,
        title=title,
        state=state,
        html_url=f"https://codeberg.org/{repo}/issues/{number}",
        labels=[
            {"id": n, "name": name, "color": "e11d21", "description": "", "exclusive": False}
            for n, name in enumerate(labels)
        ],
        assignees=people or None,
        assignee=people[0] if people else None,
        pull_request=(
            {"merged": False, "merged_at": None, "draft": False, "html_url": ""} if pull else None
        ),
    )
    found["repository"].update(full_name=repo, owner=repo.split("/")[0], name=repo.split("/")[1])
    return found


def issue_event(action: str, repo: str, found: JSON) -> JSON:
    """A GitHub `issues` delivery: octokit's example of *action* (`reopened` for `closed`,
    which it has none of), moved to *repo*, carrying the issue *found* (see `issue`)."""
    payload = event_payload(
        f"issues/{'reopened' if action == 'closed' else action}", repo, issue=found
    )
    payload["action"] = action
    return payload


GITLAB_ISSUE_HOOK = json.loads((FORGE_DATA / "gitlab" / "issue.payload.json").read_text())


def gitlab_issue_event(
    project: str,
    iid: int,
    *,
    title: str,
    action: str = "update",
    state: str = "opened",
    labels: tuple[str, ...] = (),
    assignees: tuple[str, ...] = (),
) -> JSON:
    """A GitLab `Issue Hook` delivery (the documentation's example), with these fields
    replaced: labels by `title`, assignees by `username`, the issue's `iid` and `url`."""
    found = copy.deepcopy(GITLAB_ISSUE_HOOK)
    found["project"].update(path_with_namespace=project, web_url=f"https://gitlab.com/{project}")
    label = found["labels"][0]
    found["labels"] = [{**label, "id": 300 + n, "title": name} for n, name in enumerate(labels)]
    person = found["assignees"][0]
    found["assignees"] = [{**person, "username": name} for name in assignees]
    found["assignee"] = found["assignees"][0] if assignees else None
    found["object_attributes"].update(
        iid=iid,
        title=title,
        state=state,
        action=action,
        labels=found["labels"],
        url=f"https://gitlab.com/{project}/-/issues/{iid}",
    )
    return found


def forgejo_issue_event(action: str, repo: str, found: JSON) -> JSON:
    """A Forgejo (Gitea) `issues` delivery, shaped as Gitea's `IssuePayload`: the action, the
    issue's number, the issue *found* (see `forgejo_issue`), and the repository and sender of
    Woodpecker's Forgejo fixture."""
    hook = json.loads((FORGE_DATA / "woodpecker-forgejo" / "HookPullRequest.json").read_text())
    hook["repository"].update(full_name=repo, name=repo.split("/")[1])
    return {
        "action": action,
        "number": found["number"],
        "issue": found,
        "repository": hook["repository"],
        "sender": hook["sender"],
        "commit_id": "",
    }
