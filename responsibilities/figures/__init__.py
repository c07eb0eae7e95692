"""The monthly figures (月报): their rules, the use cases that record them, their spreadsheets, and progress
against the targets (序时进度). Uses ``tracking`` and ``reading``.
"""
