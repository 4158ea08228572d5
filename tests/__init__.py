"""The test suite, laid out like the package it tests:

    api/ exports/ jobs/ output/ cli/   gorgias_export's subpackages; the top-level modules'
                                       tests (config, rows, timeutil, fastjson) sit here
    sim/                               the simulator's own tests
    compat/                            the current code against what the previous release wrote
    reliability/                       faults, kills and hostile input (`make soak` runs it long)
    support/                           helpers the tests share
    benchmark.py                       `make bench`, not part of the suite

Tests that run against the simulator take the `sim` fixture (conftest.py), configured by
`pytest.mark.sim(...)`. A test whose docstring tells how something once went wrong is a
regression test (most came from an adversarial review of the entity exports): the docstring
keeps the failure, the assertions state what is right.
"""
