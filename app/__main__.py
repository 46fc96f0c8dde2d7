"""Launch NN Studio: ``nn-studio`` or ``python -m app`` [project file]."""
from __future__ import annotations

import os
import sys


def leave_a_core_for_the_window() -> None:
    """Let NumPy's BLAS use every core but one, so the window always has one to draw with.

    Must run before NumPy is imported; a value the user set in the environment wins. With
    all cores busy in BLAS, the worker's threads and the GUI thread fight over them: on two
    cores a training step became ten times slower.
    """
    n = str(max(1, (os.cpu_count() or 2) - 1))
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, n)


leave_a_core_for_the_window()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)     # Ctrl+C in the terminal ends the app
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("NN Studio")
    app.setOrganizationName("NN Studio")
    from . import style
    style.apply(app)
    from .main_window import MainWindow, first_show_hint
    window = MainWindow()
    window.show()
    first_show_hint(window)
    if len(argv) > 1:
        window.files.open(argv[1])
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
