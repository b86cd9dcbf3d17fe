"""A project's build configuration: ``[tool.manywheel]``, the keys of ``[tool.cibuildwheel]``
that carry over, ``CIBW_*`` and ``MANYWHEEL_*`` variables and command-line values, resolved per
build identifier into plain frozen values.

Precedence, lowest first (each replaces the one before, unless an override's ``inherit`` rule
appends or prepends to it):

1. manywheel's defaults
2. ``[tool.cibuildwheel]``, then ``[tool.cibuildwheel.linux]``
3. ``[[tool.cibuildwheel.overrides]]`` whose ``select`` matches the identifier, in order
4. ``[tool.manywheel]``
5. ``[[tool.manywheel.overrides]]`` whose ``select`` matches, in order
6. ``CIBW_<OPTION>``, then ``CIBW_<OPTION>_LINUX``
7. ``MANYWHEEL_<OPTION>``
8. the command line

So a cibuildwheel project builds unchanged, ``[tool.manywheel]`` only needs the keys that differ
for manywheel (it wins key by key, and an override of its own table beats a plain cibuildwheel
key), environment variables beat files as they do in cibuildwheel, and manywheel's own variables
and flags beat cibuildwheel's.

>>> config = load_config("examples/demo", environ={})  # doctest: +SKIP
>>> config.options_for("cp311-manylinux_x86_64").test_command  # doctest: +SKIP
'python -c "import demo"'
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from os import PathLike
from pathlib import Path
from typing import Any, Protocol

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from manywheel.build.assignments import (
    CommandRunner,
    ParsedEnvironment,
    ShellSyntaxError,
    parse_environment,
)
from manywheel.build.config_file import (
    ConfigError,
    ConfigFile,
    Table,
    load_toml,
    read_config_file,
    requires_python_of,
    resolve_dependency_groups,
)
from manywheel.build.config_formats import (
    Inherit,
    Layer,
    SettingError,
    key_value_fields,
    mergeable,
    pairs,
    resolve,
)
from manywheel.build.config_options import (
    DEFAULT_REPAIR_COMMAND,
    OPTIONS,
    Scope,
    environment_names,
)
from manywheel.build.patterns import PatternError, expand_braces, selector_matches
from manywheel.build.selectors import BuildSelector, EnableGroup
from manywheel.errors import ManywheelError
from manywheel.values import value_class

__all__ = [
    "DEFAULT_REPAIR_COMMAND",
    "BuildOptions",
    "ConfigError",
    "ContainerEngineOption",
    "FrontendOption",
    "GlobalOptions",
    "Identifier",
    "ProjectConfig",
    "image_option",
    "load_config",
]

logger = logging.getLogger(__name__)

#: Build frontends cibuildwheel knows on Linux.
FRONTENDS = ("build", "build[uv]", "pip", "uv")
#: Groups older cibuildwheel releases had that select nothing now: accepted with a warning.
OBSOLETE_GROUPS = frozenset({"cpython-experimental-riscv64"})

_TRUE = frozenset({"y", "yes", "t", "true", "on", "1"})


class Identifier(Protocol):
    """A build identifier: ``str()`` gives cibuildwheel's spelling (``cp311-manylinux_x86_64``)."""

    def __str__(self) -> str: ...


@value_class
class FrontendOption:
    """``build-frontend``: ``build``, ``build[uv]``, ``pip`` or ``uv``, with extra arguments."""

    name: str
    args: tuple[str, ...] = ()


@value_class
class ContainerEngineOption:
    """``container-engine``: ``docker`` or ``podman``, with arguments for ``create``."""

    name: str
    create_args: tuple[str, ...] = ()
    disable_host_mount: bool = False


