"""Adapters that translate chat events into command calls and Replies into messages."""
