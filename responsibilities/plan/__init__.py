"""Plan files (工作方案): reading and validating them into typed data, and the deliverables a plan owes.

Pure: no database and no clock. Uses ``deadlines``.
"""
