"""Talking to the Hub: HTTP client with pacing and retries, and the model record format."""
