"""A product label: brand in serif capitals over the name, fitted to its box. The text never leaves the
label: smaller type for long names, an ellipsis on the third line, long words cut. The product renderer
prints it on the model as a texture."""

from __future__ import annotations

from PIL import ImageDraw

from recgen.tools.typography import fit_font, printable


def _label_lines(brand_txt: str, name_txt: str, w: int, h: float, scale: float):
    """Brand and name fonts and lines at `scale` of their natural sizes, and the block's height."""
    fb, lb = fit_font(brand_txt or "•", "serif", w, 1, max(6, int(h * 0.34 * scale)), bold=True)
    fn, ln = fit_font(name_txt or " ", "sans", w, 3, max(6, int(h * 0.16 * scale)), bold=False)
    height = h * 0.1 + len(lb) * fb.size * 1.15 + h * 0.04 + len(ln) * fn.size * 1.15
    return fb, lb, fn, ln, height


def _clip(line: str, f, w: int) -> str:
    """`line` cut to `w` pixels, ending in an ellipsis when cut."""
    if f.getlength(line) <= w:
        return line
    line = line.rstrip("…")
    while line and f.getlength(line + "…") > w:
        line = line[:-1]
    return line.rstrip() + "…"


def draw_label(
    d: ImageDraw.ImageDraw,
    box: tuple[float, float, float, float],
    brand: str,
    name: str,
    fill: tuple[int, int, int],
    ink: tuple[int, int, int],
) -> None:
    """The label and its text, which stays inside it: smaller type for long names, and a name that still does
    not fit in three lines ends with an ellipsis rather than running off the label."""
    x0, y0, x1, y1 = box
    d.rounded_rectangle(box, radius=int((x1 - x0) * 0.06), fill=(*fill, 255))
    w, h = int((x1 - x0) * 0.86), y1 - y0
    brand_txt, _ = printable(brand.upper() or "", "serif")
    name_txt, _ = printable(name, "sans")
    scale = 1.0
    fb, lb, fn, ln, height = _label_lines(brand_txt, name_txt, w, h, scale)
    while height > h * 0.96 and scale > 0.3:
        scale *= 0.85
        fb, lb, fn, ln, height = _label_lines(brand_txt, name_txt, w, h, scale)
    if " ".join(ln).split() != name_txt.split():  # cut to three lines: say so on the label itself
        ln = [*ln[:-1], _clip((ln[-1] if ln else "") + "…", fn, w)]
    lb = [_clip(x, fb, w) for x in lb]
    ln = [_clip(x, fn, w) for x in ln]  # a single word longer than the label
    while ln and height > h * 0.96:  # tiny labels: fewer name lines
        ln = ln[:-1]
        height -= fn.size * 1.15
    y = y0 + h * 0.1
    for line in lb:
        d.text(((x0 + x1) / 2, y), line, font=fb, fill=(*ink, 255), anchor="ma")
        y += fb.size * 1.15
    y += h * 0.04
    for line in ln:
        d.text(((x0 + x1) / 2, y), line, font=fn, fill=(*ink, 235), anchor="ma")
        y += fn.size * 1.15
