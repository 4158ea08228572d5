"""`python -m gorgias_export` runs the same CLI as the `gorgias-export` console script."""

from gorgias_export.cli.app import main

main()
