"""Colour arithmetic shared by the style space, the renderers and the critic: hex colours and WCAG contrast."""

from __future__ import annotations


def hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def rgb_hex(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{max(0, min(255, int(c))):02x}" for c in rgb)


def luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG relative luminance of an sRGB colour given in 0..255."""

    def lin(c: float) -> float:
        c = c / 255.0
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def contrast_ratio(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def best_ink(background: str, inks: tuple[str, ...] = ("#ffffff", "#111014")) -> str:
    """The ink of `inks` that reads best on `background`."""
    return max(inks, key=lambda c: contrast_ratio(hex_rgb(c), hex_rgb(background)))


def subtitle_backdrop(text_color: str) -> str:
    """The box behind subtitles: dark under light text, light under dark text."""
    light_text = contrast_ratio(hex_rgb(text_color), (0, 0, 0)) > contrast_ratio(hex_rgb(text_color), (255, 255, 255))
    return "#111014" if light_text else "#f4f1ec"
