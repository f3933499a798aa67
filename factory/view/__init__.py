"""`factory view`: a self-contained HTML page to browse and review dialogues."""
