"""Where to upload and as whom, found the way twine finds it.

* The URL: ``--repository-url`` (or ``TWINE_REPOSITORY_URL``), else the ``repository`` of the
  ``.pypirc`` section named by ``--repository`` (or ``TWINE_REPOSITORY``; default ``pypi``).
  ``pypi`` and ``testpypi`` need no section. User information in the URL is taken as the
  username and password and removed from the URL.
* The username: ``--username``/``TWINE_USERNAME``, the section's ``username``, ``__token__`` for
  PyPI and TestPyPI, the keyring's credential for the URL.
* The password: ``--password``/``TWINE_PASSWORD``, the section's ``password``, the keyring's
  password for the URL and username (``keyring`` is used when it is installed), then a prompt
  when standard input is a terminal and ``--non-interactive`` is not given.
* Certificates: ``--cert``/``TWINE_CERT`` or the section's ``ca_cert``; ``--client-cert`` or the
  section's ``client_cert``.

A password is never part of a message or a ``repr``.
"""

from __future__ import annotations

import configparser
import logging
from collections.abc import Callable, Mapping
from dataclasses import field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from manywheel.build.transport import display_url
from manywheel.errors import ManywheelError
from manywheel.values import value_class

__all__ = [
    "DEFAULT_REPOSITORY",
    "TEST_REPOSITORY",
    "CredentialsError",
    "Repository",
    "RepositoryRequest",
    "resolve_repository",
]

logger = logging.getLogger(__name__)

DEFAULT_REPOSITORY = "https://upload.pypi.org/legacy/"
TEST_REPOSITORY = "https://test.pypi.org/legacy/"
TOKEN_USERNAME = "__token__"
_LEGACY_HOSTS = {"pypi.python.org", "testpypi.python.org", "upload.pypi.org", "test.pypi.org"}


class CredentialsError(ManywheelError):
    """No usable repository configuration (exit code 2)."""


@value_class
class Repository:
    """An index to upload to, with the credentials found for it."""

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_cert: str | None = None
    client_cert: str | None = None
    #: The ``.pypirc`` section it came from, if any.
    name: str | None = None
    #: Where each value came from (``--username``, ``TWINE_PASSWORD``, ``~/.pypirc [x]``...).
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_pypi(self) -> bool:
        return self.url.startswith((DEFAULT_REPOSITORY, TEST_REPOSITORY))


@value_class
class RepositoryRequest:
    """What the command line asked for (``None``: not given)."""

    repository_url: str | None = None
    repository: str | None = None
    config_file: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cert: str | None = None
    client_cert: str | None = None
    non_interactive: bool = False


#: Asks the user for a value; ``secret`` hides what is typed.
Prompt = Callable[[str, bool], str]


def _pypirc(path: Path, explicit: bool) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        if explicit:
            raise CredentialsError("no such file", path=str(path)) from e
        return parser
    except (OSError, UnicodeDecodeError) as e:
        raise CredentialsError(f"cannot read: {e}", path=str(path)) from e
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as e:
        # configparser's message may quote a line holding a password: say only where
        errors = getattr(e, "errors", None)
        line = errors[0][0] if errors else getattr(e, "lineno", None)
        where = f" at line {line}" if line else ""
        raise CredentialsError(f"malformed .pypirc{where}", path=str(path)) from None
    return parser


def _sections(parser: configparser.RawConfigParser) -> dict[str, dict[str, str | None]]:
    defaults = {
        "username": parser.get("server-login", "username", fallback=None),
        "password": parser.get("server-login", "password", fallback=None),
    }
    servers = parser.get("distutils", "index-servers", fallback="pypi testpypi").split()
    sections: dict[str, dict[str, str | None]] = {}
    sections["pypi"] = {**defaults, "repository": DEFAULT_REPOSITORY}
    if "testpypi" in servers:
        sections["testpypi"] = {**defaults, "repository": TEST_REPOSITORY}
    for server in servers:
        section = sections.setdefault(server, dict(defaults))
        for key in ("username", "repository", "password", "ca_cert", "client_cert"):
            if parser.has_option(server, key):
                section[key] = parser.get(server, key)
    return sections


def _home(path: str, environ: Mapping[str, str]) -> Path:
    """``~/x`` under the given environment's ``HOME``."""
    if path == "~" or path.startswith("~/"):
        home = environ.get("HOME")
        if home:
            return Path(home) / path[2:]
    return Path(path)


def _normalize(url: str) -> str:
    parts = urlsplit(url)
    if (parts.hostname or "") in _LEGACY_HOSTS and parts.scheme == "http":
        return "https" + url[len("http") :]
    return url


