"""The JSON API under /api: the same reads and actions as the pages, by the same services and rules."""
