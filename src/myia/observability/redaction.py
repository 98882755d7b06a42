"""Mask secrets before anything is logged, stored in `logs` or returned.

Three nets: values under a secret-sounding key are replaced whole; free text is scanned for
secrets with a recognisable shape (bearer tokens, JWTs, AWS access key ids, `sk-` keys,
`key=value` pairs with a secret-sounding key); and every secret value this process has held
(registered by the credential store when it encrypts or decrypts one, and by whoever builds a
provider connection) is masked wherever it appears, whatever its shape — a provider that
quotes a key in its error message is the case the format rules cannot catch. None of them
replaces not logging secrets at all.

The registry of secret values. Any signed-in user adds values to it (by storing a
credential), so neither registering nor masking may cost more as it grows. Registering costs
the value's length (a radix-tree insert and four index entries, under a lock held for
microseconds; never a rebuild), and a value already held costs a lookup (the credential store
registers on every decrypt). Masking a text costs about its length, whatever the number of
values: an index of five-character pieces is looked up at every fourth position of the text,
in C, and a radix tree is walked only where a piece is found. `scrub` takes no lock and runs
in any thread while others register. The registry holds no object the garbage collector
visits per value (leaves are the strings themselves, the index is keyed by ints), so its
pauses do not grow with it either.

Bounds, per process: MAX_REGISTERED_SECRETS values and MAX_REGISTERED_CHARS characters. Each
value is held once; the trees' shared inner edges add at most half as much again, the index
and bookkeeping about 500 bytes per value: some 35 MB at both bounds. Past either bound the
values least recently registered or used are dropped first. The credential store registers
a value each time it decrypts it, and a connection each time it is built, so a value in use
is held again before it is used; a dropped one is one no request of this process has touched
while more than the bound in new values arrived (at CREDENTIAL_WRITES_PER_MINUTE per user, a
flood takes hours per account).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from itertools import compress, count
from typing import Any, TypeAlias

MASK = "***"
_SECRET_KEY = re.compile(
    r"(passw(or)?d|passphrase|secret|token(?!iz)|api[_-]?key|authorization|cookie|"
    r"access[_-]?key|encrypted|credential|private[_-]?key|signature)",
    re.IGNORECASE,
)
# Keys that match the pattern above but name an identifier or a kind, not a secret.
_NOT_SECRET_KEY = re.compile(r"^(\w+_)?(credential_ids?|token_type)$", re.IGNORECASE)
_SECRET_VALUE = re.compile(
    r"Bearer\s+[A-Za-z0-9._~+/=\-]+"
    r"|Basic\s+[A-Za-z0-9+/=]{8,}"
    r"|\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*"
    r"|\b(?:AKIA|ASIA)[A-Z0-9]{12,}\b"
    r"|\bsk-[A-Za-z0-9_\-]{8,}"
    r"|\bgsk_[A-Za-z0-9]{8,}"
)
# `api_key=…`, `"secret_access_key": "…"`, `?token=…` inside free text: keep the key, hide
# the value (unless it is a plain number, like `max_tokens=256`).
_SECRET_PAIR = re.compile(
    r"(?P<key>\b[\w\-]*(?:passw(?:or)?d|secret|token|api[_-]?key|access[_-]?key|credential)"
    r"[\w\-]*)(?P<sep>[\"']?\s*[:=]\s*[\"']?)"
    r"(?P<value>(?!\d+(?:\.\d+)?(?:[\s\"'&,;}]|$))[^\s\"'&,;}]+)",
    re.IGNORECASE,
)


# Shorter values are not registered: masking every "password" or "12345678" in free text would
# destroy messages, and a value that short is no secret worth the name.
MIN_REGISTERED_LENGTH = 8
# Bounds of the registry of one process (see the module's docstring).
MAX_REGISTERED_SECRETS = 20_000
MAX_REGISTERED_CHARS = 16_000_000

# Every registered value is filed under its first ANCHOR characters (a radix tree per anchor),
# and every anchor under the GRAM-character pieces at its offsets 0 … STEP-1. Any occurrence
# of a value in text covers ANCHOR characters, so one of the text positions 0, STEP, 2·STEP…
# starts a piece that lies inside its anchor: a scan looks up only every STEP-th piece.
_ANCHOR = MIN_REGISTERED_LENGTH
# Five characters: a random value's pieces are rarely found in ordinary text (40,000 of them
# for 10,000 values, among 64⁵ ≈ 10⁹ pieces of base64 text), so the walks are rare too.
_GRAM = 5
_STEP = _ANCHOR - _GRAM + 1
# A piece is filed under the hash of its tuple of characters (what the scan makes without a
# Python-level loop): an int key keeps the index out of the garbage collector's sight, and two
# pieces with one hash only make a candidate that the anchor's lookup then refuses. Its entry:
# the bit mask of the offsets it is at in some anchor (low _STEP bits), then per offset how
# many anchors have it there, _FIELD bits each (more than MAX_REGISTERED_SECRETS can reach).
_FIELD = 20
_OFFSETS_MASK = (1 << _STEP) - 1
_FIELD_MASK = (1 << _FIELD) - 1
# Bit mask -> its offsets, largest first (their candidate starts, leftmost first).
_OFFSETS = tuple(
    tuple(j for j in range(_STEP - 1, -1, -1) if mask >> j & 1) for mask in range(1 << _STEP)
)
# Work allowed for one text, in characters compared (a step of a tree walk counts as
# _STEP_COST): BUDGET_PER_CHAR per character of the text plus BUDGET_BASE. Ordinary text (real
# secrets, the odd shared prefix) needs a fraction of it; only text built against deliberately
# nested values can exhaust it (see `scrub`).
_BUDGET_PER_CHAR = 8
_BUDGET_BASE = 65_536
_STEP_COST = 16
# A long value is first compared on this many characters, so that a text that shares only an
# anchor with it costs little.
_PROBE = 64


class _Node:
    """An inner node of an anchor's radix tree: the edge `label` from its parent, its children
    by the first character of their edge, and the value that ends here, if any.

    A leaf is the value itself (a plain string, which the garbage collector never visits): its
    edge is the rest of that value, so it is checked against the text whole and never changes
    when its parent is split. A node is never changed once readers can reach it, except for
    `secret` (one attribute store) and entries of `children` (one dict store or delete): a new
    shape is built aside and published by one store into its parent, so `scrub` needs no lock
    in any thread.
    """

    __slots__ = ("children", "label", "secret")

    def __init__(self, label: str, secret: str | None, children: dict[str, _Tree]) -> None:
        self.label = label
        self.secret = secret
        self.children = children


_Tree: TypeAlias = "_Node | str"


def _common(a: str, ai: int, b: str, bi: int) -> int:
    """How many characters `a[ai:]` and `b[bi:]` have in common at their start."""
    n = min(len(a) - ai, len(b) - bi)
    k = 0
    while k + 64 <= n and a[ai + k : ai + k + 64] == b[bi + k : bi + k + 64]:
        k += 64
    while k < n and a[ai + k] == b[bi + k]:
        k += 1
    return k


_registry_lock = threading.Lock()
# Anchor -> its radix tree; hash of a piece -> its entry (see _FIELD); the values by last use,
# oldest first (the same string objects as in the trees: each value is held once).
_buckets: dict[str, _Tree] = {}
_pieces: dict[int, int] = {}
_recent: OrderedDict[str, None] = OrderedDict()
_chars = 0


def _index_anchor(anchor: str, delta: int) -> None:
    for j in range(_STEP):
        piece = hash(tuple(anchor[j : j + _GRAM]))
        counts = (_pieces.get(piece, 0) >> _STEP) + (delta << (_FIELD * j))
        if counts:
            mask = sum(1 << k for k in range(_STEP) if counts >> (_FIELD * k) & _FIELD_MASK)
            _pieces[piece] = counts << _STEP | mask
        else:
            del _pieces[piece]


def _insert(secret: str) -> None:
    anchor = secret[:_ANCHOR]
    parent, key, depth = _buckets, anchor, _ANCHOR
    node = parent.get(key)
    if node is None:
        parent[key] = secret  # the tree before its index entry: a reader that finds the
        _index_anchor(anchor, +1)  # entry finds the tree
        return
    while True:
        if isinstance(node, str):  # a leaf: both values share `depth` characters, maybe more
            end = depth + _common(node, depth, secret, depth)
            mid = _Node(secret[depth:end], None, {})
            for value in (node, secret):
                if len(value) == end:
                    mid.secret = value
                else:
                    mid.children[value[end]] = value
            parent[key] = mid
            return
        label = node.label
        shared = _common(label, 0, secret, depth)
        if shared < len(label):  # split the edge: the new shape is published by one store
            end = depth + shared
            lower = _Node(label[shared:], node.secret, node.children)
            mid = _Node(label[:shared], None, {label[shared]: lower})
            if len(secret) == end:
                mid.secret = secret
            else:
                mid.children[secret[end]] = secret
            parent[key] = mid
            return
        depth += shared
        if depth == len(secret):
            node.secret = secret
            return
        child = node.children.get(secret[depth])
        if child is None:
            node.children[secret[depth]] = secret
            return
        parent, key, node = node.children, secret[depth], child


def _compact(parent: dict[str, _Tree], key: str, node: _Node) -> None:
    """Restore the tree's shape at `node` after one of its values or children went: an inner
    node without a value keeps two children or more, one with a value keeps one or more."""
    if node.secret is None:
        if not node.children:
            del parent[key]
        elif len(node.children) == 1:
            (child,) = node.children.values()
            if isinstance(child, str):
                parent[key] = child
            else:
                parent[key] = _Node(node.label + child.label, child.secret, child.children)
    elif not node.children:
        parent[key] = node.secret
    if parent is _buckets and key not in _buckets:
        _index_anchor(key, -1)


def _remove(secret: str) -> None:
    parent, key, depth = _buckets, secret[:_ANCHOR], _ANCHOR
    owner: tuple[dict[str, _Tree], str, _Node] | None = None
    node = parent.get(key)
    while node is not None:
        if isinstance(node, str):
            if node == secret:
                del parent[key]
                if owner is not None:
                    _compact(*owner)
                else:
                    _index_anchor(key, -1)
            return
        if not secret.startswith(node.label, depth):
            return
        depth += len(node.label)
        if depth == len(secret):
            if node.secret == secret:
                node.secret = None
                _compact(parent, key, node)
            return
        owner = (parent, key, node)
        parent, key = node.children, secret[depth]
        node = parent.get(key)


def register_secret(*values: str | None) -> None:
    """Remember secret values so `scrub`/`redact_text` mask them anywhere in text.

    Costs the length of each new value, whatever the number already held; a value already
    held is only marked as just used (the credential store registers on every decrypt)."""
    global _chars
    for value in values:
        if not value or len(value) < MIN_REGISTERED_LENGTH:
            continue
        with _registry_lock:
            if value in _recent:
                _recent.move_to_end(value)
                continue
            _insert(value)
            _recent[value] = None
            _chars += len(value)
            while len(_recent) > 1 and (
                len(_recent) > MAX_REGISTERED_SECRETS or _chars > MAX_REGISTERED_CHARS
            ):
                oldest, _ = _recent.popitem(last=False)
                _remove(oldest)
                _chars -= len(oldest)


def register_secrets(values: Iterable[str | None]) -> None:
    register_secret(*values)


def forget_secrets() -> None:
    """Tests only: start from an empty registry."""
    global _buckets, _pieces, _recent, _chars
    with _registry_lock:
        _buckets, _pieces, _recent, _chars = {}, {}, OrderedDict(), 0


def registered_secrets() -> tuple[int, int]:
    """How many values this process holds, and their characters in all."""
    with _registry_lock:
        return len(_recent), _chars


def _longest_at(text: str, start: int, node: _Tree, budget: int) -> tuple[str | None, int]:
    """The longest registered value that starts at `text[start]` (its anchor is known to be
    there), and the characters compared to find it; stops once `budget` is spent."""
    pos, best, spent = start + _ANCHOR, None, 0
    while True:
        if isinstance(node, str):  # a leaf: its value, checked whole
            if start + len(node) > len(text):
                return best, spent
            done = pos - start
            if len(node) - done > _PROBE:
                spent += _PROBE
                if not text.startswith(node[done : done + _PROBE], pos):
                    return best, spent
            spent += len(node)
            return (node if text.startswith(node, start) else best), spent
        label = node.label
        if label:
            spent += len(label)
            if not text.startswith(label, pos):
                return best, spent
            pos += len(label)
        spent += _STEP_COST
        if node.secret is not None:
            best = node.secret
        if pos >= len(text) or spent > budget:
            return best, spent
        child = node.children.get(text[pos])
        if child is None:
            return best, spent
        node = child


def scrub(text: str) -> str:
    """`text` with every registered secret value masked (no format rules): for text a
    provider wrote, before it is stored or returned.

    Leftmost, then longest: where values overlap, the one that starts first is masked whole,
    the longest of those starting there. The cost is linear in the text and independent of
    how many values are held. Text built against deliberately nested values (a long run that
    matches thousands of registered prefixes of each other at every position) could make the
    comparisons quadratic: past a budget of comparisons per character, the rest of the text
    from the position being checked is masked whole rather than searched further — more is
    hidden, never less.
    """
    pieces = _pieces
    if not pieces or len(text) < MIN_REGISTERED_LENGTH:
        return text
    # The pieces at positions 0, STEP, 2·STEP…, hashed, made and looked up without a
    # Python-level loop: the common answer is that none is a registered piece.
    if pieces.keys().isdisjoint(map(hash, _sampled(text))):
        return text
    return _mask(text, pieces)


def _sampled(text: str) -> Iterator[tuple[str, ...]]:
    # Not strict: the last slices are shorter, and a piece needs all its characters.
    return zip(*(text[k::_STEP] for k in range(_GRAM)), strict=False)


def _mask(text: str, pieces: dict[int, int]) -> str:
    buckets, get = _buckets, pieces.get
    out: list[str] = []
    cursor = 0
    budget = _BUDGET_PER_CHAR * len(text) + _BUDGET_BASE
    # The sampled positions whose piece is registered, in order. The candidates found at
    # position x start in (x - STEP, x]: after all those of the positions before, so the
    # text is masked in one pass, leftmost first, as the candidates come.
    found_at = map(pieces.__contains__, map(hash, _sampled(text)))
    for x in compress(count(0, _STEP), found_at):
        if x < cursor:
            continue
        for j in _OFFSETS[get(hash(tuple(text[x : x + _GRAM])), 0) & _OFFSETS_MASK]:
            start = x - j
            if start < cursor or start < 0:
                continue
            node = buckets.get(text[start : start + _ANCHOR])
            if node is None:
                continue
            found, spent = _longest_at(text, start, node, budget)
            budget -= spent
            if budget < 0:  # see `scrub`: hide the rest rather than search on
                out += (text[cursor:start], MASK)
                return "".join(out)
            if found is not None:
                out += (text[cursor:start], MASK)
                cursor = start + len(found)
    if not out:
        return text
    out.append(text[cursor:])
    return "".join(out)


def mask_secret(value: str, visible: int = 4) -> str:
    """`AKIAEXAMPLE1234` -> `***1234`; values of 8 characters or fewer are fully masked."""
    if len(value) <= visible * 2:
        return MASK
    return MASK + value[-visible:]


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key)) and not _NOT_SECRET_KEY.match(key)


def redact_text(text: str) -> str:
    text = _SECRET_VALUE.sub(MASK, scrub(text))
    return _SECRET_PAIR.sub(
        lambda m: (
            m.group(0) if m.group("value") == MASK else f"{m.group('key')}{m.group('sep')}{MASK}"
        ),
        text,
    )


def redact(value: Any, key: str | None = None) -> Any:
    """Return a copy of `value` with secret-named keys masked and secret-looking text hidden.

    Numbers and booleans under a secret-sounding key stay (`input_tokens=12` is not a
    secret); anything else there is masked whole, containers included.
    """
    if (
        key is not None
        and is_secret_key(key)
        and value not in (None, "")
        and not isinstance(value, bool | int | float)
    ):
        return MASK
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray):
        return redact_text(bytes(value).decode("utf-8", "replace"))
    return value