def _check_url(url: str, where: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CredentialsError(f"{where}: {display_url(url)!r} is not an http(s) URL")


def resolve_repository(
    request: RepositoryRequest,
    environ: Mapping[str, str],
    *,
    prompt: Prompt | None = None,
) -> Repository:
    """The repository and credentials for ``request`` (twine's rules, module docstring).
    ``prompt`` is used for a missing password (and username) unless non-interactive."""
    sources: dict[str, str] = {}
    url = request.repository_url or environ.get("TWINE_REPOSITORY_URL") or None
    section: dict[str, str | None] = {}
    name = None
    if url is not None:
        sources["url"] = "--repository-url" if request.repository_url else "TWINE_REPOSITORY_URL"
        _check_url(url, sources["url"])
    else:
        config = request.config_file
        path = _home(config or "~/.pypirc", environ)
        name = request.repository or environ.get("TWINE_REPOSITORY") or "pypi"
        sections = _sections(_pypirc(path, explicit=config is not None))
        if name not in sections:
            raise CredentialsError(f"no [{name}] section (index-servers) in {path}")
        section = sections[name]
        url = section.get("repository")
        if not url:
            raise CredentialsError(f"[{name}] has no repository URL", path=str(path))
        _check_url(url, f"{path} [{name}]")
        sources["url"] = f"{path} [{name}]"
        for key in ("username", "password", "ca_cert", "client_cert"):
            if section.get(key) is not None:
                sources[key] = f"{path} [{name}]"
    url = _normalize(url)
    parts = urlsplit(url)
    from_url = {}
    if parts.username is not None:
        from_url = {"username": unquote(parts.username), "password": unquote(parts.password or "")}
        url = display_url(url)
    pypi = url.startswith((DEFAULT_REPOSITORY, TEST_REPOSITORY))
    username = _first(
        sources,
        "username",
        (request.username, "--username"),
        (environ.get("TWINE_USERNAME"), "TWINE_USERNAME"),
        # on PyPI and TestPyPI twine always uses API tokens: a configured username is ignored
        (TOKEN_USERNAME if pypi else None, "PyPI's token username"),
        (from_url.get("username"), "the URL"),
        (section.get("username"), sources.get("username", "")),
    )
    password = _first(
        sources,
        "password",
        (request.password, "--password"),
        (environ.get("TWINE_PASSWORD"), "TWINE_PASSWORD"),
        (from_url.get("password"), "the URL"),
        (section.get("password"), sources.get("password", "")),
    )
    if username is None:
        username = _keyring_username(url)
        if username is not None:
            sources["username"] = "keyring"
    if password is None and username is not None:
        password = _keyring_password(url, username)
        if password is not None:
            sources["password"] = "keyring"
    interactive = prompt is not None and not request.non_interactive
    if password is None and interactive and prompt is not None:
        if username is None:
            username = prompt(f"Enter your username for {url}: ", False)
            sources["username"] = "prompt"
        what = "API token" if pypi else "password"
        password = prompt(f"Enter your {what} for {url}: ", True)
        sources["password"] = "prompt"
    return Repository(
        url=url,
        username=username,
        password=password,
        ca_cert=_first(
            sources,
            "ca_cert",
            (request.cert, "--cert"),
            (environ.get("TWINE_CERT"), "TWINE_CERT"),
            (section.get("ca_cert"), sources.get("ca_cert", "")),
        ),
        client_cert=_first(
            sources,
            "client_cert",
            (request.client_cert, "--client-cert"),
            (section.get("client_cert"), sources.get("client_cert", "")),
        ),
        name=name,
        sources=sources,
    )


def _first(sources: dict[str, str], key: str, *candidates: tuple[str | None, str]) -> str | None:
    for value, where in candidates:
        if value is not None:
            sources[key] = where
            return value
    sources.pop(key, None)
    return None


def _keyring() -> object | None:
    try:
        import keyring
    except ImportError:
        return None
    return keyring


def _keyring_username(url: str) -> str | None:
    keyring = _keyring()
    if keyring is None:
        return None
    try:
        credential = keyring.get_credential(url, None)  # type: ignore[attr-defined]
    except Exception as e:  # a broken backend must not stop an upload
        logger.warning("keyring: cannot get a username for %s: %s", url, type(e).__name__)
        return None
    return None if credential is None else str(credential.username)


def _keyring_password(url: str, username: str) -> str | None:
    keyring = _keyring()
    if keyring is None:
        return None
    try:
        password = keyring.get_password(url, username)  # type: ignore[attr-defined]
    except Exception as e:
        logger.warning("keyring: cannot get a password for %s: %s", url, type(e).__name__)
        return None
    return None if password is None else str(password)
