"""Executors, job runner and latest-wins scheduler (Qt-free)."""
