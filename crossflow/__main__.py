"""`python -m crossflow`: the `crossflow` command (see `crossflow._cli`)."""

from __future__ import annotations

from crossflow._cli import main

raise SystemExit(main())
