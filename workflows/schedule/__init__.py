"""When things happen: the scheduled jobs (plain functions), the embedded scheduler behind `duban serve`, and
the same jobs as Prefect flows and deployments for the scale-out.
"""
