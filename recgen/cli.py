"""The `recgen` command line: thin commands that parse, call the library, and print."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from recgen.errors import RecgenError

app = typer.Typer(
    help="recgen — Recommendation-as-Generation: turn a product and a creative style (or D-SIDs) into a "
    "personalised vertical ad video, offline.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True)

DEMO_PRODUCT = "8"  # Vitamin C serum from the sample catalog
DEMO_CREATIVE = "fresh-botanical"
DEMO_DISCOUNT = 20

_STAGES = ("decode_sids", "instruct", "visual", "render", "audio", "effects", "compose", "critic")


def _settings(**overrides):
    from pydantic import ValidationError

    from recgen.settings import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as e:
        first = e.errors()[0]
        raise RecgenError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from e


def _run(verbose: bool, **kwargs) -> None:
    from recgen.generate import generate_video

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[stage]:<12}"),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task("starting", total=len(_STAGES), stage="setup")
        done: set[str] = set()

        def on_event(node: str, message: str) -> None:
            if node not in done:
                done.add(node)
            bar.update(task, completed=min(len(done), len(_STAGES)), description=message[:70], stage=node)

        try:
            result = generate_video(on_event=on_event, **kwargs)
        except RecgenError as e:
            bar.stop()
            err.print(f"[red]error:[/red] {e}")
            if verbose:
                raise
            raise typer.Exit(2) from None
        bar.update(task, completed=len(_STAGES), description="done", stage="done")
    for r in result.reports:
        codes = ", ".join(v.code for v in r.violations) or "none"
        err.print(f"round {r.round}: {r.verdict:<7} scores {r.scores} violations: {codes}")
    err.print(f"run folder: {result.run_dir}")
    if result.final_path is None:
        err.print(f"paused; continue with: recgen generate --resume {result.run_id}")
        print(result.run_dir)
    else:
        print(result.final_path)


Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log details and show tracebacks.")]
RunsDir = Annotated[Path | None, typer.Option(help="Where run folders go (default ./runs, or RECGEN_RUNS_DIR).")]


@app.command()
def demo(
    runs_dir: RunsDir = None,
    width: Annotated[int | None, typer.Option(help="Video width (default 720).")] = None,
    height: Annotated[int | None, typer.Option(help="Video height (default 1280).")] = None,
    duration: Annotated[float | None, typer.Option(help="Length in seconds (default 15).")] = None,
    verbose: Verbose = False,
) -> None:
    """Generate the bundled example: a Vitamin C serum from the sample catalog, 'fresh-botanical' style,
    20% off. Prints the path of final.mp4 on the last line."""
    try:
        settings = _settings(runs_dir=runs_dir, width=width, height=height, duration_s=duration)
    except RecgenError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    _run(verbose, product=DEMO_PRODUCT, creative=DEMO_CREATIVE, discount_pct=DEMO_DISCOUNT, settings=settings)


@app.command()
def generate(
    product: Annotated[
        str | None,
        typer.Option(
            help="Catalog id (e.g. 8), a product JSON string, or a .json file "
            "with title/brand/description/price/image_path."
        ),
    ] = None,
    creative: Annotated[
        str,
        typer.Option(
            help="A style preset (calm-luxury, bold-discount, playful-pastel, "
            "clean-clinical, energetic-ugc, warm-natural, dramatic-noir, "
            "fresh-botanical) or a D-SID like s3.1 or c1.2/s3.1."
        ),
    ] = "calm-luxury",
    seed: Annotated[int | None, typer.Option(help="Seed: the same inputs and seed give the same video.")] = None,
    price: Annotated[float | None, typer.Option(help="Offer price shown on a price tag.")] = None,
    discount: Annotated[int | None, typer.Option(help="Discount percent shown on a badge.")] = None,
    resume: Annotated[str | None, typer.Option(help="Resume an interrupted run by its id.")] = None,
    stop_after: Annotated[str | None, typer.Option(help="Pause after this node (e.g. visual) to inspect.")] = None,
    llm: Annotated[str | None, typer.Option(help="LLM policy (e.g. openai:gpt-4o-mini); not available yet.")] = None,
    runs_dir: RunsDir = None,
    width: Annotated[int | None, typer.Option(help="Video width.")] = None,
    height: Annotated[int | None, typer.Option(help="Video height.")] = None,
    fps: Annotated[int | None, typer.Option(help="Frames per second.")] = None,
    duration: Annotated[float | None, typer.Option(help="Length in seconds (4–120).")] = None,
    verbose: Verbose = False,
) -> None:
    """Generate an ad video for any sample-catalog product or your own product JSON."""
    try:
        if llm:
            raise RecgenError("LLM policies are not available in this version; omit --llm to use the built-in policy")
        if stop_after and stop_after not in ("decode_sids", "instruct", "visual", "audio", "effects", "compose"):
            raise RecgenError(f"--stop-after takes a node name (e.g. visual), got {stop_after!r}")
        settings = _settings(runs_dir=runs_dir, width=width, height=height, fps=fps, duration_s=duration)
    except RecgenError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    if not product and not resume:
        err.print("[red]error:[/red] give --product (or --resume RUN)")
        raise typer.Exit(2)
    _run(
        verbose,
        product=product,
        creative=creative,
        seed=seed,
        price=price,
        discount_pct=discount,
        resume=resume,
        stop_after=stop_after,
        settings=settings,
    )


@app.command()
def styles() -> None:
    """List the creative style presets and the D-SID each one encodes to."""
    from rich.table import Table

    from recgen.sid.creative import PRESETS
    from recgen.sid.semantics import load_sid_space

    s = _settings()
    space = load_sid_space(s.data_dir, s.cache_dir)
    table = Table("preset", "D-SID (creative)", "mood", "music", "description")
    for name, (_vec, mood, genre, _tf, caption) in PRESETS.items():
        codes = space.resolve_creative(name)
        table.add_row(name, "s" + ".".join(map(str, codes)), mood, genre, caption)
    Console().print(table)


def main() -> None:  # pragma: no cover - console entry
    try:
        app()
    except RecgenError as e:
        err.print(f"[red]error:[/red] {e}")
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
