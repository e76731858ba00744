"""``python -m bcf`` runs the command line."""

from bcf.cli import main

main()
