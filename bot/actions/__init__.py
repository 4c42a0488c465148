"""The chatbot's custom actions (`python -m rasa_sdk --actions bot.actions`): they call the API, not the database."""

from bot.actions import care, info, reports, session

__all__ = ["care", "info", "reports", "session"]