@value_class
class GlobalOptions:
    """What is decided once for the run: which identifiers build and test, on which
    architectures."""

    build: str = "*"
    skip: str = ""
    test_skip: str = ""
    archs: tuple[str, ...] = ("auto",)
    enable: frozenset[EnableGroup] = frozenset()
    requires_python: SpecifierSet | None = None
    allow_empty: bool = False
    output_dir: str = "wheelhouse"
    #: ``env``: the build environment (``zig``, ``debian:bullseye``, ``container:IMAGE``);
    #: ``None``: the runner's default.
    env: str | None = None

    @property
    def selector(self) -> BuildSelector:
        """The selection as :func:`~manywheel.build.select_identifiers` takes it (``build``
        ``*`` is the default: what the machine can build)."""
        build = None if self.build.split() == ["*"] else self.build
        return BuildSelector(build, self.skip, self.requires_python, self.enable)

    def selects(self, identifier: Identifier) -> bool:
        """Whether ``identifier`` is built: ``requires-python``, the ``enable`` groups, then
        ``build`` and not ``skip`` (cibuildwheel's rules)."""
        return self.selector(str(identifier))

    def tests(self, identifier: Identifier) -> bool:
        """Whether ``identifier``'s wheel is tested (not matched by ``test-skip``)."""
        return not selector_matches(self.test_skip, str(identifier))


@value_class
class BuildOptions:
    """Everything configured for one build identifier."""

    identifier: str | None
    environment: ParsedEnvironment = field(default_factory=ParsedEnvironment)
    environment_pass: tuple[str, ...] = ()
    before_all: str = ""
    before_build: str = ""
    #: Shell commands with ``{wheel}`` and ``{dest_dir}``; the default is
    #: :data:`DEFAULT_REPAIR_COMMAND` (manywheel's repair, run in-process).
    repair_command: str = DEFAULT_REPAIR_COMMAND
    #: ``None``: the runner's default frontend.
    build_frontend: FrontendOption | None = None
    config_settings: tuple[tuple[str, str], ...] = ()
    build_verbosity: int = 0
    container_engine: ContainerEngineOption | None = None
    #: ``manylinux-<arch>-image`` or ``musllinux-<arch>-image`` for this identifier's platform
    #: and architecture (``manylinux2014``, ``manylinux_2_28`` or an image reference).
    image: str | None = None
    #: ``manylinux``/``musllinux``: the policy to build for (``manylinux2014``,
    #: ``manylinux_2_28``, ``musllinux_1_2``); ``None``: the runner's default.
    manylinux: str | None = None
    musllinux: str | None = None
    test_command: str = ""
    before_test: str = ""
    test_sources: tuple[str, ...] = ()
    #: ``test-requires`` followed by the requirements of ``test-groups``.
    test_requires: tuple[str, ...] = ()
    test_extras: tuple[str, ...] = ()
    test_groups: tuple[str, ...] = ()
    test_environment: ParsedEnvironment = field(default_factory=ParsedEnvironment)
    #: A test command is set and ``test-skip`` does not match.
    run_tests: bool = False
    #: Option -> where its value came from (``default``, ``pyproject.toml: [tool.manywheel]
    #: test-command``, ``CIBW_TEST_COMMAND``...).
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def build_environment(
        self,
        base: Mapping[str, str],
        host: Mapping[str, str],
        run: CommandRunner | None = None,
    ) -> dict[str, str]:
        """The build's environment: ``base`` (the build environment's own), the host's values
        of ``environment-pass`` (and ``SOURCE_DATE_EPOCH``, which cibuildwheel always passes),
        then ``environment``'s assignments evaluated in order; ``run`` runs ``$(...)``."""
        names = (*self.environment_pass, "SOURCE_DATE_EPOCH")
        return self.environment.with_passed(names, host).evaluate(base, run)

    @property
    def target(self) -> str | None:
        """``manylinux`` for a manylinux identifier, ``musllinux`` for a musllinux one."""
        if self.identifier is None:
            return None
        return self.musllinux if "-musllinux_" in self.identifier else self.manylinux

    @property
    def test_extras_text(self) -> str:
        """``[a,b]`` for ``pip install wheel[a,b]``, ``""`` without extras."""
        return f"[{','.join(self.test_extras)}]" if self.test_extras else ""


