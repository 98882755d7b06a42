"""Run the shell and Python blocks of a Markdown page as a reader would, in order, in one
scratch installation.

A page's blocks share one environment: a scratch directory (the checkout's files linked in, so
`scenarios/…`, `bench/…` and `.venv/bin/…` resolve; `var/` is the scratch's own), the venv on
PATH, and the shell a reader of README.md keeps beside `make run`:

    export MYIA_MODE=demo DATABASE_URL=sqlite+aiosqlite:///var/demo.db
    export AWS_ACCESS_KEY_ID=AKIAMYIADEMOSIMULATE AWS_SECRET_ACCESS_KEY=myia-demo-…

Shell variables a block sets (`TOKEN=…`, `export …`, `cd`) carry to the page's next shell block,
as in one terminal. A server is started once for the page on a free port, substituted for
127.0.0.1:8000 (or localhost:8000): `myia demo` at the page's first shell block or block that
talks to it (with `--no-certify`: the first start's certification of the whole catalog would
only cost CPU here; a page that needs a certified model certifies it, as docs/gateway.md
does), or, for a page whose own blocks build the installation, `myia serve` at its first
block that talks to it; the simulator's documented port 8900 gets a free port too, so pages
run side by side. Python blocks run as complete programs (no top-level await: asyncio.run)
with the venv's Python, from the page's terminal (what its shell blocks exported, in their
directory). Processes a block leaves in the background are ended with the page (each block
runs in a process group of its own).

A block that cannot run here carries `<!-- not-run: <reason> -->` on the line right before its
fence; the reason is required.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.sim_support import free_port

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
RUNNABLE = {
    "bash": "shell",
    "sh": "shell",
    "shell": "shell",
    "console": "console",
    "python": "python",
}
FENCE = re.compile(r"^```(\S*)\s*$")
NOT_RUN = re.compile(r"^<!--\s*not-run:(.*?)-->\s*$")
APP_PORT = re.compile(r"\b(127\.0\.0\.1|localhost):8000\b")
# Fixed ports the pages name besides the app's: each gets a free port of its own.
OTHER_PORTS = (8900,)
BLOCK_TIMEOUT_S = 600.0
SERVER_START_S = 180.0
# Bash's own variables, and the saver's locals: not carried from one block to the next.
_SHELL_SAVE = r"""
__doc_save() {
  local __v __d __f
  for __v in $(compgen -v); do
    case $__v in
      BASH*|FUNCNAME|PIPESTATUS|GROUPS|DIRSTACK|COMP_*|SHLVL|PWD|OLDPWD|_|RANDOM|SRANDOM|\
      LINENO|SECONDS|EPOCHREALTIME|EPOCHSECONDS|HISTCMD|OPTIND|OPTARG|OPTERR|PS4|__v|__d|__f)
        continue;;
    esac
    __d=$(declare -p "$__v" 2>/dev/null) || continue
    __f=${__d#declare }; __f=${__f%% *}  # the flags: -- -x -r -a …
    case $__f in *r*) continue;; esac
    printf '%s\n' "$__d"
  done
  printf 'cd %q\n' "$PWD"
}
"""


@dataclass(frozen=True)
class Block:
    """One fenced block of a page: where it is, its language and text, and, when it is not
    run, why."""

    path: Path
    line: int  # the fence's line, 1-based
    lang: str
    code: str
    not_run: str | None

    @property
    def kind(self) -> str | None:
        return RUNNABLE.get(self.lang)

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def doc_pages() -> list[Path]:
    """README.md and every page of docs/ (docs/api/ too)."""
    docs = REPO / "docs"
    return [REPO / "README.md", *sorted(docs.glob("*.md")), *sorted(docs.glob("*/*.md"))]


def collect(path: Path) -> list[Block]:
    """The shell and Python blocks of a page, in order. A not-run marker with no reason, or one
    not followed by a fence, is an error: nothing is skipped in silence."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        marker = NOT_RUN.match(lines[index].strip())
        if marker and not (index + 1 < len(lines) and FENCE.match(lines[index + 1])):
            raise ValueError(f"{path}:{index + 1}: a not-run marker must sit right before a fence")
        opening = FENCE.match(lines[index])
        if not opening or not opening.group(1):
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        lang = opening.group(1)
        previous = NOT_RUN.match(lines[index - 1].strip()) if index else None
        reason = previous.group(1).strip() if previous else None
        if previous and not reason:
            raise ValueError(f"{path}:{index}: a not-run marker needs a reason")
        if lang in RUNNABLE:
            code = "\n".join(lines[index + 1 : end]) + "\n"
            blocks.append(Block(path, index + 1, lang, code, reason))
        index = end + 1
    return blocks


