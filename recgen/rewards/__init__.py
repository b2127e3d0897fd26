"""The critic's signals: one check per constraint (quality.CHECKS), each measuring the rendered draft and
naming the agent at fault, and `combine`, which turns the measurements into scores and the total."""
