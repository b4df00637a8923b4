"""Headless Chromium from Debian's packages (chromium, chromium-driver), driven by Selenium: the
report's browser tests. Nothing is downloaded; without the browser the tests skip with the reason."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def available() -> str | None:
    """Why there is no browser here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (the test extra installs it)"
    if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
        return ("no headless Chromium here: `apt-get install chromium chromium-driver` (scripts/install.sh does it "
                "when run as root)")
    return None


def driver(width: int = 1400, height: int = 2000):
    why = available()
    if why:
        pytest.skip(why)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (the test extra installs it)")
    if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
        pytest.skip("no headless Chromium here: `apt-get install chromium chromium-driver` (scripts/install.sh does "
                    "it when run as root)")
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


def open_page(d, index: Path, timeout: float = 30) -> float:
    """Load the report and wait until its script has rendered every section; seconds it took."""
    from selenium.webdriver.support.ui import WebDriverWait

    began = time.monotonic()
    d.get(Path(index).resolve().as_uri())
    WebDriverWait(d, timeout).until(lambda drv: drv.execute_script("return document.body.dataset.ready") == "1")
    return time.monotonic() - began


def console_errors(d) -> list[str]:
    return [entry["message"] for entry in d.get_log("browser") if entry["level"] == "SEVERE"]


def broken_links(d, index: Path) -> list[str]:
    """Every relative link of the page that does not name a file beside it."""
    hrefs = d.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
    base = Path(index).resolve().parent
    return [h for h in hrefs if not h.startswith(("#", "http:", "https:")) and not (base / h).resolve().is_file()]


def draw_chart(d, selector: str, timeout: float = 30) -> float:
    """Scroll the first chart matching `selector` into view and wait until plotly has drawn it
    (charts load after the page, as they come into view); seconds it took."""
    from selenium.webdriver.support.ui import WebDriverWait

    began = time.monotonic()
    d.execute_script(f"document.querySelector({selector!r}).scrollIntoView()")
    WebDriverWait(d, timeout).until(lambda drv: drv.find_elements("css selector", f"{selector} .main-svg"))
    return time.monotonic() - began
