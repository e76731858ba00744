"""The central team's half: services between the faces (CLI, console, letters, reports) and the national store.

A face opens the store through ``door.open_store``, which also picks the round and return it shows, and asks
one of the services here for what it needs. Every question put to DuckDB is a named query in ``aggregator/*.sql``
(see ``queries``), so a reviewer reads all of an output's questions in one place and no face holds SQL.
"""
