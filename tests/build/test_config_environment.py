"""cibuildwheel's ``environment`` syntax, evaluated with bash's meanings: every value is
compared with what bash itself assigns (real command substitutions run on both sides); the
places where cibuildwheel's parser (bashlex) departs from bash are pinned to bash; unsupported
syntax is refused with its column; random input either parses or is refused, quickly."""

from __future__ import annotations

import contextlib
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manywheel.build import ParsedEnvironment, ShellSyntaxError, local_runner, parse_environment
from manywheel.build.assignments import EvaluationError

BASE = {"X": "ab c", "HOME": "/root", "E": "", "S": " p  q ", "PATH": "/usr/bin:/bin"}

#: Values (assigned to ``A``) and their evaluation is compared with bash's.
VALUES = [
    "1",
    '"x y"',
    "'$X'",
    "$X:/x",
    "${X}/x",
    "${X:-def}",
    "${UNSET:-def}",
    "${UNSET-def}",
    "${E:-def}",
    "${E-def}",
    "a\\ b",
    '"a\\"b\\$c\\\\d\\e"',
    "'a\\b'",
    "$",  # bashlex: '$'
    '"$"',  # bashlex: '' (bash: '$')
    "x$",  # bashlex: 'x' (bash: 'x$')
    '"\\n"',  # bashlex: 'n' (bash: '\n')
    "~/x",  # bashlex: refused
    "a:~/x",
    "a~",
    '"~"',
    "*",
    '"${X}y"',
    "$X_Y",
    "a=b",  # bashlex: refused
    "",
    '"$(echo "in quotes")"',
    "$(echo $X)",
    '"$(echo a  b; echo c)"',
    '$(echo "$X" y)',
    "`echo hi`",
    "$(echo $(echo nested))",
    "x#y",
    "{a,b}",
    "\\$X",
    "'x'\"y\"z",
    "$(echo '$X')",
    '$(echo ")")',
    "$(echo a;echo b;)",
    '$(printf "a\\n\\n")',
    "$(echo $S)x",
    "$(printf %s- $S)",
    '$"loc"',
    "${X:-a b}",
    '"${UNSET:-$X}"',
    '$(printf "[%s]" ${UNSET:-a b})',
    '$(printf "[%s]" "")',
    '$(printf "[%s]" $E)',
    '$(printf "[%s]" x$E)',
    '$(printf "[%s]" $S$S)',
    '$(printf "[%s]" a$S)',
    "\"$X\"'$X'$X",
    '$(printf "%s|" a\\ b "c d")',
    "`echo \\`echo inner\\``",
    '"a\\\nb"',
]


def _bash(assignments: str) -> Mapping[str, str] | None:
    bash = shutil.which("bash")
    if bash is None:
        return None
    setup = "; ".join(f"{k}={shlex.quote(v)}" for k, v in BASE.items())
    names = ParsedEnvironment(parse_environment(assignments).assignments).names
    show = "; ".join(f'printf "%s\\0" "${n}"' for n in names)
    script = f"{setup}\n{assignments}\n{show}"
    done = subprocess.run(
        [bash, "--norc", "-c", script], capture_output=True, env=dict(BASE), check=True
    )
    return dict(zip(names, done.stdout.decode().split("\0")[:-1], strict=True))


@pytest.mark.parametrize("value", VALUES)
def test_same_value_as_bash(value: str) -> None:
    text = f"A={value}"
    expected = _bash(text)
    if expected is None:
        pytest.skip("bash is not installed")
    assert parse_environment(text).evaluate(BASE, local_runner())["A"] == expected["A"]


def test_assignments_see_the_ones_before() -> None:
    text = 'A=1 B="$A$A" A=2 C=${A}x\nD=$(echo "$B")'
    expected = _bash(text)
    assert expected is not None
    result = parse_environment(text).evaluate(BASE, local_runner())
    assert {k: result[k] for k in "ABCD"} == dict(expected)
    assert {k: result[k] for k in "ABCD"} == {"A": "2", "B": "11", "C": "2x", "D": "11"}


