"""The chatbot's side of the API: chat in the app, texts to the bot by SMS, and the endpoints its actions call."""
