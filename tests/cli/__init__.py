"""gorgias_export/cli/: what a user sees: errors, exit codes, the display, the README."""
