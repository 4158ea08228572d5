"""What the tests share: the fake account, fakes, the simulator as the tests configure it,
running the CLI against it, and reading what an export wrote.

    account.py    the credentials every simulator and settings object uses
    fakes.py      a clock that only moves when the code under test sleeps
    simulator.py  `pytest.mark.sim` options, and what a correct export of the account holds
    cli.py        running `gorgias-export` in this process or as a child, and killing it
    exports.py    the tickets export in this process, without the CLI
    outputs.py    reading CSV and JSONL outputs back
    sim_http.py   talking to the simulator over HTTP (the simulator's own tests)
    fake_api.py   a scripted API on 127.0.0.1 for the client's tests
    hostile.py    a proxy in front of the simulator that spoils answers on request N
    loopback_http.py  the server and the answer writing those two share
    archives.py   copying an archive, and a digest to show no test changed a shared one
"""