def console_commands(code: str) -> str:
    """The commands of a ```console block: its `$ ` lines (and their `\\` continuations); the
    other lines are the output shown."""
    commands: list[str] = []
    continuing = False
    for line in code.splitlines():
        if line.startswith("$ ") or continuing:
            text = line[2:] if line.startswith("$ ") and not continuing else line
            commands.append(text)
            continuing = text.endswith("\\")
    return "\n".join(commands) + "\n"


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Scratch:
    """One page's installation: directory, environment, the server, background processes."""

    root: Path
    env: dict[str, str]
    # "demo"; "serve": the page builds the install, then serves it; None: no server (tests)
    server: str | None = "demo"
    # More to wait for once /api/health answers: given the page and the URL, None when ready,
    # else what is still missing (shown if the wait times out).
    ready: Callable[[Scratch, str], str | None] | None = None
    app_port: int | None = None
    ports: dict[int, int] = field(default_factory=dict)
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _groups: list[int] = field(default_factory=list)
    _count: int = 0

    @classmethod
    def create(cls, root: Path, database_url: str, **extra_env: str) -> Scratch:
        for entry in REPO.iterdir():
            # Not var/ (the scratch's own), nor a developer's .env (settings of their own).
            if entry.name not in {"var", ".git", ".env"} and not (root / entry.name).exists():
                (root / entry.name).symlink_to(entry)
        (root / "var").mkdir(exist_ok=True)
        env = {
            **os.environ,
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "MYIA_MODE": "demo",
            "DATABASE_URL": database_url,
            # The demo's simulator accepts these (README.md: the second shell beside the demo).
            "AWS_ACCESS_KEY_ID": "AKIAMYIADEMOSIMULATE",
            "AWS_SECRET_ACCESS_KEY": "myia-demo-simulated-secret-key",
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
        for name in ("QUEUE_URL", "REDIS_URL", "ENCRYPTION_SECRET", "JWT_SECRET"):
            if name not in extra_env:
                env.pop(name, None)
        return cls(root=root, env=env)

    # --- the server the page talks to -------------------------------------------------------
    def _start_server(self) -> int:
        assert self.server is not None
        port = free_port()
        command = [str(VENV_BIN / "myia"), self.server, "--port", str(port)]
        if self.server == "demo":
            command.append("--no-certify")
        log = (self.root / f"{self.server}.log").open("wb")
        process = subprocess.Popen(
            command, cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self._processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SERVER_START_S
        missing: str | None = "/api/health"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"myia {self.server} exited:\n{self.server_log()}")
            if _healthy(url):
                missing = None if self.ready is None else self.ready(self, url)
                if missing is None:
                    return port
            time.sleep(0.5)
        raise AssertionError(f"myia {self.server} not ready in {SERVER_START_S:g}s ({missing}):"
                             f"\n{self.server_log()}")  # fmt: skip

    def server_log(self) -> str:
        path = self.root / f"{self.server}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def prepare(self, block: Block) -> str:
        """The block with the documented ports replaced by this page's. The server starts at
        the first block that talks to it, or, beside the demo, at the first shell block (the
        CLI works on the demo's database and simulator)."""
        code = block.code
        beside_demo = self.server == "demo" and block.kind in ("shell", "console")
        if self.server is not None and (APP_PORT.search(code) or beside_demo):
            if self.app_port is None:
                self.app_port = self._start_server()
            code = APP_PORT.sub(lambda m: f"{m.group(1)}:{self.app_port}", code)
        for port in OTHER_PORTS:
            if re.search(rf"\b{port}\b", code):
                self.ports.setdefault(port, free_port())
                code = re.sub(rf"\b{port}\b", str(self.ports[port]), code)
        return code

    # --- running blocks ---------------------------------------------------------------------
    def run(self, block: Block) -> Outcome:
        self._count += 1
        code = self.prepare(block)
        state = self.root / ".shell-state"
        if block.kind == "python":
            program = self.root / f"block-{self._count}.py"
            program.write_text(code, encoding="utf-8")
            # From the page's terminal: what its shell blocks exported, in their directory.
            python = f"exec {VENV_BIN / 'python'} {program}"
            command = ["bash", "-c", f"[ -f {state} ] && source {state}\n{python}\n"]
        else:
            if block.kind == "console":
                code = console_commands(code)
            script = (
                f"{_SHELL_SAVE}\n[ -f {state} ] && source {state}\nset -euo pipefail\n"
                f"{code}\nset +eu\n__doc_save > {state}.new && mv {state}.new {state}\n"
            )
            command = ["bash", "-c", script]
        out, err = self.root / "block.out", self.root / "block.err"
        # Output to files, not pipes: a server a block leaves running keeps a pipe open.
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(
                command, cwd=self.root, env=self.env, stdout=stdout, stderr=stderr,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
            self._groups.append(process.pid)
            try:
                returncode = process.wait(BLOCK_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                returncode = -1
        return Outcome(returncode, out.read_text(errors="replace"), err.read_text(errors="replace"))

    def close(self) -> None:
        """End what the page started: the blocks' process groups, then the server."""
        for group in self._groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
        for process in self._processes:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def failure(block: Block, code: str, outcome: Outcome, server_log: str) -> str:
    """What a failed block prints: where it is, what ran, what it said."""
    text = (
        f"{block.where} ({block.lang}) exited {outcome.returncode}:\n{code}"
        f"--- stdout\n{outcome.stdout[-3000:]}\n--- stderr\n{outcome.stderr[-3000:]}"
    )
    if server_log:
        text += f"\n--- server log (tail)\n{server_log}"
    return text
