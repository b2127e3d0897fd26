"""The closed loop's simulated viewers, kept apart from the system (see users.py)."""
