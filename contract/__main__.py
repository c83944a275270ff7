"""`python -m contract`: see contract/README.md."""

from contract.cli import main

raise SystemExit(main())
