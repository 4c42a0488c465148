"""Fake FCM and Twilio servers that speak the providers' HTTP formats, for tests and local runs."""
