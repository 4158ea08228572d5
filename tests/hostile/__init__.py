"""A hostile server between the exporter and the simulator (issue 12): tests/support/hostile.py."""
