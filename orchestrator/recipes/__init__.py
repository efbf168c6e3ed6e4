"""Recipes: one workflow each (trial, sweep, promote, release), read top to bottom over the library."""