def test_command_substitution_runs_in_the_given_environment() -> None:
    seen: list[tuple[list[str], dict[str, str]]] = []

    def run(argv: Sequence[str], env: Mapping[str, str]) -> str:
        seen.append((list(argv), dict(env)))
        return "out\n\n"

    result = parse_environment('A=1 B="$(tool --flag "$A x")"').evaluate({"P": "p"}, run)
    assert result == {"P": "p", "A": "1", "B": "out"}
    assert seen == [(["tool", "--flag", "1 x"], {"P": "p", "A": "1"})]


def test_failed_command_substitution() -> None:
    environment = parse_environment("A=$(false)")
    with pytest.raises(EvaluationError, match=r"\$\(false\) exited with 1"):
        environment.evaluate(BASE, local_runner())
    with pytest.raises(EvaluationError, match="A: \\$\\(false\\) needs a command runner"):
        environment.evaluate(BASE)


UNSUPPORTED = [
    ("A=1; B=2", "unsupported shell syntax ';' at column 4"),
    ("A=1 && B=2", "unsupported shell syntax '&' at column 5"),
    ("A=$(echo a | cat)", "unsupported shell syntax '|' in a command substitution at column 12"),
    ("A=$(echo a > f)", "unsupported shell syntax '>' in a command substitution at column 12"),
    ("A=$((1+2))", "arithmetic expansion $((...)) is not supported at column 3"),
    ("A=$1", "special parameter $1 is not supported at column 3"),
    ("A=$?", "special parameter $? is not supported at column 3"),
    ("A=${#X}", "unsupported parameter expansion ${...} at column 3"),
    ("A=${X/a/b}", "unsupported parameter expansion (only ${NAME:-word}) at column 3"),
    ("A=$'x\\n'", "ANSI-C quoting $'...' is not supported at column 3"),
    ("A='open", "unterminated single quote at column 3"),
    ('A="open', "unterminated double quote at column 3"),
    ("A=$(echo", "unterminated $( at column 3"),
    ("A=`echo", "unterminated backquote at column 3"),
    ("A=${X", "unsupported parameter expansion (only ${NAME:-word}) at column 3"),
    ("A=${X:-a", "unterminated ${ at column 3"),
    ("A", "expected NAME=value, found 'A' at column 1"),
    ("A=1 B", "expected NAME=value, found 'B' at column 5"),
    ("=x", "expected NAME=value, found '=x' at column 1"),
    ("1A=x", "expected NAME=value, found '1A=x' at column 1"),
    ("A =1", "expected NAME=value, found 'A' at column 1"),
    ("A=(x)", "unsupported shell syntax '(' at column 3"),
    ("A=${X:-a;b}", "unsupported shell syntax ';' in ${...} at column 9"),
]


@pytest.mark.parametrize(("text", "message"), UNSUPPORTED, ids=[u[0] for u in UNSUPPORTED])
def test_unsupported_syntax_is_refused_with_its_column(text: str, message: str) -> None:
    with pytest.raises(ShellSyntaxError) as info:
        parse_environment(text)
    assert str(info.value) == f"{message} of {text!r}"


def test_newlines_separate_assignments_and_comments_are_skipped() -> None:
    """bashlex keeps only the first line; bash (and manywheel) read every line."""
    text = "A=1 # first\n  B=2\n\n# a comment line\nC='x y'\n"
    assert parse_environment(text).evaluate({}) == {"A": "1", "B": "2", "C": "x y"}
    assert _bash(text) == {"A": "1", "B": "2", "C": "x y"}


def test_passed_values_are_taken_as_they_are() -> None:
    environment = parse_environment('B="$A/x"').with_passed(["A", "A", "MISSING"], {"A": "$HOME"})
    assert environment.evaluate({"HOME": "/h"}) == {"HOME": "/h", "A": "$HOME", "B": "$HOME/x"}
    assert str(environment) == 'A=$HOME B="$A/x"'


_SHELLISH = st.text(alphabet="AB=$(){}'\"\\`;|&<> \t\n#~:-x1_", max_size=40)


@settings(max_examples=500, deadline=None)
@given(_SHELLISH)
def test_random_text_parses_or_is_refused(text: str) -> None:
    try:
        environment = parse_environment(text)
    except ShellSyntaxError:
        return
    with contextlib.suppress(EvaluationError):  # a command substitution without a runner
        environment.evaluate(BASE)
