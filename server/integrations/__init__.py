"""Bridges to the outside: payment providers, MQTT sensors, notification senders."""
