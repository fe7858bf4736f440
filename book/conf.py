"""Sphinx configuration of the course site (read by book/build.py; see its docstring).

The site is built from a staging folder that book/build.py lays out: chapters/, notebooks/
(the executed notebooks), benchmarks/. Everything a page needs at view time is copied into
the site: MathJax comes from the PyPI package sphinx-mathjax-offline, the theme's fonts and
scripts from sphinx-book-theme; no page loads anything from another host.
"""
from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

project = "tinygan: a course on GANs, built from scratch"
author = "the tinygan authors"
copyright = "2026, the tinygan authors"
# every page's footer states both licences (LICENSE and LICENSE-CONTENT at the repository's root)
LICENCE_FOOTER = (
    '<p class="tinygan-licence">Code: MIT licence (LICENSE). Text and figures: '
    '<a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a> '
    '(LICENSE-CONTENT), the tinygan authors.</p>')

root_doc = "chapters/README"          # the chapters' index is the front page
extensions = ["myst_nb"]
myst_enable_extensions = ["dollarmath", "amsmath"]   # $...$, $$...$$ as in GitHub and Jupyter
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]   # a notebook's title may be any heading level

# --- notebooks: book/build.py sets TINYGAN_BOOK_EXECUTE and the kernel's environment
nb_execution_mode = os.environ.get("TINYGAN_BOOK_EXECUTE", "force")
nb_execution_timeout = int(os.environ.get("TINYGAN_BOOK_CELL_TIMEOUT", "1800"))
nb_execution_raise_on_error = True    # a failing cell fails the build: no broken page ships
nb_execution_show_tb = True
nb_merge_streams = True
nb_ipywidgets_js: dict = {}   # no widget scripts from a CDN: the site is offline (the lab runs in Jupyter)
nb_kernel_rgx_aliases = {".*": "python3"}

# --- math without a CDN: MathJax 3 from sphinx-mathjax-offline, SVG output (no web fonts,
# so pages typeset their math even when opened straight from disk, file://).
_mathjax_static = Path(str(importlib.metadata.distribution("sphinx-mathjax-offline")
                           .locate_file("sphinx-mathjax-offline/static")))
html_static_path = [str(_mathjax_static), "_static"]
mathjax_path = "mathjax/tex-svg.js"
mathjax3_config = {"svg": {"fontCache": "global"}}

# --- look and navigation
html_theme = "sphinx_book_theme"
html_title = "tinygan course"
html_css_files = ["tinygan.css"]
html_favicon = "_static/favicon.png"   # the ring's 8 modes (without one, browsers ask for /favicon.ico)
html_theme_options = {
    "show_toc_level": 2,
    "show_navbar_depth": 1,
    "use_download_button": True,
    "home_page_in_toc": True,
    "path_to_docs": "",
    "use_repository_button": False,
    "use_fullscreen_button": False,
    "extra_footer": LICENCE_FOOTER,
}
# an explicit colour mode: without one, a fresh browser logs "Got invalid theme mode" as an error
html_context = {"default_mode": "light"}
html_last_updated_fmt = None
html_show_sourcelink = False
exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints"]
