"""`python -m cli`: the same as the `greatwork` command."""

from cli.app import main

main()
