"""cibuildwheel's ``environment`` syntax: ``KEY=value OTHER="$KEY/x" WHEN="$(date)"``.

The string is parsed once, when the configuration is read (a syntax error is a configuration
error naming the option), into assignments whose values are shell words; they are evaluated
later, in order, inside the build's environment (each assignment sees the ones before it), with
a runner for command substitutions.

The subset is the one cibuildwheel documents, with bash's meanings: single and double quotes,
backslashes, ``$NAME``, ``${NAME}``, ``${NAME:-word}``/``${NAME-word}``, ``~`` at the start of a
value or after ``:``, ``$(cmd args; cmd2)`` and backquotes, ``#`` comments, assignments separated
by blanks or newlines. A command substitution runs each simple command as an argument vector
(no shell), concatenates their outputs and drops trailing newlines, as bash does. Anything else
(pipes, ``&&``, redirections, arithmetic, ``$1``/``$?``, ``${#X}``...) is refused with the column,
never silently evaluated to something else.

Where cibuildwheel's parser (bashlex) departs from bash, bash wins: a newline separates
assignments (bashlex drops everything after it), ``"$"`` and ``x$`` keep the ``$``, ``"\\n"`` keeps
its backslash, ``${X:-default}`` gives the default (bashlex: empty), ``A=a=b`` is ``a=b``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field

from manywheel.errors import ManywheelError
from manywheel.values import value_class

__all__ = [
    "Assignment",
    "CommandRunner",
    "EvaluationError",
    "ParsedEnvironment",
    "ShellSyntaxError",
    "local_runner",
    "parse_environment",
]

#: Runs one command (an argument vector) with an environment and returns its standard output.
CommandRunner = Callable[[Sequence[str], Mapping[str, str]], str]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BLANKS = " \t\n"
_OPERATORS = ";&|<>()"
_DOUBLE_QUOTE_ESCAPES = '$`"\\'


class ShellSyntaxError(ManywheelError, ValueError):
    """An ``environment`` string that is not in the supported shell syntax."""


class EvaluationError(ManywheelError):
    """A command substitution failed while an environment was evaluated."""


# --- the parsed form ---------------------------------------------------------------------------


@value_class
class _Text:
    text: str
    quoted: bool


@value_class
class _Parameter:
    name: str
    quoted: bool
    #: ``${NAME-word}`` / ``${NAME:-word}``: the word used when unset (or, with the colon, empty).
    default: _Word | None = None
    colon: bool = False


@value_class
class _Substitution:
    commands: tuple[tuple[_Word, ...], ...]
    quoted: bool


_Segment = _Text | _Parameter | _Substitution


@value_class
class _Word:
    segments: tuple[_Segment, ...]


@value_class
class Assignment:
    """``NAME=value``: ``source`` is the value as written (for summaries and messages)."""

    name: str
    source: str
    _value: _Word = field(repr=False, compare=False)

    @classmethod
    def raw(cls, name: str, value: str) -> Assignment:
        """An assignment of ``value`` as it is (no expansion): ``environment-pass``."""
        return cls(name, value, _Word((_Text(value, quoted=True),)))

    def evaluate(self, environment: Mapping[str, str], run: CommandRunner | None = None) -> str:
        """The value in ``environment``; ``run`` runs command substitutions."""
        return _Evaluator(environment, run, self.name).word(self._value)

    def __str__(self) -> str:
        return f"{self.name}={self.source}"


@value_class
class ParsedEnvironment:
    """Assignments in order; the text they came from is kept for summaries."""

    assignments: tuple[Assignment, ...] = ()

    def evaluate(self, base: Mapping[str, str], run: CommandRunner | None = None) -> dict[str, str]:
        """``base`` updated by each assignment in turn (each sees the ones before it)."""
        environment = dict(base)
        for assignment in self.assignments:
            environment[assignment.name] = assignment.evaluate(environment, run)
        return environment

    def with_passed(self, names: Sequence[str], host: Mapping[str, str]) -> ParsedEnvironment:
        """These assignments after the host's values of ``names`` (those that are set), taken
        as they are: cibuildwheel's ``environment-pass``."""
        passed = tuple(Assignment.raw(n, host[n]) for n in dict.fromkeys(names) if n in host)
        return ParsedEnvironment(passed + self.assignments)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.assignments)

    def __str__(self) -> str:
        return " ".join(map(str, self.assignments))


def parse_environment(text: str) -> ParsedEnvironment:
    """Parse ``KEY=value ...``; raises :class:`ShellSyntaxError` naming the column."""
    return ParsedEnvironment(tuple(_Parser(text).assignments()))


