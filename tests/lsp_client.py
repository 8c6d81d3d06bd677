"""A small Language Server Protocol client: drives the real yaml-language-server over stdin/stdout.

Only what the editor tests need: start the server, configure a schema for a glob, open a document,
wait for its diagnostics, ask for completion. Requests the server sends us (configuration,
capability registration, progress) are answered with empty results, as a plain editor would.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "tests" / "editor" / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
TIMEOUT = 30.0  # seconds: generous, for a machine shared by many jobs


class LspError(Exception):
    pass


class YamlLanguageServer:
    def __init__(self, node: str, schemas: dict[str, list[str]], root: Path):
        """``schemas`` maps a schema's file URI to the globs it applies to, as editors' `yaml.schemas`."""
        self._process = subprocess.Popen(
            [node, str(SERVER), "--stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._settings = {"schemas": schemas, "validate": True, "completion": True, "hover": True}
        self._next_id = 0
        self._responses: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._diagnostics: queue.Queue[dict[str, Any]] = queue.Queue()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": root.as_uri(),
                "capabilities": {
                    "textDocument": {
                        "completion": {"completionItem": {"snippetSupport": False}},
                        "publishDiagnostics": {},
                    }
                },
            },
        )
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": {"yaml": self._settings}})

    def close(self) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self._process.wait(timeout=TIMEOUT)
        except (LspError, OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout=TIMEOUT)
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()

    def __enter__(self) -> YamlLanguageServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the protocol --------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self._process.stdin is not None
        with self._lock:
            self._process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self._process.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def request(self, method: str, params: Any) -> Any:
        self._next_id += 1
        ident = self._next_id
        waiting: queue.Queue[dict[str, Any]] = queue.Queue()
        self._responses[ident] = waiting
        self._send({"id": ident, "method": method, "params": params})
        try:
            response = waiting.get(timeout=TIMEOUT)
        except queue.Empty:
            raise LspError(f"no answer to {method} within {TIMEOUT:g} s") from None
        if "error" in response:
            raise LspError(f"{method}: {response['error']}")
        return response.get("result")

    def _read(self) -> None:
        stream = self._process.stdout
        assert stream is not None
        while True:
            length = 0
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value.strip())
            message = json.loads(stream.read(length).decode("utf-8"))
            if "id" in message and "method" in message:  # the server asks us something
                self._send({"id": message["id"], "result": self._answer(message["method"], message.get("params"))})
            elif "id" in message:
                waiting = self._responses.pop(message["id"], None)
                if waiting is not None:
                    waiting.put(message)
            elif message.get("method") == "textDocument/publishDiagnostics":
                self._diagnostics.put(message["params"])

    # --- what the tests use --------------------------------------------------------------------

    def open(self, path: Path, text: str) -> list[dict[str, Any]]:
        """Open ``text`` as the document at ``path``; the diagnostics the server publishes for it."""
        uri = path.as_uri()
        document = {"uri": uri, "languageId": "yaml", "version": 1, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": document})
        while True:
            try:
                published = self._diagnostics.get(timeout=TIMEOUT)
            except queue.Empty:
                raise LspError(f"no diagnostics for {path.name} within {TIMEOUT:g} s") from None
            if published["uri"] == uri:
                diagnostics: list[dict[str, Any]] = published["diagnostics"]
                return diagnostics

    def completion(self, path: Path, line: int, character: int) -> list[str]:
        """The labels the server offers at a 0-based position of an open document."""
        result = self.request(
            "textDocument/completion",
            {"textDocument": {"uri": path.as_uri()}, "position": {"line": line, "character": character}},
        )
        items = result.get("items", []) if isinstance(result, dict) else (result or [])
        return [str(item["label"]) for item in items]

    def hover(self, path: Path, line: int, character: int) -> str:
        """The text the server shows on hovering a 0-based position of an open document ('' if none)."""
        result = self.request(
            "textDocument/hover",
            {"textDocument": {"uri": path.as_uri()}, "position": {"line": line, "character": character}},
        )
        contents = result.get("contents", "") if isinstance(result, dict) else ""
        return str(contents.get("value", "") if isinstance(contents, dict) else contents)

    def _answer(self, method: str, params: Any) -> Any:
        """The server pulls its settings (`workspace/configuration`) even from a client that pushed them."""
        if method == "workspace/configuration" and isinstance(params, dict):
            return [self._settings if item.get("section") == "yaml" else {} for item in params.get("items", [])]
        return None
