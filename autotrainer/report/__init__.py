"""How results are shown: tables and JSON for the terminal, charts, the replay's HTML page."""
