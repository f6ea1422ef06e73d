"""Pictures of a project: the revision graph, the schema as an ER diagram, and one HTML report.

Each picture is first plain data (``graph.RevisionGraph``, ``erd.SchemaDiagram``)
that the API returns; the renderers turn that data into Mermaid, Graphviz DOT,
SVG or text.  Nothing here reads a database or runs a revision file: callers
(``schemashift.api``) hand in what they read.
"""
