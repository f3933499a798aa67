"""Versioned datasets: curate runs into Hugging Face dataset folders, list and diff versions,
export for fine-tuning, push to the Hub."""
