"""`factory eval`: measures, a realism classifier, plots and a readable report."""
