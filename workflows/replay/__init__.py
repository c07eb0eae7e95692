"""The replay of a plan's whole timeline (`duban simulate`): the calendar walked day by day, the jobs fired at
their cron times, and a scenario playing the units and the office through the same use cases.
"""
