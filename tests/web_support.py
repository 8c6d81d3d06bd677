"""What the page tests share: a browser-like client for the ASGI app that keeps its cookies."""

import asyncio

import httpx


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
