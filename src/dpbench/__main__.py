"""``python -m dpbench COMMAND ...``: on the workflow's job server when one is running (dpbench.jobserver),
else in this process."""

import sys

from dpbench.jobserver import run_on_server

status = run_on_server(sys.argv[1:])
if status is None:
    from dpbench.cli import main

    status = main()
raise SystemExit(status)
