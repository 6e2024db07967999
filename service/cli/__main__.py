"""`python -m service.cli`: the same as the `eventpromo` command."""

from . import main

main()
