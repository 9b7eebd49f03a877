"""`python -m alphacut.cli` is the `alphacut` command too (scripts in bench/ and the tests run it so)."""

from . import entry

if __name__ == "__main__":  # pragma: no cover
    entry()
