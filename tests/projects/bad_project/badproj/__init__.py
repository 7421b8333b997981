"""Misbehaving user functions for the bad-input suite (see README.md)."""
