"""Where things go on a 9:16 frame: the platform's safe area and the sizes and places of text.

One module, so the agent that plans text, the renderer that draws it and the critic that checks it use the
same numbers (all fractions of the frame)."""

from __future__ import annotations

SAFE_TOP, SAFE_BOTTOM = 0.08, 0.82  # platform UI covers the top and the bottom bands
HEADLINE_TOP = 0.09  # a shot's headline never starts above this
SUBTITLE_SIZE = 0.038  # subtitle font size, of the frame height
SUBTITLE_FILL = 0.92  # share of the width between the side margins that a subtitle line may use


def subtitle_size(height: int) -> int:
    return int(height * SUBTITLE_SIZE)


def subtitle_width(width: int, safe_margin: float) -> int:
    """The widest a subtitle line is drawn, inside the effects plan's side margins."""
    return int(width * (1 - 2 * safe_margin) * SUBTITLE_FILL)


def headline_top(head_y: float, sprite_h: int, frame_h: int) -> int:
    """Top of a headline centred at `head_y`, kept below HEADLINE_TOP."""
    return int(max(frame_h * HEADLINE_TOP, frame_h * head_y - sprite_h / 2))
