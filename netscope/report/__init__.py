"""Bug-report bundles: redaction, snapshot diff and exports (DOT, Mermaid, Markdown, HTML).

Pure: a snapshot in, text or a snapshot out. No I/O beyond what a caller passes in.
"""
