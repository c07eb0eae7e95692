"""Deadlines as time rules: Chinese deadline phrases, the rules they become, and working days.

Pure: no database and no clock (``today`` is an argument). The bottom layer, with ``vocabulary`` and ``errors``.
"""
