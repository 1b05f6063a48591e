"""Convene: a community bot for open-source projects, on Discord, Matrix and a console."""

__version__ = "0.1.0"
