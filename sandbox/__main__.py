"""`python -m sandbox`: see `sandbox.cli`, and `sandbox.quickstart` for `quickstart`."""

import sys

from sandbox.cli import main

if sys.argv[1:2] == ["quickstart"]:
    from sandbox.quickstart import main as quickstart

    raise SystemExit(quickstart(sys.argv[2:]))
raise SystemExit(main())
