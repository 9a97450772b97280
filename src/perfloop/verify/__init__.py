"""Verification: decide whether a candidate behaves exactly like the original."""
