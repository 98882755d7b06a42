"""Drive a real `myia` process through a pseudo-terminal (stdlib `pty`, no pexpect).

The child is a session leader with the pty as its controlling terminal, so it sees a real
TTY (Rich prompts, live progress) and a written Ctrl+C (\\x03) becomes SIGINT, as at a
keyboard. It is started by `subprocess` (fork and exec in C), not `pty.fork()`: the test
process has threads, and Python 3.12+ warns that forking one to run Python code may deadlock.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

MYIA = str(Path(sys.executable).with_name("myia"))
# Run in the child before exec: take the pty (its stdin) as the new session's controlling terminal.
TAKE_TTY = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)
ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")


class PtyProcess:
    def __init__(self, args: list[str], *, env: dict[str, str], cwd: Path) -> None:
        env = {**env, "COLUMNS": "200", "LINES": "50", "TERM": "xterm-256color"}
        fd, tty = os.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-c", TAKE_TTY, MYIA, *args],
            stdin=tty,
            stdout=tty,
            stderr=tty,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        os.close(tty)
        self.fd = fd
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
            self.status = self.process.poll()
            if self.status is not None:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"still running; output was:\n{self.text[-4000:]}")
            self._read(0.1)
        while self._read(0.05) and select.select([self.fd], [], [], 0)[0]:
            pass
        return self.status

    def close(self) -> None:
        if self.status is None:
            self.process.kill()
            self.process.wait()
        os.close(self.fd)
