"""Fake FCM, Twilio, KMA, CAP feed and Rasa servers speaking the providers' HTTP formats.

For tests, benches and local runs (``python -m fakes``); never shipped in the wheel.
"""
