"""Drive a real `myia` process through a pseudo-terminal (stdlib `pty`, no pexpect).

The child is a session leader with the pty as its controlling terminal, so it sees a real
TTY (Rich prompts, live progress) and a written Ctrl+C (\\x03) becomes SIGINT, as at a
keyboard.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import sys
import time
from pathlib import Path

MYIA = str(Path(sys.executable).with_name("myia"))
ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")


class PtyProcess:
    def __init__(self, args: list[str], *, env: dict[str, str], cwd: Path) -> None:
        env = {**env, "COLUMNS": "200", "LINES": "50", "TERM": "xterm-256color"}
        pid, fd = pty.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                os.chdir(cwd)
                os.execve(MYIA, [MYIA, *args], env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.raw = ""
        self.status: int | None = None

    @property
    def text(self) -> str:
        """Everything printed so far, without colours and cursor movements."""
        return ANSI.sub("", self.raw).replace("\r", "")

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not chunk:
            return False
        self.raw += chunk.decode("utf-8", errors="replace")
        return True

    def expect(self, pattern: str, timeout: float = 30.0, *, start: int = 0) -> int:
        """Wait until `pattern` (a regex) appears after position `start` of `text`; returns
        the end of the match."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.text[start:])
            if found:
                return start + found.end()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read(min(remaining, 0.2)):
                found = re.search(pattern, self.text[start:])
                if found:
                    return start + found.end()
                raise AssertionError(f"{pattern!r} not seen; output was:\n{self.text[-4000:]}")

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def wait(self, timeout: float = 30.0) -> int:
        """Read until the child exits; its exit code."""
        deadline = time.monotonic() + timeout
        while self.status is None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.status = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"still running; output was:\n{self.text[-4000:]}")
            self._read(0.1)
        while self._read(0.05) and select.select([self.fd], [], [], 0)[0]:
            pass
        return self.status

    def close(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except ProcessLookupError:
                pass
        os.close(self.fd)
