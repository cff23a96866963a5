"""Trace records: EPCIS 2.0 events about batches, their CBV event hashes, and the signed Merkle log."""
