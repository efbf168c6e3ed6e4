"""Training data: sources, filters, mixes and generators."""