@value_class
class ProjectConfig:
    """The resolved configuration of one project; :meth:`options_for` gives an identifier's."""

    project_dir: Path
    file: ConfigFile
    globals: GlobalOptions
    pyproject: Mapping[str, Any] = field(default_factory=dict)
    #: The ``CIBW_*`` and ``MANYWHEEL_*`` variables it was given.
    variables: Mapping[str, str] = field(default_factory=dict)
    cli: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def options_for(self, identifier: Identifier | None) -> BuildOptions:
        """The options of ``identifier`` — a string in cibuildwheel's spelling or anything
        whose ``str()`` is one, such as the runner's ``BuildIdentifier`` (``None``: without any
        override). Raises :class:`ConfigError` naming where a bad value came from."""
        return _Resolver(self, None if identifier is None else str(identifier)).build_options()

    def check(self, identifiers: Sequence[Identifier]) -> None:
        """Resolve every identifier's options now, so a bad value in an override is reported
        before any build starts."""
        for identifier in identifiers:
            self.options_for(identifier)

    def layers(self, name: str, identifier: str | None) -> list[Layer]:
        """Every source of option ``name`` for ``identifier``, lowest precedence first."""
        option = OPTIONS[name]
        layers = [Layer(option.default or None, "default")]
        overridable = option.scope is Scope.BUILD and identifier is not None
        if option.file:
            path = self.file.path
            for table in (self.file.cibuildwheel, self.file.manywheel):
                if table is None or (table.name == "cibuildwheel" and not option.cibuildwheel):
                    continue
                layers += _table_layers(table, name, path, identifier if overridable else None)
        prefixes = ("CIBW", "MANYWHEEL") if option.cibuildwheel else ("MANYWHEEL",)
        for prefix in prefixes:
            for variable in environment_names(option, prefix):
                value = self.variables.get(variable)
                layers.append(Layer(value, variable, option.variable_inherit))
        layers.append(Layer(self.cli.get(name), f"--{name}", option.variable_inherit))
        return layers

    def value(self, name: str, identifier: str | None = None) -> tuple[str, tuple[str, ...]]:
        """Option ``name``'s string for ``identifier`` and where it came from."""
        option = OPTIONS[name]
        layers = self.layers(name, identifier)
        try:
            return resolve(layers, option.format, ignore_empty=option.ignore_empty)
        except SettingError as e:
            where = [layer.where for layer in layers[1:] if layer.value is not None]
            raise ConfigError(f"{' + '.join(where) or name}: {e}") from e


def _table_layers(
    table: Table, name: str, path: Path | None, identifier: str | None
) -> list[Layer]:
    prefix = f"{path}: " if path is not None else ""
    layers = [Layer(table.values.get(name), f"{prefix}{table.where} {name}")]
    if table.linux:
        layers.append(Layer(table.linux.get(name), f"{prefix}[tool.{table.name}.linux] {name}"))
    if identifier is None:
        return layers
    for override in table.overrides:
        if name in override.values and _matches(override.select, identifier, override.where):
            inherit = override.inherit.get(name, Inherit.NONE)
            where = f"{prefix}{override.where} {name}"
            layers.append(Layer(override.values[name], where, inherit))
    return layers


def _matches(select: str, identifier: str, where: str) -> bool:
    try:
        return selector_matches(select, identifier)
    except PatternError as e:
        raise ConfigError(f"{where} select: {e}") from e


def _environment(text: str) -> ParsedEnvironment:
    try:
        return parse_environment(text)
    except ShellSyntaxError as e:
        raise SettingError(str(e)) from e


def _words(text: str) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(text))
    except ValueError as e:
        raise SettingError(f"{e} in {text!r}") from e


def _frontend(text: str) -> FrontendOption | None:
    if text in ("", "default"):
        return None
    fields = key_value_fields(text, ["name"], ["args"])
    name = " ".join(fields.get("name", []))
    if name not in FRONTENDS:
        raise SettingError(f"unknown frontend {name!r} (one of {', '.join(FRONTENDS)})")
    return FrontendOption(name, tuple(fields.get("args", [])))


def _verbosity(text: str) -> int:
    try:
        return max(-3, min(3, int(text.strip() or "0")))
    except ValueError as e:
        raise SettingError(f"expected an integer, found {text!r}") from e


