"""Emulating the dynamic loader (glibc, musl and Android's Bionic): which file each DT_NEEDED
resolves to, why, and whether it defines every version the requester needs. Never runs the files
it inspects.

>>> from manywheel.linker import Resolver, RootFileSystem, SearchSettings
>>> tree = Resolver(RootFileSystem("/"), SearchSettings()).resolve("/usr/bin/ls")  # doctest: +SKIP
>>> [(r.name, r.path, r.rule) for r in tree.root.needed]  # doctest: +SKIP
"""

from manywheel.linker.bionic import (
    PLATFORM_LIBRARIES,
    bionic_default_dirs,
    is_bionic,
    is_platform_library,
)
from manywheel.linker.config import MAX_CONF_BYTES, read_ld_so_conf, read_musl_path
from manywheel.linker.filesystem import (
    MAX_SYSTEM_FILE_BYTES,
    FileSystem,
    OverlayFileSystem,
    RootFileSystem,
)
from manywheel.linker.host_facts import HostFacts
from manywheel.linker.ldcache import CacheEntry, LdCache, parse_ld_cache
from manywheel.linker.model import (
    DependencyTree,
    Flavor,
    LoadedObject,
    Rejection,
    RejectionReason,
    Resolution,
    Rule,
    VersionFailure,
)
from manywheel.linker.platforms import LoaderPlatform, loader_platform
from manywheel.linker.resolver import Resolver, detect_flavor
from manywheel.linker.search import ResolverCache, SearchSettings
from manywheel.linker.search_path import parse_search_path
from manywheel.linker.tokens import expand_tokens

__all__ = [
    "MAX_CONF_BYTES",
    "MAX_SYSTEM_FILE_BYTES",
    "PLATFORM_LIBRARIES",
    "CacheEntry",
    "DependencyTree",
    "FileSystem",
    "Flavor",
    "HostFacts",
    "LdCache",
    "LoadedObject",
    "LoaderPlatform",
    "OverlayFileSystem",
    "Rejection",
    "RejectionReason",
    "Resolution",
    "Resolver",
    "ResolverCache",
    "RootFileSystem",
    "Rule",
    "SearchSettings",
    "VersionFailure",
    "bionic_default_dirs",
    "detect_flavor",
    "expand_tokens",
    "is_bionic",
    "is_platform_library",
    "loader_platform",
    "parse_ld_cache",
    "parse_search_path",
    "read_ld_so_conf",
    "read_musl_path",
]
