"""The reliability suite (issue 5): faults, kills, hostile input and secrets, end to end.

`scenarios.py` holds each scenario once, parameterised by a `Scale`: `test_reliability.py` runs
the fast sample inside `make test`, and `soak.py` (`make soak`) runs the long version.
"""
