"""Hazards citizens report, the incidents they are grouped into, the public map and Open311."""
