"""The Rasa chatbot's Python side: custom actions and their client of the safecity API."""
