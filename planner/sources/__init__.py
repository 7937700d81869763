"""Readers for networks, facilities, blocks and communities."""
