"""Passive safety for people in care: home sensors' emergencies, their heartbeats, and the inactivity watch."""
