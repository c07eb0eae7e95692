"""The pages (HTML, no scripts): each module a group of routes, rendered through ``templating``."""
