"""Running a command inside a Debian root: manywheel's own runner
(:func:`manywheel.build.roots_run.run_in_root`), re-exported for the harness's callers.

Private mount and PID namespaces (and a user namespace when not root), ``/proc`` and a small
``/dev`` inside, each hidden library covered with /dev/null for one run, then ``chroot`` and
``env -i``: nothing leaks back to the host's mounts, and none of the host's environment (notably
its ``PIP_*`` variables) leaks into the root.
"""

from manywheel.build.roots_run import ROOT_PATH, Bind, inside, resolve_inside, run_in_root

__all__ = ["ROOT_PATH", "Bind", "inside", "resolve_inside", "run_in_root"]
