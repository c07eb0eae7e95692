"""Tracking: the supervision cycle's use cases (one transaction each), accounts and sessions, evidence files.

Uses ``storage``.
"""
