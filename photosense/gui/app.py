"""Starting the desktop app, and rendering its window to a PNG (for docs and checks)."""

from __future__ import annotations

import gc
import logging
import signal
import sys
import time
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QThread, QTimer
from PySide6.QtGui import QGuiApplication, QIcon, QPixmap
from PySide6.QtWidgets import QApplication

from photosense import __version__
from photosense.errors import PhotosenseError
from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.gui.model_manager_page import device_setting
from photosense.gui.window import MainWindow
from photosense.gui.window_settings import SETTINGS_APP, SETTINGS_ORG, default_settings
from photosense.library import Library

log = logging.getLogger(__name__)

SCREENSHOT_SIZE = (1400, 900)
SETTLE_TIMEOUT_S = 120.0
# The desktop entry's name, the AppStream id and the icon's name (packaging/linux/).
APP_ID = "io.github.photosense.Photosense"


def app_icon() -> QIcon:
    """photosense's icon, every PNG size of the hicolor set shipped in the package."""
    icon = QIcon()
    hicolor = resources.files("photosense").joinpath("resources", "icons", "hicolor")
    for size in hicolor.iterdir():
        png = size.joinpath("apps", f"{APP_ID}.png")
        pixmap = QPixmap()
        if png.is_file() and pixmap.loadFromData(png.read_bytes(), "PNG"):
            icon.addPixmap(pixmap)
    return icon


def application() -> QApplication:
    """The QApplication, created once with photosense's names (QSettings uses them)."""
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    QCoreApplication.setOrganizationName(SETTINGS_ORG)
    QCoreApplication.setApplicationName(SETTINGS_APP)
    QCoreApplication.setApplicationVersion(__version__)
    # Ties the window to the desktop entry (its icon and name in docks, Wayland's app id).
    QGuiApplication.setDesktopFileName(APP_ID)
    app = QApplication(sys.argv[:1])
    app.setApplicationDisplayName("photosense")
    app.setWindowIcon(app_icon())
    return app


def freeze_long_lived_objects() -> None:
    """Exempt what exists once the window is up (modules, widgets) from garbage collection:
    a full collection over the hundreds of thousands of objects that torch and friends create
    at import takes 300-450 ms on the GUI thread, a visible stall in the middle of scrolling
    (:func:`freeze_once_the_model_is_loaded` exempts those). Later objects are still
    collected."""
    gc.freeze()


def freeze_once_the_model_is_loaded(runner: JobRunner, module: str = "torch") -> None:
    """Freeze again once ``module`` has loaded: torch loads with the first model (a search),
    after the window is up and its heap frozen. Done when a job of ``runner`` ends and none
    is left running, so no import is half done."""

    def check(_job: Job) -> None:
        if module in sys.modules and not runner.busy():
            runner.job_done.disconnect(check)
            freeze_long_lived_objects()

    runner.job_done.connect(check)


WARM_UP_DELAY_MS = 1500
"""How long after the window appears the model starts loading in the background."""


def warm_up_model(runner: JobRunner, library: Library, delay_ms: int = WARM_UP_DELAY_MS) -> None:
    """Load the model and its vector index in the background shortly after the window is up,
    so that the first search does not wait for them (seconds: torch, the weights, the index).
    The window's first screen needs neither and is not held up; a model that fails to load is
    reported by the search that needs it, as before."""

    def start() -> None:
        job = Job.call(library.search.prepare, name="load model", lane=Lane.MODELS)
        job.signals.failed.connect(lambda exc: log.info("model not loaded ahead: %s", exc))
        runner.start(job)

    QTimer.singleShot(delay_ms, runner, start)  # dropped with the runner; a closed one ignores it


def run_app(library_dir: Path | None, model: str = "auto", device: str = "auto") -> int:
    """Open the window over the library in ``library_dir`` (or the default) until it closes.

    ``device`` "auto" means the choice saved on the Models page (itself "auto" by default).
    """
    app = application()
    settings = default_settings()
    if device == "auto":
        device = device_setting(settings)
    library = Library.open(library_dir, model=model, device=device, served_indexes=True)
    try:
        window = MainWindow(library, settings=settings, device=device)
        window.show()
        freeze_long_lived_objects()
        freeze_once_the_model_is_loaded(window.runner)
        warm_up_model(window.runner, library)
        # Ctrl-C in the terminal closes the window properly (settings saved, jobs stopped);
        # the timer lets Python run its signal handler while Qt's loop is in C++.
        previous = signal.signal(signal.SIGINT, lambda *_: window.close())
        ticker = QTimer(window)
        ticker.timeout.connect(lambda: None)
        ticker.start(250)
        try:
            return app.exec()
        finally:
            signal.signal(signal.SIGINT, previous)
    finally:
        library.close()


def settle(window: MainWindow, timeout_s: float = SETTLE_TIMEOUT_S) -> bool:
    """Let the window's jobs run to the end, thumbnails of what is on screen included.

    Painting is what asks for thumbnails, so this paints (``grab``) until a paint starts no
    new work. Returns False if ``timeout_s`` passed first.
    """
    app = application()
    deadline = time.monotonic() + timeout_s
    quiet_rounds = 0
    while time.monotonic() < deadline:
        app.processEvents()
        window.grab()  # paint: visible cells request their thumbnails
        app.processEvents()
        busy = window.runner.busy() or window.thumbnails.pending or window.model.loading
        quiet_rounds = 0 if busy else quiet_rounds + 1
        if quiet_rounds >= 3:
            return True
        QThread.msleep(20)
    log.warning("the window was still busy after %.0f s", timeout_s)
    return False


def render_screenshot(
    library_dir: Path | None,
    model: str,
    device: str,
    out: Path,
    search: str | None = None,
    size: tuple[int, int] = SCREENSHOT_SIZE,
) -> None:
    """Render the window over a library to a PNG, after loading, thumbnails and ``search``.

    Works offscreen (``QT_QPA_PLATFORM=offscreen``). The first photo is selected so the
    detail pane shows. Settings are neither read nor written.
    """
    app = application()
    library = Library.open(library_dir, model=model, device=device, served_indexes=True)
    window = MainWindow(library, settings=None, device=device)
    try:
        window.resize(*size)
        window.show()
        settle(window)
        if search:
            window.search_bar.set_text(search)
            window.search_bar.commit()
            settle(window)
        if window.model.rowCount():
            window.grid.setFocus()
            window.grid.setCurrentIndex(window.model.index(0))
            settle(window)
        app.processEvents()
        out.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(out), "PNG"):
            raise PhotosenseError(f"could not write the screenshot to {out}")
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()
        library.close()