def _container_engine(text: str) -> ContainerEngineOption | None:
    if not text:
        return None
    keywords = ["create_args", "create-args", "disable_host_mount", "disable-host-mount"]
    fields = key_value_fields(text, ["name"], keywords)
    name = " ".join(fields.get("name", []))
    if name not in ("docker", "podman"):
        raise SettingError(f"unknown container engine {name!r}")
    args = fields.get("create_args") or fields.get("create-args") or []
    mount = fields.get("disable_host_mount") or fields.get("disable-host-mount") or []
    return ContainerEngineOption(name, tuple(args), bool(mount) and mount[-1].lower() in _TRUE)


def _extras(text: str) -> tuple[str, ...]:
    return tuple(extra.strip() for extra in text.split(",") if extra.strip())


def _text(text: str) -> str:
    return text


#: How an option's string becomes its value (options not listed stay strings).
_CONVERTERS: dict[str, Callable[[str], object]] = {
    "environment": _environment,
    "test-environment": _environment,
    "environment-pass": str.split,
    "test-groups": str.split,
    "test-sources": _words,
    "test-requires": _words,
    "test-extras": _extras,
    "build-frontend": _frontend,
    "config-settings": pairs,
    "build-verbosity": _verbosity,
    "container-engine": _container_engine,
}


class _Resolver:
    """One identifier's options, option by option."""

    def __init__(self, config: ProjectConfig, identifier: str | None) -> None:
        self.config = config
        self.identifier = identifier
        self.sources: dict[str, tuple[str, ...]] = {}

    def text(self, name: str) -> str:
        value, sources = self.config.value(name, self.identifier)
        self.sources[name] = sources
        return value

    def get(self, name: str) -> Any:
        text = self.text(name)
        try:
            return _CONVERTERS.get(name, _text)(text)
        except SettingError as e:
            where = " + ".join(self.sources.get(name, ())) or name
            raise ConfigError(f"{where}: {e}") from e

    def build_options(self) -> BuildOptions:
        groups: tuple[str, ...] = tuple(self.get("test-groups"))
        try:
            from_groups = resolve_dependency_groups(self.config.pyproject, groups, "test-groups")
        except ConfigError as e:
            where = " + ".join(self.sources["test-groups"])
            raise ConfigError(f"{where}: {e.message}") from e
        test_command = self.text("test-command")
        identifier = self.identifier
        image = image_option(identifier)
        return BuildOptions(
            identifier=identifier,
            environment=self.get("environment"),
            environment_pass=tuple(self.get("environment-pass")),
            before_all=self.text("before-all"),
            before_build=self.text("before-build"),
            repair_command=self.text("repair-wheel-command"),
            build_frontend=self.get("build-frontend"),
            config_settings=self.get("config-settings"),
            build_verbosity=self.get("build-verbosity"),
            container_engine=self.get("container-engine"),
            image=(self.text(image) or None) if image in OPTIONS else None,
            manylinux=self.text("manylinux") or None,
            musllinux=self.text("musllinux") or None,
            test_command=test_command,
            before_test=self.text("before-test"),
            test_sources=self.get("test-sources"),
            test_requires=(*self.get("test-requires"), *from_groups),
            test_extras=self.get("test-extras"),
            test_groups=groups,
            test_environment=self.get("test-environment"),
            run_tests=bool(test_command.strip())
            and (identifier is None or self.config.globals.tests(identifier)),
            sources=dict(self.sources),
        )


def _check_every_value(config: ProjectConfig) -> None:
    """Each value written in a file (overrides included) on its own: its type, and its syntax
    for the options that have one, so a bad value is reported when the configuration is read,
    whichever identifier it is for."""
    for table in (config.file.cibuildwheel, config.file.manywheel):
        if table is None:
            continue
        sections = [(table.where, table.values), (f"[tool.{table.name}.linux]", table.linux)]
        sections += [(o.where, o.values) for o in table.overrides]
        for override in table.overrides:
            for name, rule in override.inherit.items():
                if rule is not Inherit.NONE and not mergeable(OPTIONS[name].format):
                    where = f"{config.file.path}: {override.where} inherit.{name}"
                    raise ConfigError(f"{where}: {name} cannot be appended or prepended to")
        for label, values in sections:
            for name, value in values.items():
                where = f"{config.file.path}: {label} {name}"
                option = OPTIONS[name]
                try:
                    text, _ = resolve([Layer(value, where)], option.format)
                    _CONVERTERS.get(name, _text)(text)
                except SettingError as e:
                    raise ConfigError(f"{where}: {e}") from e


