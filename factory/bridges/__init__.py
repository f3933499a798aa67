"""Bridges to other tools: distilabel's LLM classes as a backend, and the role-play loop as a
distilabel step."""
