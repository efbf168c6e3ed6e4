"""Release: the promotion gate, the MLflow registry, model cards, the manifest and plots."""
