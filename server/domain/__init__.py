"""Rules as plain functions on plain data.

Nothing here imports the web framework or the database: every module can be read and
tested on its own.
"""
