"""esc-factory: synthetic emotional-support dialogues from a three-role LLM role-play."""

__version__ = "0.1.0"
