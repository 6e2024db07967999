"""Countdown campaigns: template sets, per-network fitting, the pure planner and applying its plan."""
