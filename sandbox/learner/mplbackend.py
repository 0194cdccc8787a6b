"""A matplotlib backend for sandboxed runs: ``plt.show()`` sends each figure to the tutor.

Runs set ``MPLBACKEND=module://sandbox.learner.mplbackend``. Drawing is Agg's (no display needed);
``show()`` does what a desktop backend's does from the learner's point of view — every open
figure appears, then is closed — except that "appears" means: an ``image`` visual in the
tutor (``sandbox.show``, downscaled to the terminal) and a full-size PNG, ``figure-N.png``,
in the run's working directory, which the tutor keeps with the run's other outputs.
"""

from __future__ import annotations

import os
from typing import Any

from matplotlib._pylab_helpers import Gcf
from matplotlib.backend_bases import FigureManagerBase, _Backend
from matplotlib.backends.backend_agg import FigureCanvasAgg

_shown = 0


def _png_name() -> str | None:
    """The next free ``figure-N.png`` in the working directory (never overwrites a file)."""
    global _shown
    for _ in range(1000):
        _shown += 1
        name = f"figure-{_shown}.png"
        if not os.path.exists(name):
            return name
    return None


def send_figure(figure: Any) -> None:
    """Render one figure and send it as an image visual (and keep a PNG of it)."""
    import numpy as np

    from sandbox.learner.show import show

    canvas = figure.canvas
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    title = ""
    if getattr(figure, "_suptitle", None) is not None:
        title = figure._suptitle.get_text()
    if not title:
        titles = [ax.get_title() for ax in figure.get_axes() if ax.get_title()]
        title = titles[0] if titles else f"figure {figure.number}" if hasattr(figure, "number") else "figure"
    png = _png_name()
    if png is not None:
        try:
            figure.savefig(png)
            title += f" (full size: {png})"
        except OSError:
            pass  # a read-only or full folder must not cost the learner the visual
    show.image(rgba[:, :, :3].copy(), title=title)


class FigureManagerTutor(FigureManagerBase):
    def show(self) -> None:  # fig.show() on one figure
        send_figure(self.canvas.figure)


@_Backend.export
class _BackendTutor(_Backend):
    FigureCanvas = FigureCanvasAgg
    FigureManager = FigureManagerTutor

    @staticmethod
    def show(*args: Any, **kwargs: Any) -> None:
        """Send every open figure, then close them (a closed window, in desktop terms)."""
        for manager in Gcf.get_all_fig_managers():
            send_figure(manager.canvas.figure)
        Gcf.destroy_all()
