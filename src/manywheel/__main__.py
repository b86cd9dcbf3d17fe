"""``python -m manywheel``."""

from manywheel.cli import run

if __name__ == "__main__":
    run()
