"""Where the flows lived before issue 13 moved them to ``workflows.schedule.flows``.

Prefect deployments made by an earlier `duban deploy` name this file as their entrypoint
(``workflows/flows.py:sweep_flow`` …): they keep running through these names until `duban deploy` is run again,
which points them at the new file.
"""

from workflows.schedule.flows import deliver_flow, digests_flow, sweep_flow, year_end_flow

__all__ = ["deliver_flow", "digests_flow", "sweep_flow", "year_end_flow"]
