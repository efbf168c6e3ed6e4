"""Generators: training tracks (starter, judgment, honesty, long context, toolset, teacher) and the eval sets."""
