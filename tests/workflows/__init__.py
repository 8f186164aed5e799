"""Tests of workflows/.

tests/ has no ``__init__``, so pytest imports this folder as the top-level package ``workflows``, which hides
the real workflows/ package. Its path therefore lists the real folder too: ``workflows.common`` and the rest
are this checkout's modules, not those of whatever copy is installed (in a git worktree, the main checkout's).
"""

from pathlib import Path

__path__.append(str(Path(__file__).resolve().parents[2] / "workflows"))
