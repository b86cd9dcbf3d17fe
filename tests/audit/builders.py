"""ELF fixtures compiled with gcc (a few hundred milliseconds each) and packed into wheels: one
for each kind of reason a tag is refused."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.harness.availability import skip_or_fail
from tests.harness.extensions import write_wheel

__all__ = ["EXT", "Builder"]

#: The extension-module suffix of the wheels built here (CPython 3.11 on x86_64).
EXT = ".cpython-311-x86_64-linux-gnu.so"


@dataclass(frozen=True, slots=True)
class Builder:
    """Compiles into ``work``; external libraries go to ``libdir`` (pass it as
    ``AUDITWHEEL_LD_LIBRARY_PATH`` to make them found)."""

    work: Path
    libdir: Path

    def gcc(self, argv: Sequence[str], *, compiler: str = "gcc") -> None:
        if shutil.which(compiler) is None:
            skip_or_fail(f"{compiler} is not installed (scripts/bootstrap installs it)")
        done = subprocess.run([compiler, *argv], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr

    def library(self, soname: str, source: str, *, links: Sequence[str] = ()) -> Path:
        """A shared library ``soname`` in ``libdir`` (``-l`` name: the part before ``.so``)."""
        c = self.work / f"{soname}.c"
        c.write_text(source, encoding="utf-8")
        target = self.libdir / soname
        self.gcc(["-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", str(target), str(c),
                  f"-L{self.libdir}", *links])  # fmt: skip
        link = self.libdir / (soname.split(".so", maxsplit=1)[0] + ".so")
        if not link.exists():
            link.symlink_to(soname)
        return target

    def extension(
        self,
        module: str,
        call: str = "",
        *,
        links: Sequence[str] = (),
        flags: Sequence[str] = (),
        prelude: str = "",
        compiler: str = "gcc",
    ) -> bytes:
        """An extension module ``module`` whose init function runs ``call``."""
        c = self.work / f"{module}.c"
        c.write_text(
            f"{prelude}\nvoid *PyInit_{module}(void) {{ {call}; return 0; }}\n", encoding="utf-8"
        )
        so = self.work / f"{module}.so"
        self.gcc(["-shared", "-fPIC", "-O1", "-o", str(so), str(c), *flags,
                  f"-L{self.libdir}", *links], compiler=compiler)  # fmt: skip
        return so.read_bytes()

    def cross_extension(self, compiler: str, module: str) -> bytes:
        """An extension for another machine, linked against a stub ``libc.so.6`` (no target
        sysroot needed) kept outside every search path; 4 KiB LOAD alignment."""
        stub = self.work / f"stub-{compiler}"
        stub.mkdir(exist_ok=True)
        (stub / "libc.c").write_text("int puts(const char *s) { return 0; }\n", encoding="utf-8")
        pages = ["-nostdlib", "-Wl,-z,max-page-size=4096", "-Wl,-z,common-page-size=4096"]
        self.gcc([*pages, "-shared", "-fPIC", "-Wl,-soname,libc.so.6", "-o",
                  str(stub / "libc.so.6"), str(stub / "libc.c")], compiler=compiler)  # fmt: skip
        return self.extension(
            module, 'puts("hi")', prelude="int puts(const char *);", compiler=compiler,
            flags=[*pages, f"-L{stub}", "-l:libc.so.6"],
        )  # fmt: skip

    def executable(self, name: str, call: str = "", *, links: Sequence[str] = ()) -> bytes:
        c = self.work / f"{name}.c"
        c.write_text(f"int main(void) {{ {call}; return 0; }}\n", encoding="utf-8")
        exe = self.work / name
        self.gcc(["-O1", "-o", str(exe), str(c), f"-L{self.libdir}",
                  f"-Wl,-rpath-link,{self.libdir}", *links])  # fmt: skip
        return exe.read_bytes()

    def wheel(self, name: str, files: dict[str, bytes], platform: str = "linux_x86_64") -> Path:
        out = self.work / "dist"
        out.mkdir(exist_ok=True)
        return write_wheel(out, name, "1.0", f"cp311-cp311-{platform}", files)
