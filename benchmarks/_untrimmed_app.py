"""The packaged app without malloc_trim: benchmarks/allocator.py's control."""

from polyfit_explorer import Explorer, workarounds

# trim_soon does nothing without the function (as on a C library without it).
workarounds._MALLOC_TRIM = None

Explorer().servable()
