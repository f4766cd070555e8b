"""Saves a PNG of the X display's whole screen (DISPLAY) and fails if it is blank.

The package layer's screenshot of the installed app, taken by the X server rather than by
WebKitWebDriver, so the app runs exactly as installed (no WebDriver-only settings).
"""

import sys

import gi

gi.require_version("Gdk", "3.0")
from gi.repository import Gdk  # noqa: E402

root = Gdk.get_default_root_window()
shot = Gdk.pixbuf_get_from_window(root, 0, 0, root.get_width(), root.get_height())
pixels = shot.get_pixels()
step = shot.get_n_channels()
colours = {bytes(pixels[i:i + 3]) for i in range(0, len(pixels), step * 97)}
shot.savev(sys.argv[1], "png", [], [])
if len(colours) < 8:
    sys.exit(f"the screen is blank ({len(colours)} colours): {sys.argv[1]}")
print(f"{sys.argv[1]}: {root.get_width()}x{root.get_height()}, {len(colours)} colours sampled")
