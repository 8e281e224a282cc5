"""`python -m socmon_app` runs the `socmon` command."""

from socmon_app.cli import main

main()
