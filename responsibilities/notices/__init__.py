"""Notices owed: the daily sweep (reminders, chases, escalations) and the digests, written as outbox rows.

Uses ``figures`` (the digests' numbers) and ``reading``.
"""
