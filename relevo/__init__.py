"""Relevo's shared base: settings, the Redis connection, key names and errors.

Every package may import this one; it imports none of them.
"""

__version__ = "0.1.0"
