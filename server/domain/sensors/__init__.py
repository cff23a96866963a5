"""Sensors in fields, stores and trucks: devices, readings, bands and the cold-chain anomalies they raise."""
