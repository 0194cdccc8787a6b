"""The worker side of pytorch-tutor: what runs where torch is.

Importing this package is cheap and imports neither torch nor textual: the tutor imports
``sandbox.protocol`` from it. Learner code uses ``from sandbox import show`` (and ``assets``); those names are
resolved lazily (PEP 562) so that the protocol stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["show", "assets"]


def __getattr__(name: str) -> Any:
    if name == "show":
        from sandbox.learner.show import show

        return show
    if name == "assets":  # a lesson's data files by name: `from sandbox import assets; assets.path("digits")`
        from sandbox.learner import assets

        return assets
    raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
