"""Launch NN Studio: ``nn-studio`` or ``python -m app`` [project file]."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
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
