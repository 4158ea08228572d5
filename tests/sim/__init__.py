"""gorgias_sim/: the simulator behaves like the real API as gorgias-api.md describes it."""
