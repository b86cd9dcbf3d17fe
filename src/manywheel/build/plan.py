"""From a project's resolved configuration to what a run does: which identifiers
(:func:`select_configured`, through the one selector), the policy each targets
(:func:`target_policies`), and each identifier's options (:func:`identifier_options`).

The command line is one of the configuration's sources (the highest), so a flag and the same
key in ``pyproject.toml`` or ``CIBW_*`` take the same path."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from manywheel.build.config import BuildOptions, ConfigError, ProjectConfig, image_option
from manywheel.build.config_options import OPTIONS
from manywheel.build.identifiers import BuildIdentifier, Platform
from manywheel.build.selectors import Selection, parse_archs, select_identifiers
from manywheel.build.targets import TargetPolicies, canonical_policy, image_policy
from manywheel.errors import ManywheelError
from manywheel.policy import Libc, PolicySet

__all__ = [
    "DEFAULT_POLICIES",
    "identifier_options",
    "select_configured",
    "target_policies",
]

#: The policies identifiers target when nothing configures one: manylinux2014 (glibc 2.17, the
#: oldest a current toolchain builds for; cibuildwheel's images default to manylinux_2_28 since
#: its 3.0) and musllinux_1_2.
DEFAULT_POLICIES = {Platform.MANYLINUX: "manylinux2014", Platform.MUSLLINUX: "musllinux_1_2"}


def _where(config: ProjectConfig, name: str, identifier: str | None = None) -> str:
    sources = config.value(name, identifier)[1]
    return " + ".join(sources) or name


def select_configured(
    config: ProjectConfig,
    *,
    host_arch: str,
    unavailable: Callable[[BuildIdentifier], str | None],
) -> Selection:
    """The run's identifiers: ``build``/``skip``/``archs``/``enable`` and ``requires-python`` of
    the configuration (command line included), split by ``unavailable`` (the environment's
    answer, or ``lambda i: None`` for every candidate)."""
    globals_ = config.globals
    try:
        archs = parse_archs(" ".join(globals_.archs), host_arch)
    except ManywheelError as e:
        raise ConfigError(f"{_where(config, 'archs')}: {e.message}") from e
    selector = globals_.selector
    selector.named(_where(config, "build"))  # a literal that is no identifier: its source
    return select_identifiers(
        selector, archs=archs, platforms=tuple(Platform), unavailable=unavailable
    )


def _named_policy(config: ProjectConfig, identifier: BuildIdentifier) -> tuple[str, str] | None:
    """The policy configured for ``identifier`` and where: ``manylinux``/``musllinux``, else a
    policy its image option names."""
    key = identifier.platform.value
    text = str(identifier)
    value = config.value(key, text)[0]
    if value:
        return value, _where(config, key, text)
    image = image_option(text)
    if image is not None and image in OPTIONS:
        named = image_policy(config.value(image, text)[0])
        if named is not None:
            return named, _where(config, image, text)
    return None


def target_policies(
    config: ProjectConfig, policies: PolicySet, identifiers: Iterable[BuildIdentifier]
) -> TargetPolicies:
    """The policy of each of ``identifiers`` (see :func:`_named_policy`; otherwise
    :data:`DEFAULT_POLICIES`), canonical; a name that is no policy of its platform is a
    :class:`ConfigError` naming where it was set."""
    defaults = {}
    for platform, default in DEFAULT_POLICIES.items():
        value = config.value(platform.value)[0]
        where = _where(config, platform.value) if value else "default"
        defaults[platform] = _canonical(policies, value or default, platform, where)
    overrides: dict[BuildIdentifier, str] = {}
    for identifier in identifiers:
        named = _named_policy(config, identifier)
        if named is not None:
            policy = _canonical(policies, named[0], identifier.platform, named[1])
            if policy != defaults[identifier.platform]:
                overrides[identifier] = policy
    manylinux, musllinux = defaults[Platform.MANYLINUX], defaults[Platform.MUSLLINUX]
    return TargetPolicies(manylinux, musllinux, overrides)


def _canonical(policies: PolicySet, name: str, platform: Platform, where: str) -> str:
    libc = Libc.GLIBC if platform is Platform.MANYLINUX else Libc.MUSL
    try:
        return canonical_policy(policies, name, libc, f"{where}:")
    except ConfigError:
        raise
    except ManywheelError as e:
        raise ConfigError(e.message) from e


def identifier_options(
    config: ProjectConfig, identifiers: Sequence[BuildIdentifier]
) -> dict[BuildIdentifier, BuildOptions]:
    """Each identifier's options, overrides applied (:class:`ConfigError` for a bad value)."""
    return {identifier: config.options_for(identifier) for identifier in identifiers}
