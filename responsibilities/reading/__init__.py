"""Reading: where every unit stands (status, the dashboard, the kept lights) and how the system runs.

Read-only sessions; uses ``storage`` and ``tracking``.
"""
