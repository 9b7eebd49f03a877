"""`python -m alphacut` is the `alphacut` command (how `alphacut bench` runs it in child processes)."""

import sys

from .cli import entry

if __name__ == "__main__":
    sys.argv[0] = "alphacut"  # usage and messages name the command, not __main__.py
    entry()
