"""Storage: the engine and its settings, the models and their migrations, the audit trail, backups, the
scheduler's lease, the jobs' runs, and loading a plan into the database. Uses ``plan`` and ``deadlines``.
"""
