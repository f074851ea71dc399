"""Gin configuration files shipped with wt5."""
