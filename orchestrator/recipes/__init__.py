"""Recipes: one workflow each (trial, sweep, promote, release, family, data, make_data), read top to bottom over the library."""
