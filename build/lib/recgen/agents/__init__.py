"""The agents: instruction model, visual planning, audio alignment, artistic effects, critic."""
