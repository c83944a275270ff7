"""`python -m sandbox`: see `sandbox.cli` (and `sandbox.quickstart` for `quickstart`)."""

from sandbox.cli import main

raise SystemExit(main())
