"""Sweep pieces: the search space, pre-compute checks, the trial table and the sweep report."""
