"""A Datashader image of many points that follows zooming, for the two main figures.

Above :data:`~polyfit_explorer.plots.RASTER_THRESHOLD` points the browser
gets one image the size of the plot instead of every point.  The image is a
DynamicMap layer that HoloViews keeps updating when the plot is zoomed or
resized; :meth:`Raster.refresh` redraws it for new data.
"""

from __future__ import annotations

from collections.abc import Callable

import holoviews as hv

from .. import plots

__all__ = ["Raster"]


class Raster:
    """An image layer of the points ``points()`` returns (None while the data are small).

    Parameters
    ----------
    points : callable
        Returns the points to draw (see :func:`plots.raster_input`), or None
        when the data are small enough to draw point by point.
    """

    def __init__(self, points: Callable[[], hv.Points | None]):
        self._points = points
        self._data = hv.streams.Counter()
        self._ranges: dict = {}
        self._drawn = self._seen = 0
        self._pending = None
        # One image cached, not HoloViews' 500: a 1,000,000-point image per zoom
        # level would keep hundreds of MB per session.
        self.dynamic_map = hv.DynamicMap(
            self._image, streams=[self._data, hv.streams.RangeXY(), hv.streams.PlotSize()],
            cache_size=1)

    def refresh(self, ranges: dict):
        """Redraw the image for new data shown in ``ranges`` (nothing to do if small and empty)."""
        self._ranges = dict(ranges)
        # Built once per refresh: the check and the image share it (a copy of
        # every row at large n); a zoom later builds its own.
        self._pending = self._points()
        try:
            if self._drawn or self._pending is not None:
                self._data.event()
        finally:
            self._pending = None

    def _image(self, counter=0, x_range=None, y_range=None, width=None, height=None,
               scale=1.0):
        points = self._pending if self._pending is not None else self._points()
        self._drawn = points is not None
        if points is None:
            return plots.no_image()
        if counter != self._seen:  # new data: the ranges they came with, not the last zoom
            self._seen = counter
            x_range, y_range = self._ranges.get("x", x_range), self._ranges.get("y", y_range)
        return plots.rasterized(points, x_range, y_range, width, height)
