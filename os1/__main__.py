"""`python -m os1` runs the `os1` command."""

from .cli import main

main()
