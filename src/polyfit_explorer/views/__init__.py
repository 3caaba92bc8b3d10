"""The app's view layer: Panel components over the models, one idea per module.

Nothing here computes a number: the models and the diagnostics do, and the
views show their results and turn widget events into parameter changes.
"""
