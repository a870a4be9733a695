"""`python -m matching` entry point."""

from __future__ import annotations

from matching.cli import main

raise SystemExit(main())
