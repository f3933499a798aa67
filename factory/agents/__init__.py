"""The three role-play agents, one file each, plus the views that decide what each sees."""
