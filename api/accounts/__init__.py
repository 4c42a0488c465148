"""Citizens, their devices, and staff accounts."""
