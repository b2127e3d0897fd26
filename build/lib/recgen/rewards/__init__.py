"""The critic's signals: measured quality of a draft (visual, audio, effects), combined into scores."""
