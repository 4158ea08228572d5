"""gorgias_export/exports/: what the exports read and write, checked against the simulator."""
