"""Customization analysis without the database: clustering and request similarity."""
