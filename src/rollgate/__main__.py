"""`python -m rollgate` is the same as the `rollgate` console command."""

from rollgate.cli import main

raise SystemExit(main())
