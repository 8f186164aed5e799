"""The CJK font every chart draws with, so Chinese never renders as boxes.

The font comes from the system: Debian's ``fonts-noto-cjk`` (installed by ``scripts/setup.sh`` for the demo and
the tests; ``apt-get install fonts-noto-cjk`` on a server). Other systems' usual CJK fonts are found too. A font
file named by ``COLLABBOT_CJK_FONT`` wins over all of them.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display on a server

from matplotlib import font_manager

log = logging.getLogger("collabbot.reports.fonts")

# Families in order of preference: Simplified Chinese forms first.
PREFERRED = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "Noto Sans CJK JP",
    "Noto Serif CJK SC",
)
# Where Debian and others put them, for a matplotlib font cache built before the font was installed.
SEARCH_DIRS = (
    "/usr/share/fonts/opentype/noto",
    "/usr/share/fonts/truetype/noto",
    "/usr/share/fonts/opentype/source-han-sans",
    "/usr/share/fonts/truetype/wqy",
    "/usr/local/share/fonts",
    "C:/Windows/Fonts",
    "/System/Library/Fonts",
)
FALLBACK = "DejaVu Sans"


class MissingCJKFont(RuntimeError):
    """No font with Chinese glyphs is installed: charts would show boxes."""


def _known() -> set[str]:
    return {entry.name for entry in font_manager.fontManager.ttflist}


def _add_files() -> None:
    override = os.environ.get("COLLABBOT_CJK_FONT")
    paths = [Path(override)] if override else []
    for folder in SEARCH_DIRS:
        directory = Path(folder)
        if directory.is_dir():
            paths += [p for p in directory.iterdir() if "cjk" in p.name.lower() or "wqy" in p.name.lower() or "sourcehan" in p.name.lower()]
    for path in paths:
        if path.suffix.lower() in (".ttf", ".otf", ".ttc") and path.is_file():
            try:
                font_manager.fontManager.addfont(str(path))
            except (OSError, RuntimeError, ValueError):  # an unreadable file is skipped, not fatal
                log.warning("could not load font %s", path)


def _override_family() -> str | None:
    override = os.environ.get("COLLABBOT_CJK_FONT")
    if not override or not Path(override).is_file():
        return None
    font_manager.fontManager.addfont(override)
    return str(font_manager.FontProperties(fname=override).get_name())


@functools.lru_cache(maxsize=1)
def cjk_font_family() -> str:
    """Configure matplotlib to draw with a CJK font (once) and return its family name.

    Raises ``MissingCJKFont`` when none is installed: a chart of boxes is worse than a clear error.
    """
    family = _override_family()
    if family is None:
        known = _known()
        family = next((name for name in PREFERRED if name in known), None)
        if family is None:
            _add_files()
            known = _known()
            family = next((name for name in PREFERRED if name in known), None)
    if family is None:
        raise MissingCJKFont("no CJK font found: install Debian's fonts-noto-cjk (or set COLLABBOT_CJK_FONT to a .ttf/.otf/.ttc file)")
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [family, FALLBACK]
    matplotlib.rcParams["axes.unicode_minus"] = False  # CJK fonts often lack U+2212
    matplotlib.rcParams["svg.fonttype"] = "none"
    log.info("charts draw with the font %s", family)
    return family
