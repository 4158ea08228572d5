"""gorgias_export/output/: writers, the SQLite store and mirror, the ticket index."""
