"""The top of the house: the composition root (``wiring``) and the one command line (``cli``).

Above every layer (database ← index ← assistant ← web): it builds their parts from the settings
and gives them to the entry points. ``python -m index``, ``python -m assistant`` and ``python -m web``
are the same command line, under their older names.
"""
