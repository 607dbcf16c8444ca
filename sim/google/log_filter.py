"""The Cloud Logging query language, the subset a bot sends, as a recursive-descent parser.

The bot builds filters from user input (node names, search text, severities),
so the simulated API must reject what the real one rejects and match what the
real one matches; a filter that only "looks right" would hide escaping bugs.

Grammar (Logging's precedence: NOT binds tightest, then OR, then AND)::

    query       := [conjunction] EOF
    conjunction := disjunction { [AND] disjunction }     juxtaposition is AND
    disjunction := negation { OR negation }
    negation    := (NOT | "-") negation | primary
    primary     := "(" conjunction ")" | restriction
    restriction := path OP value | "log_id" "(" STRING ")" | WORD | STRING
    value       := STRING | WORD | "(" value { OR value } ")"
    OP          := "=" | "!=" | ":" | "<" | "<=" | ">" | ">=" | "=~" | "!~"

A path is dot-separated; a segment may be quoted (``labels."k8s-pod/app"``).
A bare WORD or STRING on its own searches every field of the entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sim.google.timestamps import parse_timestamp

Entry = dict[str, Any]
Predicate = Callable[[Entry], bool]

SEVERITY_LEVELS = {
    "DEFAULT": 0,
    "DEBUG": 100,
    "INFO": 200,
    "NOTICE": 300,
    "WARNING": 400,
    "ERROR": 500,
    "CRITICAL": 600,
    "ALERT": 700,
    "EMERGENCY": 800,
}
TIMESTAMP_FIELDS = {("timestamp",), ("receiveTimestamp",)}
OPERATORS = ("!=", ">=", "<=", "=~", "!~", "=", ":", ">", "<")
KEYWORDS = {"AND", "OR", "NOT"}


class FilterError(ValueError):
    """A filter the real service would refuse with 400 INVALID_ARGUMENT; the text is its message."""


# ---------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Token:
    kind: str  # WORD, STRING, OP, LPAREN, RPAREN, AND, OR, NOT, MINUS, EOF
    text: str  # the value: unescaped for STRING, operator for OP
    column: int  # 1-based, for error messages
    segments: tuple[str, ...] = ()  # a WORD's dot-separated path segments


_WORD_STOP = set(' \t\r\n()"=!:<>')


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        char = source[pos]
        if char.isspace():
            pos += 1
        elif char == "(":
            tokens.append(Token("LPAREN", char, pos + 1))
            pos += 1
        elif char == ")":
            tokens.append(Token("RPAREN", char, pos + 1))
            pos += 1
        elif char == '"':
            text, end = _read_string(source, pos)
            tokens.append(Token("STRING", text, pos + 1))
            pos = end
        elif source.startswith(OPERATORS, pos):
            op = next(o for o in OPERATORS if source.startswith(o, pos))
            tokens.append(Token("OP", op, pos + 1))
            pos += len(op)
        elif char == "-" and (not tokens or tokens[-1].kind != "OP") and pos + 1 < len(source) and not source[pos + 1].isspace():
            tokens.append(Token("MINUS", char, pos + 1))
            pos += 1
        else:
            token, pos = _read_word(source, pos)
            tokens.append(token)
    tokens.append(Token("EOF", "", len(source) + 1))
    return tokens


def _read_string(source: str, start: int) -> tuple[str, int]:
    """A double-quoted string with backslash escapes; returns the text and the index after it."""
    out: list[str] = []
    pos = start + 1
    escapes = {"n": "\n", "t": "\t", "r": "\r"}
    while pos < len(source):
        char = source[pos]
        if char == "\\" and pos + 1 < len(source):
            nxt = source[pos + 1]
            out.append(escapes.get(nxt, nxt))
            pos += 2
        elif char == '"':
            return "".join(out), pos + 1
        else:
            out.append(char)
            pos += 1
    raise FilterError(f"Unparseable filter: unterminated string at line 1, column {start + 1}")


def _read_word(source: str, start: int) -> tuple[Token, int]:
    """A bare word or field path; a path segment after a dot may be a quoted string."""
    segments: list[str] = []
    current: list[str] = []
    just_quoted = False
    pos = start
    while pos < len(source):
        char = source[pos]
        if char == '"' and pos > start and source[pos - 1] == ".":
            quoted, pos = _read_string(source, pos)
            segments.append(quoted)
            just_quoted = True
            continue
        if char in _WORD_STOP:
            break
        if char == ".":
            if not just_quoted:
                segments.append("".join(current))
            current, just_quoted = [], False
        else:
            current.append(char)
            just_quoted = False
        pos += 1
    if not just_quoted:
        segments.append("".join(current))
    text = source[start:pos]
    kind = text if text in KEYWORDS else "WORD"
    return Token(kind, text, start + 1, tuple(segments)), pos


# ---------------------------------------------------------------------- parser


def compile_filter(source: str) -> Predicate:
    """Parse ``source`` into a predicate over LogEntry dicts; raises FilterError when malformed."""
    return _Parser(tokenize(source)).parse()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._pos = 0

    def parse(self) -> Predicate:
        if self._peek().kind == "EOF":
            return lambda entry: True
        predicate = self._conjunction()
        self._expect("EOF")
        return predicate

    def _peek(self) -> Token:
        return self._tokens[self._pos]

    def _next(self) -> Token:
        token = self._tokens[self._pos]
        self._pos += 1
        return token

    def _expect(self, kind: str) -> Token:
        token = self._peek()
        if token.kind != kind:
            raise _syntax_error(token)
        return self._next()

    def _conjunction(self) -> Predicate:
        parts = [self._disjunction()]
        while True:
            kind = self._peek().kind
            if kind == "AND":
                self._next()
            elif kind not in ("WORD", "STRING", "LPAREN", "NOT", "MINUS"):
                break
            parts.append(self._disjunction())
        return parts[0] if len(parts) == 1 else (lambda entry: all(p(entry) for p in parts))

    def _disjunction(self) -> Predicate:
        parts = [self._negation()]
        while self._peek().kind == "OR":
            self._next()
            parts.append(self._negation())
        return parts[0] if len(parts) == 1 else (lambda entry: any(p(entry) for p in parts))

    def _negation(self) -> Predicate:
        if self._peek().kind in ("NOT", "MINUS"):
            self._next()
            inner = self._negation()
            return lambda entry: not inner(entry)
        return self._primary()

    def _primary(self) -> Predicate:
        token = self._peek()
        if token.kind == "LPAREN":
            self._next()
            inner = self._conjunction()
            self._expect("RPAREN")
            return inner
        if token.kind == "STRING":
            self._next()
            return _global_search(token.text)
        if token.kind != "WORD":
            raise _syntax_error(token)
        self._next()
        following = self._peek()
        if following.kind == "OP":
            self._next()
            return _restriction(token, following.text, self._values())
        if following.kind == "LPAREN" and token.text == "log_id":
            self._next()
            log_id = self._expect("STRING").text
            self._expect("RPAREN")
            suffix = "/logs/" + quote(log_id, safe="")
            return lambda entry: str(entry.get("logName", "")).endswith(suffix)
        return _global_search(token.text)

    def _values(self) -> list[str]:
        token = self._next()
        if token.kind in ("STRING", "WORD"):
            return [token.text]
        if token.kind != "LPAREN":
            raise _syntax_error(token)
        values = [self._scalar()]
        while self._peek().kind == "OR":
            self._next()
            values.append(self._scalar())
        self._expect("RPAREN")
        return values

    def _scalar(self) -> str:
        token = self._next()
        if token.kind not in ("STRING", "WORD"):
            raise _syntax_error(token)
        return token.text


def _syntax_error(token: Token) -> FilterError:
    shown = token.text if token.kind != "EOF" else "<EOF>"
    return FilterError(f"Unparseable filter: syntax error at line 1, column {token.column}, token '{shown}'")


# ------------------------------------------------------------------ semantics


def _restriction(field: Token, op: str, values: list[str]) -> Predicate:
    path = field.segments
    tests = [_comparison(path, op, value) for value in values]
    if op in ("!=", "!~"):  # "a != (x OR y)" means differs from every alternative
        return lambda entry: all(t(entry) for t in tests)
    return tests[0] if len(tests) == 1 else (lambda entry: any(t(entry) for t in tests))


def _comparison(path: tuple[str, ...], op: str, value: str) -> Predicate:
    if op == ":" and value == "*":
        return lambda entry: _lookup(entry, path) is not None
    if op in ("=~", "!~"):
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise FilterError(f"Unparseable filter: invalid regular expression {value!r}: {exc}") from None
        wanted = op == "=~"
        return lambda entry: _present(entry, path) and (pattern.search(_text(_lookup(entry, path))) is not None) == wanted
    if op == ":":
        needle = value.lower()
        return lambda entry: _present(entry, path) and needle in _text(_lookup(entry, path)).lower()
    key = _key_for(path, value)
    target = key(value)
    if target is None:
        raise FilterError(f"Unparseable filter: invalid value for {'.'.join(path)}: \"{value}\"")
    compare = _ORDERINGS[op]

    def test(entry: Entry) -> bool:
        actual = _lookup(entry, path)
        if actual is None or isinstance(actual, (dict, list)):
            return False
        converted = key(actual)
        return converted is not None and compare(converted, target)

    return test


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _key_for(path: tuple[str, ...], value: str) -> Callable[[Any], Any]:
    """How to compare this field: as a time, a severity level, a number or text."""
    if path in TIMESTAMP_FIELDS:
        return lambda raw: parse_timestamp(str(raw))
    if path == ("severity",):
        return _severity_level
    if _number(value) is not None:
        return lambda raw: _number(raw) if _number(raw) is not None else None
    return lambda raw: _text(raw)


def _severity_level(raw: Any) -> int | None:
    text = str(raw).upper()
    if text in SEVERITY_LEVELS:
        return SEVERITY_LEVELS[text]
    number = _number(text)
    return int(number) if number is not None else None


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return float(raw)
    try:
        return float(str(raw))
    except ValueError:
        return None


def _text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (dict, list)):
        return "\n".join(_leaves(raw))
    if isinstance(raw, datetime):
        return raw.isoformat()
    return str(raw)


def _leaves(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for child in node.values():
            yield from _leaves(child)
    elif isinstance(node, list):
        for child in node:
            yield from _leaves(child)
    elif node is not None:
        yield _text(node)


def _lookup(entry: Entry, path: tuple[str, ...]) -> Any:
    node: Any = entry
    for segment in path:
        if not isinstance(node, dict) or segment not in node:
            return None
        node = node[segment]
    return node


def _present(entry: Entry, path: tuple[str, ...]) -> bool:
    return _lookup(entry, path) is not None


def _global_search(text: str) -> Predicate:
    """A bare term matches when any field of the entry contains it, ignoring case."""
    needle = text.lower()
    return lambda entry: any(needle in leaf.lower() for leaf in _leaves(entry))
