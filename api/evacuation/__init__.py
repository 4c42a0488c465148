"""Evacuation guidance: shelters of every kind, the nearest suitable one for a hazard, and what to do."""
