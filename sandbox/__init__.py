"""A local, stateful implementation of Northflank's Create build service endpoint.

`python -m sandbox --help` lists the commands; ARCHITECTURE.md shows how the
modules fit together.
"""
