"""Reading and writing the files a user names: bounded, never blocking, never half-written.

Every file procflow reads on a user's behalf (definitions, scenarios, histories) goes through
``read_bounded``: it refuses what is not a regular file (a folder, a device such as ``/dev/zero``,
a FIFO) before reading a byte, and reads at most ``limit + 1`` bytes, so a huge or endless file
costs no more memory than the limit. Every file it writes (a history, a diagram) goes through
``write_replacing``: the content goes to a temporary file beside the target, which then takes the
target's name, so a failed write leaves the target as it was.

The errors are ``OSError``s, the exceptions file access raises anyway, with ``strerror`` in words;
callers translate them into their own errors (a located ``DefinitionError``, an
``InstanceFormatError``) at their boundary. ``display_name`` is a path as printable text.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
_CHUNK = 1 << 16


class NotAFile(OSError):
    """The path names a folder, a device, a FIFO or a socket where a file is expected."""


class FileTooLarge(OSError):
    """The file holds more than the reader's limit; ``limit`` is that limit in bytes."""

    def __init__(self, path: str, limit: int):
        super().__init__(errno.EFBIG, f"the file is larger than {limit:,} bytes", path)
        self.limit = limit


def display_name(path: str | os.PathLike[str]) -> str:
    """The path as text that can be printed, stored and put in a page: the bytes of a file name that
    are not UTF-8 (which Python keeps as lone surrogates) are shown as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def read_bounded(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of the regular file at ``path``; ``FileTooLarge`` past ``limit`` bytes, ``NotAFile``
    for anything but a regular file, another ``OSError`` when it cannot be opened."""
    name = os.fspath(path)
    _require_regular(name, os.stat(name).st_mode)  # before opening: opening some devices does something
    descriptor = os.open(name, _OPEN_FLAGS)
    try:
        _require_regular(name, os.fstat(descriptor).st_mode)  # the same file, not one swapped in since
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(descriptor, min(_CHUNK, limit + 1 - size))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
        raise FileTooLarge(name, limit)
    finally:
        os.close(descriptor)


def write_replacing(path: str | os.PathLike[str], content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file beside it: the target is replaced whole
    or left as it was. ``NotAFile`` when ``path`` names a folder, a device or a FIFO (nothing is
    written there); another ``OSError`` when the folder is missing, read-only or full."""
    target = Path(path)
    try:
        existing: int | None = target.stat().st_mode
    except FileNotFoundError:
        existing = None  # a new file: it gets the permissions the umask leaves
    if existing is not None:
        _require_regular(str(target), existing)
    staging = target.with_name(f".{target.name}.{os.urandom(4).hex()}.tmp")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        if existing is not None:
            os.chmod(staging, stat.S_IMODE(existing))
        os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def _require_regular(name: str, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise NotAFile(errno.EISDIR, "it is a folder, not a file", name)
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    raise NotAFile(errno.EINVAL, f"it is {kind}, not a regular file", name)
