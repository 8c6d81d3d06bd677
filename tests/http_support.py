"""What the HTTP tests share: a users file with people and systems, and a client for the ASGI app."""

import asyncio
import base64
from dataclasses import dataclass
from pathlib import Path

import httpx

from engine.http import Authenticator, auth, create_app
from engine.http.problems import MEDIA_TYPE
from engine.service import Workflows

PASSWORD = "correct horse battery staple"
"""The password of the people in the users file (each file's hash is its own)."""


@dataclass
class Users:
    path: Path
    tokens: dict[str, str]
    """A bearer token of each system, by user name."""

    def bearer(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


def basic(name: str, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


SYSTEMS = {"cara": "customer", "sam": "supervisor", "mo": "supervisor"}


def make_users(folder: Path, **more: str) -> Users:
    """``li`` (a clerk) signs in with a password; ``cara`` (a customer), ``sam`` and ``mo``
    (supervisors), and each of ``more`` (name=role), are systems with tokens."""
    path = folder / "users.yaml"
    auth.add_user(path, "li", ["clerk"], PASSWORD)
    tokens = {}
    for name, role in (SYSTEMS | more).items():
        auth.add_user(path, name, [role], None)
        tokens[name] = auth.new_token(path, name)
    return Users(path, tokens)


class Client:
    """httpx against the ASGI app in this process, one event loop per request, from ``peer``."""

    def __init__(self, app, peer: str = "198.51.100.7"):
        self.app = app
        self.peer = peer

    def request(self, method: str, url: str, **options) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=(self.peer, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://procflow.test") as client:
                return await client.request(method, url, **options)

        return asyncio.run(send())

    def get(self, url: str, **options) -> httpx.Response:
        return self.request("GET", url, **options)

    def post(self, url: str, **options) -> httpx.Response:
        return self.request("POST", url, **options)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict:
    """The problem details of a refusal, checked to be RFC 9457 with that status and stable code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == MEDIA_TYPE
    body = response.json()
    assert (body["status"], body["code"], body["type"]) == (status, code, f"urn:procflow:problem:{code}")
    assert body["title"] and body["detail"] and body["instance"] == response.request.url.path
    assert "Traceback" not in response.text
    return body


def api_client(workflows: Workflows, users: Users) -> Client:
    """The API (no pages) for the people of ``users``, called in this process."""
    return Client(create_app(workflows, Authenticator(users.path)))
