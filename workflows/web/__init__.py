"""The web application (pages and the JSON API) on top of the services and queries.

Imported only by `duban serve` and the tests: `duban --help` never loads FastAPI.
"""
