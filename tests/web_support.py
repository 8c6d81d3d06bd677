"""What the page tests share: the API with its pages for a users file, a browser-like client for it
that keeps its cookies, and signing in through the sign-in form."""

import asyncio
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx
from http_support import PASSWORD

from engine.http import Authenticator, auth, create_app
from engine.http.sessions import Sessions, session_key
from engine.service import Workflows
from engine.web.routes import page_routes


def add_people(users: Path, people: Mapping[str, Sequence[str]], password: str = PASSWORD) -> Path:
    """The users file ``users`` with each person of ``people`` (name: roles), all with ``password``."""
    for name, roles in people.items():
        auth.add_user(users, name, list(roles), password)
    return users


def pages_app(workflows: Workflows, users: Path, *, authenticator: Authenticator | None = None):
    """The API and the pages ``procflow serve`` runs, for the people of ``users``; sessions signed
    with a key made beside it."""
    authenticator = authenticator or Authenticator(users)
    sessions = Sessions(session_key(users.with_name(users.name + ".session-key")))
    return create_app(
        workflows, authenticator, sessions=sessions, pages=page_routes(workflows, authenticator, sessions)
    )


class Browser:
    """httpx against the ASGI app in this process, keeping cookies between requests as a browser does,
    never following redirects (the tests look at them)."""

    def __init__(self, app, peer: str = "198.51.100.7"):
        self.app = app
        self.peer = peer
        self.cookies = httpx.Cookies()

    def request(self, method: str, url: str, **options) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=(self.peer, 40000))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://procflow.test", cookies=self.cookies
            ) as client:
                answer = await client.request(method, url, **options)
                self.cookies = httpx.Cookies(client.cookies)
                return answer

        return asyncio.run(send())

    def get(self, url: str, **options) -> httpx.Response:
        return self.request("GET", url, **options)

    def post(self, url: str, **options) -> httpx.Response:
        return self.request("POST", url, **options)


def sign_in(app, name: str, password: str = PASSWORD) -> Browser:
    """A browser signed in as ``name`` through the sign-in form."""
    browser = Browser(app)
    token = re.search(r'name="login_token" value="([^"]+)"', browser.get("/app/login").text).group(1)
    answer = browser.post("/app/login", data={"login_token": token, "user": name, "password": password, "next": ""})
    assert answer.status_code == 303, answer.text
    return browser
