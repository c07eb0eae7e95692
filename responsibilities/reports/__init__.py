"""The year-end compliance summary: its data, then its HTML and XLSX renderings. The top layer.
"""
