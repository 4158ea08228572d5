"""gorgias_export/api/: the read-only client, pacing to the rate limit, and listing walks."""
