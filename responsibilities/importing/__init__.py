"""Reading a plan from the documents the office already has (issue 16): the division-of-labour table (任务分工,
责任分解) of a Word file, a spreadsheet, a saved web page, a PDF or copied text, read into a draft plan file with
every doubtful cell flagged for a person. Readers per format give ``tables.Document``; ``reading`` finds the header
and reads the rows; ``units`` resolves names against the office's directory; ``draft`` writes the plan file.
"""
