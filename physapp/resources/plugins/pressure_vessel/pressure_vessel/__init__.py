"""Example physapp plugin: a closed pressure vessel study (copy this folder to start a plugin)."""
