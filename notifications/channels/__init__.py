"""Delivery channels behind one small interface: ``send(message) -> result``."""

from notifications.channels.base import Channel, OutboundMessage, SendResult
from notifications.channels.console import ConsoleChannel

__all__ = ["Channel", "ConsoleChannel", "OutboundMessage", "SendResult"]
