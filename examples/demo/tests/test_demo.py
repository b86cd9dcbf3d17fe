"""The demo's test, run by `manywheel build` (test-command) in a fresh venv on a clean system:
the installed wheel imports, calls libdemo (grafted into it) and zlib, and is not the source
tree's copy."""

import demo

greeting = demo.greeting()
assert "libdemo" in greeting, greeting
assert demo.compressed_size(b"x" * 10000) < 100
assert "site-packages" in demo.__file__, f"imported from {demo.__file__}, not the installed wheel"
print(greeting)
print("deflated 10000 bytes of x to", demo.compressed_size(b"x" * 10000), "bytes")