def local_runner(timeout: float = 300.0) -> CommandRunner:
    """A runner for command substitutions on this machine (a non-zero exit is an error)."""

    def run(argv: Sequence[str], environment: Mapping[str, str]) -> str:
        try:
            done = subprocess.run(
                list(argv),
                env=dict(environment),
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise EvaluationError(f"$({' '.join(argv)}): {e}") from e
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip().splitlines()
            last = f": {detail[-1]}" if detail else ""
            raise EvaluationError(f"$({' '.join(argv)}) exited with {done.returncode}{last}")
        return done.stdout.decode(errors="replace")

    return run


# --- parsing -----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str, pos: int | None = None) -> ShellSyntaxError:
        column = (self.pos if pos is None else pos) + 1
        return ShellSyntaxError(f"{message} at column {column} of {self.text!r}")

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def skip_blanks(self, blanks: str = _BLANKS) -> None:
        while self.peek() and self.peek() in blanks:
            self.pos += 1
        if self.peek() == "#":  # a comment runs to the end of the line
            end = self.text.find("\n", self.pos)
            self.pos = len(self.text) if end < 0 else end
            self.skip_blanks(blanks)

    # top level: NAME=word NAME=word ...

    def assignments(self) -> list[Assignment]:
        found = []
        self.skip_blanks()
        while self.pos < len(self.text):
            if self.peek() in _OPERATORS:
                raise self.error(f"unsupported shell syntax {self.peek()!r}")
            found.append(self.assignment())
            if self.peek() and self.peek() not in _BLANKS:
                raise self.error(f"unsupported shell syntax {self.peek()!r}")
            self.skip_blanks()
        return found

    def assignment(self) -> Assignment:
        start = self.pos
        match = _NAME.match(self.text, self.pos)
        if match is None or self.text[match.end() : match.end() + 1] != "=":
            end = self.pos
            while end < len(self.text) and self.text[end] not in _BLANKS:
                end += 1
            raise self.error(f"expected NAME=value, found {self.text[start:end]!r}", start)
        self.pos = match.end() + 1
        value_start = self.pos
        value = self.word(stop="", tilde=True)
        return Assignment(match.group(), self.text[value_start : self.pos], value)

    # words

    def word(self, stop: str, *, tilde: bool) -> _Word:
        """One word up to a blank, an operator or ``stop`` (``)`` inside ``$(...)``)."""
        segments: list[_Segment] = []
        literal: list[str] = []

        def flush() -> None:
            if literal:
                segments.append(_Text("".join(literal), quoted=False))
                literal.clear()

        at_start = True
        while True:
            char = self.peek()
            if not char or char in _BLANKS or (stop and char in stop):
                break
            if char in _OPERATORS:
                if char in "()" or not stop:
                    raise self.error(f"unsupported shell syntax {char!r}")
                break
            if tilde and char == "~" and (at_start or literal[-1:] == [":"]) and self._tilde_ends():
                flush()
                segments.append(_Parameter("HOME", quoted=True))
                self.pos += 1
            elif char == "\\":
                flush()
                self.pos += 1
                escaped = self.peek()
                if escaped == "\n" or not escaped:  # a line continuation (or a lone backslash)
                    self.pos += 1
                    if not escaped:
                        segments.append(_Text("\\", quoted=True))
                else:
                    segments.append(_Text(escaped, quoted=True))
                    self.pos += 1
            elif char == "'":
                flush()
                segments.append(_Text(self.single_quoted(), quoted=True))
            elif char == '"':
                flush()
                segments.extend(self.double_quoted())
            elif char == "$":
                flush()
                segments.extend(self.dollar(quoted=False))
            elif char == "`":
                flush()
                segments.append(self.backquoted(quoted=False))
            else:
                literal.append(char)
                self.pos += 1
            at_start = False
        flush()
        return _Word(tuple(segments))

    def _tilde_ends(self) -> bool:
        following = self.peek(1)
        return following in ("", "/", ":") or following in _BLANKS

    def single_quoted(self) -> str:
        start = self.pos
        end = self.text.find("'", start + 1)
        if end < 0:
            raise self.error("unterminated single quote", start)
        self.pos = end + 1
        return self.text[start + 1 : end]

    def double_quoted(self) -> list[_Segment]:
        start = self.pos
        self.pos += 1
        segments: list[_Segment] = [_Text("", quoted=True)]  # "" is a word of its own
        literal: list[str] = []

        def flush() -> None:
            if literal:
                segments.append(_Text("".join(literal), quoted=True))
                literal.clear()

        while True:
            char = self.peek()
            if not char:
                raise self.error("unterminated double quote", start)
            if char == '"':
                self.pos += 1
                break
            if char == "\\" and self.peek(1) in _DOUBLE_QUOTE_ESCAPES + "\n" and self.peek(1):
                if self.peek(1) != "\n":
                    literal.append(self.peek(1))
                self.pos += 2
            elif char == "$":
                flush()
                segments.extend(self.dollar(quoted=True))
            elif char == "`":
                flush()
                segments.append(self.backquoted(quoted=True))
            else:
                literal.append(char)
                self.pos += 1
        flush()
        return segments

    def dollar(self, *, quoted: bool) -> list[_Segment]:
        start = self.pos
        self.pos += 1
        char = self.peek()
        name = _NAME.match(self.text, self.pos)
        if name is not None:
            self.pos = name.end()
            return [_Parameter(name.group(), quoted)]
        if char == "{":
            return [self.braced(start, quoted=quoted)]
        if char == "(":
            if self.peek(1) == "(":
                raise self.error("arithmetic expansion $((...)) is not supported", start)
            self.pos += 1
            return [_Substitution(self.commands(start), quoted)]
        if char == '"' and not quoted:  # $"..." is "..." in the C locale
            return self.double_quoted()
        if char == "'" and not quoted:
            raise self.error("ANSI-C quoting $'...' is not supported", start)
        if char and (char.isdigit() or char in "?$!#@*-"):
            raise self.error(f"special parameter ${char} is not supported", start)
        return [_Text("$", quoted=True)]  # a lone dollar is itself

    def braced(self, start: int, *, quoted: bool) -> _Parameter:
        self.pos += 1
        name = _NAME.match(self.text, self.pos)
        if name is None:
            raise self.error("unsupported parameter expansion ${...}", start)
        self.pos = name.end()
        if self.peek() == "}":
            self.pos += 1
            return _Parameter(name.group(), quoted)
        colon = self.peek() == ":"
        if colon:
            self.pos += 1
        if self.peek() != "-":
            raise self.error("unsupported parameter expansion (only ${NAME:-word})", start)
        self.pos += 1
        default = self.default_word(start)
        return _Parameter(name.group(), quoted, default, colon)

    def default_word(self, start: int) -> _Word:
        """The ``word`` of ``${NAME:-word}``, up to the closing brace (blanks kept)."""
        segments: list[_Segment] = []
        while True:
            char = self.peek()
            if not char:
                raise self.error("unterminated ${", start)
            if char == "}":
                self.pos += 1
                return _Word(tuple(segments))
            if char in _BLANKS:
                segments.append(_Text(char, quoted=True))
                self.pos += 1
                continue
            before = self.pos
            segments.extend(self.word(stop="}", tilde=False).segments)
            if self.pos == before:
                raise self.error(f"unsupported shell syntax {char!r} in ${{...}}")

    def backquoted(self, *, quoted: bool) -> _Substitution:
        start = self.pos
        self.pos += 1
        body: list[str] = []
        while True:
            char = self.peek()
            if not char:
                raise self.error("unterminated backquote", start)
            if char == "`":
                self.pos += 1
                break
            if char == "\\" and self.peek(1) in "$`\\":
                body.append(self.peek(1))
                self.pos += 2
            else:
                body.append(char)
                self.pos += 1
        inner = _Parser("".join(body) + ")")
        commands = inner.commands(0)
        if inner.pos != len(inner.text):
            raise self.error("unsupported shell syntax in backquotes", start)
        return _Substitution(commands, quoted)

    def commands(self, start: int) -> tuple[tuple[_Word, ...], ...]:
        """Simple commands separated by ``;`` or newlines, up to the closing ``)``."""
        commands: list[tuple[_Word, ...]] = []
        words: list[_Word] = []
        while True:
            self.skip_blanks(" \t")
            char = self.peek()
            if not char:
                raise self.error("unterminated $(", start)
            if char == ")":
                self.pos += 1
                break
            if char in ";\n":
                self.pos += 1
                if words:
                    commands.append(tuple(words))
                    words = []
                continue
            if char in _OPERATORS:
                raise self.error(f"unsupported shell syntax {char!r} in a command substitution")
            words.append(self.word(stop=")", tilde=True))
        if words:
            commands.append(tuple(words))
        return tuple(commands)


# --- evaluation --------------------------------------------------------------------------------


class _Evaluator:
    def __init__(self, environment: Mapping[str, str], run: CommandRunner | None, name: str):
        self.environment = environment
        self.run = run
        self.name = name

    def word(self, word: _Word) -> str:
        """A word where no field splitting happens (an assignment's value)."""
        return "".join(self.segment(s) for s in word.segments)

    def segment(self, segment: _Segment) -> str:
        if isinstance(segment, _Text):
            return segment.text
        if isinstance(segment, _Parameter):
            value = self.environment.get(segment.name)
            if segment.default is not None and (value is None or (segment.colon and not value)):
                return self.word(segment.default)
            return value or ""
        return self.substitution(segment)

    def substitution(self, segment: _Substitution) -> str:
        output = []
        for command in segment.commands:
            argv = [field for word in command for field in self.fields(word)]
            if not argv:
                continue
            if self.run is None:
                raise EvaluationError(
                    f"{self.name}: $({' '.join(argv)}) needs a command runner to be evaluated"
                )
            output.append(self.run(argv, self.environment))
        return "".join(output).rstrip("\n")

    def fields(self, word: _Word) -> list[str]:
        """A command's word: unquoted expansions are split on blanks, as bash does."""
        fields: list[str] = []
        current: str | None = None
        for segment in word.segments:
            value = self.segment(segment)
            if isinstance(segment, _Text) or segment.quoted:
                current = (current or "") + value
                continue
            pieces = value.split()
            if value[:1].isspace() and current is not None:
                fields.append(current)
                current = None
            for index, piece in enumerate(pieces):
                if index and current is not None:
                    fields.append(current)
                    current = None
                current = (current or "") + piece
            if value[-1:].isspace() and current is not None:
                fields.append(current)
                current = None
        if current is not None:
            fields.append(current)
        return fields
