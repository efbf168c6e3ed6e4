"""Training: the base model, the chat template, LoRA targets and the trainer (edge modules: torch)."""
