"""gorgias_export/jobs/: one run's lifecycle: lock, state, resume, refusals, `all`."""
