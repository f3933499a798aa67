"""Importers: real ESC data sets into the dialogue format."""
