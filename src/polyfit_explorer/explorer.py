"""The app as a script for `panel serve`; `python -m polyfit_explorer` serves it."""

from polyfit_explorer import Explorer

Explorer().servable()