def image_option(identifier: str | None) -> str | None:
    """``manylinux-<arch>-image`` (``pypy_<arch>`` for PyPy) or ``musllinux-<arch>-image``."""
    if identifier is None or "-" not in identifier:
        return None
    python, platform = identifier.split("-", 1)
    family, _, arch = platform.partition("_")
    if family not in ("manylinux", "musllinux") or not arch:
        return None
    if python.startswith("pp"):
        arch = f"pypy_{arch}"
    return f"{family}-{arch}-image"


def load_config(
    project_dir: str | PathLike[str],
    *,
    environ: Mapping[str, str],
    config_file: str | PathLike[str] | None = None,
    cli: Mapping[str, str] | None = None,
) -> ProjectConfig:
    """Read the configuration of the project in ``project_dir``: its ``pyproject.toml`` (or
    ``config_file``, where ``{package}`` is ``project_dir``, as in cibuildwheel), the
    ``CIBW_*``/``MANYWHEEL_*`` variables of ``environ``, and ``cli`` (option name -> value, as
    the environment variable would hold it). Raises :class:`ConfigError` (exit code 2)."""
    project = Path(project_dir)
    cli = dict(cli or {})
    unknown = sorted(set(cli) - OPTIONS.keys())
    if unknown:
        raise ValueError(f"unknown options: {', '.join(unknown)}")
    pyproject_path = project / "pyproject.toml"
    path = pyproject_path
    if config_file is not None:
        path = Path(str(config_file).replace("{package}", str(project)))
        if not path.is_file():
            raise ConfigError("no such file", path=str(path))
    file = read_config_file(path if path.is_file() else None)
    pyproject = load_toml(pyproject_path) or {}
    variables = {k: v for k, v in environ.items() if k.startswith(("CIBW_", "MANYWHEEL_"))}
    config = ProjectConfig(project, file, GlobalOptions(), pyproject, variables, cli)
    globals_, warnings = _globals(config)
    config = ProjectConfig(
        project, file, globals_, pyproject, variables, cli, (*file.warnings, *warnings)
    )
    _check_every_value(config)
    config.options_for(None)  # and every variable and command-line value
    return config


def _globals(config: ProjectConfig) -> tuple[GlobalOptions, list[str]]:
    warnings: list[str] = []

    def text(name: str) -> str:
        return config.value(name)[0]

    words = []
    for group in text("enable").split():
        if group in OBSOLETE_GROUPS:
            warnings.append(f"enable group {group!r} is obsolete; its builds need no group now")
            logger.warning(warnings[-1])
        else:
            words.append(group)
    try:
        enable = EnableGroup.parse(words)
    except ManywheelError as e:
        where = " + ".join(config.value("enable")[1])
        raise ConfigError(f"{where}: {e.message}") from e
    for name in ("build", "skip", "test-skip"):
        _check_patterns(config, name)
    return (
        GlobalOptions(
            build=text("build") or "*",
            skip=text("skip"),
            test_skip=text("test-skip"),
            archs=tuple(text("archs").split()) or ("auto",),
            enable=enable,
            requires_python=_requires_python(config),
            allow_empty=text("allow-empty").strip().lower() in _TRUE,
            output_dir=text("output-dir") or "wheelhouse",
            env=text("env") or None,
        ),
        warnings,
    )


def _check_patterns(config: ProjectConfig, name: str) -> None:
    """A selector whose braces expand too far is refused when the configuration is read."""
    text, sources = config.value(name)
    try:
        for pattern in text.split():
            expand_braces(pattern)
    except PatternError as e:
        raise ConfigError(f"{' + '.join(sources)}: {e}") from e


def _requires_python(config: ProjectConfig) -> SpecifierSet | None:
    value, sources = config.value("project-requires-python")
    where = " + ".join(sources)
    if not value:
        value = requires_python_of(config.project_dir, config.pyproject) or ""
        where = f"{config.project_dir}: requires-python"
    if not value:
        return None
    try:
        return SpecifierSet(value)
    except InvalidSpecifier as e:
        raise ConfigError(f"{where}: invalid specifier {value!r}") from e
