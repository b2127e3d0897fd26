"""The `recgen` command line: thin commands that parse, call the library, and print."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from recgen.errors import RecgenError
from recgen.graphs import STAGES, STOP_AFTER
from recgen.schemas import DSID
from recgen.vocabulary import VOCAB

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


def _settings(**overrides):
    from pydantic import ValidationError

    from recgen.settings import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as e:
        first = e.errors()[0]
        raise RecgenError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from e


def _space_with_progress(settings, show) -> None:
    """Load the catalog's D-SID space before the run, saying so: its first fit on a machine embeds every item
    (minutes), and a run would otherwise sit silent at its first step."""
    from recgen.sid.semantics import load_sid_space

    s = settings or _settings()
    load_sid_space(s.data_dir, s.cache_dir, on_status=lambda msg: show(f"first use: {msg} (cached after)"))


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
        task = bar.add_task("starting", total=len(STAGES), stage="setup")
        done: set[str] = set()

        def on_event(node: str, message: str) -> None:
            if node not in done:
                done.add(node)
            bar.update(task, completed=min(len(done), len(STAGES)), description=message[:70], stage=node)

        try:
            _space_with_progress(kwargs["settings"], lambda msg: bar.update(task, description=msg[:70], stage="D-SIDs"))
            result = generate_video(on_event=on_event, **kwargs)
        except RecgenError as e:
            bar.stop()
            err.print(f"[red]error:[/red] {e}")
            if verbose:
                raise
            raise typer.Exit(2) from None
        bar.update(task, completed=len(STAGES), description="done", stage="done")
    for r in result.reports:
        codes = ", ".join(v.code for v in r.violations) or "none"
        err.print(f"round {r.round}: {r.verdict:<7} scores {r.scores} violations: {codes}")
    for note in dict.fromkeys(result.state.notes):  # fallbacks and what could not be drawn, said, not hidden
        err.print(f"[yellow]note:[/yellow] {note}")
    err.print(f"run folder: {result.run_dir}")
    if result.status == "review":
        err.print(
            "waiting for review: open `recgen ui`, or approve here with "
            f"`recgen generate --resume {result.run_id} --approve` (or --edits edits.json)"
        )
        print(result.run_dir)
    elif result.final_path is None:
        err.print(f"paused; continue with: recgen generate --resume {result.run_id}")
        print(result.run_dir)
    else:
        if result.status == "flagged":
            from recgen.generate import open_checks

            checks = ", ".join(open_checks(result.state))
            err.print(f"[yellow]finished with failed checks[/yellow] ({checks}): the video is written, not clean")
        print(result.final_path)


Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log details and show tracebacks.")]
RunsDir = Annotated[Path | None, typer.Option(help="Where run folders go (default ./runs, or RECGEN_RUNS_DIR).")]
BindHost = Annotated[str, typer.Option(help="Interface to bind; keep 127.0.0.1 unless you mean to share it.")]


@app.command()
def demo(
    user: Annotated[
        str | None,
        typer.Option(
            help="Go user → GRM → D-SIDs → video for this Beauty user "
            "(needs a GRM trained with `recgen grm train --creative`)."
        ),
    ] = None,
    checkpoint: Annotated[Path, typer.Option(help="GRM checkpoint for --user.")] = Path("runs/grm/rec2video.pt"),
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
    if user is not None:
        from recgen.graphs.rec2video import video_for_user

        try:
            result = video_for_user(user, checkpoint, settings)
        except RecgenError as e:
            _fail(e)
        g = json.loads((result.run_dir / "run.json").read_text())["grm"]
        who = "GRM proposes" if g.get("basis") != "popular" else "no history yet, so the most popular"
        err.print(
            f"user {user}: {who} D-SID {DSID.model_validate(g['dsid'])} → item {g['item']}, "
            f"video D-SID {result.state.request.dsid} "
            f"({'an existing video' if g['existing_video'] else 'a new pairing'})"
        )
        print(result.final_path)
        return
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
        typer.Option(help=f"A style preset ({', '.join(VOCAB.presets)}) or a D-SID like s3.1 or c1.2/s3.1."),
    ] = "calm-luxury",
    seed: Annotated[int | None, typer.Option(help="Seed: the same inputs and seed give the same video.")] = None,
    price: Annotated[float | None, typer.Option(help="Offer price shown on a price tag.")] = None,
    discount: Annotated[int | None, typer.Option(help="Discount percent shown on a badge.")] = None,
    resume: Annotated[str | None, typer.Option(help="Resume an interrupted run by its id.")] = None,
    stop_after: Annotated[
        str | None, typer.Option(help=f"Pause after this stage to inspect: {', '.join(STOP_AFTER)}.")
    ] = None,
    review: Annotated[
        bool, typer.Option("--review", help="Pause after the shot plan, before rendering, for a creative's review.")
    ] = False,
    approve: Annotated[
        bool, typer.Option("--approve", help="With --resume: approve a run waiting for review.")
    ] = False,
    edits: Annotated[
        str | None,
        typer.Option(
            help="With --resume: review edits as JSON or a .json file, e.g. "
            '{"headline": "...", "cta": "...", "voice_lines": {"1": "..."}, "shot_prompts": {"0": "..."}}.'
        ),
    ] = None,
    llm: Annotated[
        str | None,
        typer.Option(
            help="Run the agents on a chat model: openai:<model> "
            "(OPENAI_API_KEY, OPENAI_BASE_URL for vLLM/llama.cpp/Ollama)."
        ),
    ] = None,
    record: Annotated[Path | None, typer.Option(help="Store every model exchange of the run in this folder.")] = None,
    replay: Annotated[
        Path | None, typer.Option(help="Answer from exchanges recorded with --record; no network.")
    ] = None,
    runs_dir: RunsDir = None,
    width: Annotated[int | None, typer.Option(help="Video width.")] = None,
    height: Annotated[int | None, typer.Option(help="Video height.")] = None,
    fps: Annotated[int | None, typer.Option(help="Frames per second.")] = None,
    duration: Annotated[float | None, typer.Option(help="Length in seconds (4–120).")] = None,
    verbose: Verbose = False,
) -> None:
    """Generate an ad video for any Beauty catalog item (ids 0–12100) or your own product JSON."""
    try:
        if not product and not resume:
            raise RecgenError("give --product (or --resume RUN)")
        if stop_after and stop_after not in STOP_AFTER:
            raise RecgenError(f"--stop-after takes one of {', '.join(STOP_AFTER)}; got {stop_after!r}")
        policy = _policy(llm, record, replay)
        settings = _settings(runs_dir=runs_dir, width=width, height=height, fps=fps, duration_s=duration)
        decision = _review_decision(approve, edits)
        if decision is not None and not resume:
            raise RecgenError("--approve and --edits answer a run waiting for review; add --resume RUN")
    except RecgenError as e:
        _fail(e)
    _run(
        verbose,
        product=product,
        creative=creative,
        seed=seed,
        price=price,
        discount_pct=discount,
        resume=resume,
        stop_after=stop_after,
        review=review,
        decision=decision,
        settings=settings,
        policy=policy,
    )


def _policy(llm: str | None, record: Path | None, replay: Path | None):
    if not (llm or replay):
        return None
    from recgen.agents.llm_policy import LLMPolicy, chat_model_from_spec

    return LLMPolicy(chat_model_from_spec(llm) if llm else None, record_dir=record, replay_dir=replay)


def _review_decision(approve: bool, edits: str | None) -> dict | None:
    if approve and edits:
        raise RecgenError("give either --approve or --edits, not both")
    if approve:
        return {}
    if edits is None:
        return None
    text = Path(edits).read_text() if edits.strip().endswith(".json") and Path(edits).is_file() else edits
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise RecgenError(f"--edits is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from e
    if not isinstance(data, dict):
        raise RecgenError("--edits must be a JSON object")
    return data


@app.command()
def ui(
    runs_dir: RunsDir = None,
    host: BindHost = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="RECGEN_UI_TOKEN",
            help="Access token (required, and made for you if not given, when bound beyond loopback).",
        ),
    ] = None,
    allowed_host: Annotated[
        list[str] | None, typer.Option(help="A Host name the UI answers to besides loopback (repeatable).")
    ] = None,
) -> None:
    """Open the trace UI: browse runs, see every plan, shot, sound and critic verdict, approve reviews and
    regenerate with another creative code. Serves http://127.0.0.1:8765 by default; works offline. It answers
    only its own user: requests from other sites are refused, and beyond loopback it needs its token."""
    try:
        settings = _settings(runs_dir=runs_dir)
    except RecgenError as e:
        _fail(e)
    from recgen.serving.guard import Guard, is_loopback
    from recgen.serving.ui import serve

    guard = Guard.for_bind(host, token, tuple(allowed_host or ()))
    link = f"http://{host}:{port}/" + (f"?token={guard.token}" if guard.token else "")
    if not is_loopback(host):
        err.print(f"[yellow]serving on {host}:[/yellow] anyone who has this link can see and start runs")
    err.print(f"recgen trace UI on {link}  (runs in {settings.runs_dir}; Ctrl+C stops)")
    serve(settings, guard, host=host, port=port)


@app.command()
def serve(
    grm: Annotated[
        Path | None,
        typer.Option(
            help="GRM checkpoint with creative codes (`recgen grm train --creative`); without "
            "it only product videos are served."
        ),  # fmt: skip
    ] = None,
    runs_dir: RunsDir = None,
    host: BindHost = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8766,
    token: Annotated[
        str | None,
        typer.Option(envvar="RECGEN_API_TOKEN", help="Bearer token (required beyond loopback; made if not given)."),
    ] = None,
    allowed_host: Annotated[list[str] | None, typer.Option(help="A Host name served besides loopback.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Videos made at once (each uses the render threads).")] = 1,
    queue_size: Annotated[int, typer.Option(min=1, help="Unfinished jobs held; past it requests get 503.")] = 32,
    job_timeout: Annotated[float, typer.Option(min=1, help="Seconds a job may run before it is stopped.")] = 900,
    cache_gb: Annotated[float | None, typer.Option(help="Evict least recently used videos past this size.")] = None,
    cache_days: Annotated[float | None, typer.Option(help="Evict videos made longer ago than this.")] = None,
    width: Annotated[int | None, typer.Option(help="Width of the videos made (default 720).")] = None,
    height: Annotated[int | None, typer.Option(help="Height of the videos made (default 1280).")] = None,
    duration: Annotated[float | None, typer.Option(help="Length of the videos made, seconds (default 15).")] = None,
) -> None:
    """Serve the HTTP API: POST /v1/users/{user}/video (the GRM's D-SID, answered from the video cache: hit,
    same product in another creative, or nearest product, with a job making the exact video), POST
    /v1/videos, GET /v1/jobs/{id}, GET /v1/videos/{id}, POST /v1/feedback. OpenAPI docs at /v1/docs. The
    cache, jobs and feedback live in the runs folder and survive restarts."""
    try:
        settings = _settings(runs_dir=runs_dir, width=width, height=height, duration_s=duration)
        from recgen.serving.api import serve as serve_api
        from recgen.serving.guard import Guard, is_loopback
        from recgen.serving.service import VideoService

        service = VideoService(
            settings, grm, workers=workers, capacity=queue_size, timeout_s=job_timeout,
            cache_max_bytes=int(cache_gb * 2**30) if cache_gb else None,
            cache_max_age_s=cache_days * 86400 if cache_days else None,
        )  # fmt: skip
    except RecgenError as e:
        _fail(e)
    guard = Guard.for_bind(host, token, tuple(allowed_host or ()))
    if not is_loopback(host):
        err.print(f"[yellow]serving on {host}:[/yellow] callers need the bearer token {guard.token}")
    err.print(f"recgen API on http://{host}:{port}/v1/docs  (runs in {settings.runs_dir}; Ctrl+C stops)")
    serve_api(service, guard, host=host, port=port)


def _batch_tasks(users: Path | None, products: Path | None, grm: Path | None, settings):
    """Tasks from a users file (one id a line; the GRM proposes each D-SID) or a products file (JSON lines
    {"product": id, "creative": preset or s-codes}, or 'id creative' lines)."""
    from recgen.serving.batch import Task
    from recgen.sid.semantics import load_sid_space

    if (users is None) == (products is None):
        raise RecgenError("give one of --users FILE or --products FILE")
    space = load_sid_space(settings.data_dir, settings.cache_dir, seed=0)
    lines = [(n, ln.strip()) for n, ln in enumerate(Path(users or products).read_text().splitlines(), 1)]
    lines = [(n, ln) for n, ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise RecgenError(f"{users or products} lists nothing")
    if users is not None:
        from recgen.serving.service import propose
        from recgen.sid.recommender import check_space, load_recommender

        if grm is None or not grm.is_file():
            raise RecgenError("--users needs --grm: a GRM checkpoint made by `recgen grm train --creative`")
        rec = load_recommender(grm)
        check_space(rec, space)
        out = []
        for _, user in lines:
            product, dsid, history = propose(rec, space, None, user)
            out.append(Task(product, dsid.content, dsid.creative, tuple(history[-50:])))
        return out
    out = []
    for n, ln in lines:
        try:
            row = (
                json.loads(ln)
                if ln.startswith("{")
                else dict(zip(("product", "creative"), ln.split(None, 1), strict=False))
            )
            product = space.catalog.get(str(row["product"]))
            dsid = space.dsid_for(product, str(row.get("creative") or "calm-luxury"))
            out.append(Task(product.id, dsid.content, dsid.creative))
        except (ValueError, KeyError, TypeError, RecgenError) as e:
            raise RecgenError(f"{products}, line {n}: {e}") from None
    return out


@app.command()
def batch(
    users: Annotated[Path | None, typer.Option(help="One user id a line; the GRM proposes each one's D-SID.")] = None,
    products: Annotated[
        Path | None, typer.Option(help='JSON lines {"product": id, "creative": style or s-codes}, or "id style" lines.')
    ] = None,
    grm: Annotated[Path | None, typer.Option(help="GRM checkpoint with creative codes (for --users).")] = None,
    executor: Annotated[str, typer.Option(help="local (this process) or ray (Ray Data actor pools).")] = "local",
    planners: Annotated[int, typer.Option(min=1, help="Ray: planning actors (a quarter CPU each).")] = 1,
    renderers: Annotated[
        int,
        typer.Option(
            min=0,
            help="Ray: rendering actors, each with a CPU (and GPU) share and the threads it pays for; 0: one "
            "per CPU, or one per GPU when shots are drawn on GPUs (RECGEN_VIDEO_BACKEND=diffusers).",
        ),
    ] = 0,
    runs_dir: RunsDir = None,
) -> None:
    """Make many videos into the serving cache (the one `recgen serve` answers from): each distinct D-SID
    once, videos already cached skipped, so running the same batch again finishes what a stopped one left.
    With --executor ray, planning, rendering and caching run as Ray Data actor pools on the cluster
    `ray.init()` finds (or a local one); rendering actors take a GPU share when there are GPUs."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from recgen.serving.batch import pending_tasks, run_batch

    try:
        settings = _settings(runs_dir=runs_dir)
        if executor not in ("local", "ray"):
            raise RecgenError(f"--executor {executor!r}: choose local or ray")
        tasks = _batch_tasks(users, products, grm, settings)
        todo, skipped = pending_tasks(tasks, settings)
        err.print(f"{len(todo) + skipped} distinct videos: {skipped} cached already, {len(todo)} to make ({executor})")
        cols = (TextColumn("videos"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.fields[rate]}"))  # fmt: skip
        with Progress(*cols, console=err) as bar:
            job = bar.add_task("videos", total=len(todo), rate="")
            started = time.perf_counter()

            def done(_key: str) -> None:
                bar.advance(job)
                n = bar.tasks[0].completed
                bar.update(job, rate=f"{60 * n / (time.perf_counter() - started):.1f} videos/min")

            report = run_batch(todo, settings, executor, planners=planners, renderers=renderers, on_done=done)
    except RecgenError as e:
        _fail(e)
    for key, why in report.failed:
        err.print(f"[red]failed[/red] {key}: {why}")
    err.print(f"made {report.made} videos in {report.seconds:.0f} s ({report.per_minute:.1f}/min); "
              f"{len(report.failed)} failed; cache: {settings.runs_dir / 'serving' / 'cache'}")  # fmt: skip
    if report.failed:
        raise typer.Exit(1)


@app.command()
def styles() -> None:
    """List the creative style presets and the D-SID each one encodes to."""
    from rich.table import Table

    from recgen.sid.creative import PRESETS
    from recgen.sid.semantics import load_sid_space

    s = _settings()
    space = load_sid_space(s.data_dir, s.cache_dir)
    table = Table("preset", "D-SID (creative)", "mood", "music", "description")
    for name, p in PRESETS.items():
        codes = space.resolve_creative(name)
        table.add_row(name, "s" + ".".join(map(str, codes)), p.mood, p.music_genre, p.caption)
    Console().print(table)


@app.command()
def critique(
    run: Annotated[str, typer.Argument(help="The run id (a folder under the runs directory).")],
    video: Annotated[
        Path | None, typer.Option(help="An mp4 made from the run's plans (an edited export); default its final video.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    runs_dir: RunsDir = None,
) -> None:
    """Re-judge a run's video, or any mp4 made from its plans, with the critic's checks; no agent runs.
    Prints each failed check with the agent that owns it and what to do; exits 1 when a check fails, 2 on
    bad input. The report says which checks judged the file itself and which still read the plan."""
    from rich.table import Table

    from recgen.critique import critique as judge

    try:
        c = judge(run, _settings(runs_dir=runs_dir), video)
    except RecgenError as e:
        _fail(e)
    if as_json:
        print(json.dumps(c.as_json(), indent=1))
    else:
        out = Console()
        out.print(f"[bold]{c.video}[/bold] against run {c.run_id}'s plans")
        if c.passed:
            out.print("[green]every check passes[/green]")
        else:
            table = Table("check", "agent", "what is wrong", "fix")
            for v in c.violations:
                table.add_row(v.code, v.agent, v.message, v.fix)
            out.print(table)
        for n in c.notes:
            out.print(f"[dim]{n}[/dim]")
        out.print(f"[dim]judged from the file: {', '.join(c.from_file)}; from the plan: {', '.join(c.from_plan)}[/dim]")
    if not c.passed:
        raise typer.Exit(1)


@app.command()
def doctor(runs_dir: RunsDir = None) -> None:
    """Check what a run needs (ffmpeg able to encode H.264/AAC, fonts, voice, text encoder, run folder and
    free space, the critic's OCR and speech recognition); each problem is one line saying what to do.
    Exit code 1 when a run could not start."""
    from rich.table import Table

    from recgen.preflight import checks

    try:
        s = _settings(runs_dir=runs_dir)
    except RecgenError as e:
        _fail(e)
    found = checks(s)
    table = Table("", "check", "found / what to do")
    for c in found:
        if c.ok and not c.notice:
            mark = "[green]ok[/green]"
        else:
            mark = "[red]✗[/red]" if c.required and not c.ok else "[yellow]![/yellow]"
        table.add_row(mark, c.name, c.detail)
    Console().print(table)
    if any(c.required and not c.ok for c in found):
        err.print("[red]a run cannot start until the ✗ lines are fixed[/red]")
        raise typer.Exit(1)


sid_app = typer.Typer(help="Semantic IDs: fit codes and report their quality.", no_args_is_help=True)
grm_app = typer.Typer(help="The generative recommender: train, evaluate, recommend.", no_args_is_help=True)
app.add_typer(sid_app, name="sid")
app.add_typer(grm_app, name="grm")

Codes = Annotated[
    str,
    typer.Option(
        help="'shared' (the catalog's D-SID space: RQ-KMeans 3×256 over MiniLM text of every item's title, "
        "category path and brand, + a disambiguation code; what the agents decode and the cache is keyed by), "
        "'ours' (RQ-KMeans over collaborative embeddings of Beauty.inter.json's training split) "
        "or 'text' (the precomputed text-derived codes in tiger-repro/, another id order)."
    ),
]
Checkpoint = Annotated[Path, typer.Option(help="GRM checkpoint file.")]
ChainRanking = Annotated[
    bool,
    typer.Option(
        "--transitions/--no-transitions",
        help="Rank the beam's items together with what followed the user's latest items in training, "
        "log p_GRM + β·log p_chain, β chosen on the validation users (β = 0 if the chain does not help there; "
        "README, 'The GRM on Amazon Beauty').",
    ),
]

TrainDevice = Annotated[
    str,
    typer.Option(
        help="Where to train: 'auto' (CUDA when torch sees a GPU, else the CPU), 'cpu' or 'cuda' (an error "
        "when there is no GPU). The checkpoint loads on the CPU either way."
    ),
]


def _train_device(choice: str) -> str:
    from recgen.sid.grm_train import resolve_device

    try:
        return resolve_device(choice)
    except ValueError as e:
        _fail(RecgenError(str(e)))
        raise


def _counter(label: str) -> Progress:
    """A bar for a known number of steps (ads, epochs), counted and timed."""
    return Progress(TextColumn(label), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                    console=err)  # fmt: skip


def _fail(e: Exception) -> None:
    err.print(f"[red]error:[/red] {e}")
    raise typer.Exit(2)


@sid_app.command("fit")
def sid_fit(
    codes: Codes = "shared",
    users: Annotated[int, typer.Option(help="Only the first N users (0 = all; 'ours' and 'text').")] = 0,
) -> None:
    """Fit content codes and print collision rate, code usage per level and reconstruction error. The
    shared space (the default) is fitted once over the whole catalog and cached; its creative codes too."""

    from recgen.sid.data import leave_one_out, load_interactions
    from recgen.sid.recommender import CODE_SOURCES, dataset_paths, fit_item_codes
    from recgen.sid.semantics import load_sid_space

    s = _settings()
    try:
        if codes not in CODE_SOURCES:
            raise RecgenError(f"--codes is one of {', '.join(CODE_SOURCES)}; got {codes!r}")
        if codes == "shared":
            with err.status("the catalog's D-SID space (the first fit embeds every item: a few minutes)…") as st:
                space = load_sid_space(s.data_dir, s.cache_dir, on_status=st.update)
            report = {"space": space.name, "items": len(space.catalog), **space.report()}
        else:
            inter, code_path = dataset_paths(s.data_dir, codes)  # type: ignore[arg-type]
            data = load_interactions(inter)
            data = data.head(users) if users else data
            with err.status("fitting item codes…"):
                table, report = fit_item_codes(data, leave_one_out(data), codes, code_path)  # type: ignore[arg-type]
            report["levels"] = table.shape[1]
    except RecgenError as e:
        _fail(e)
    print(json.dumps(report, indent=2))


InteractionsFile = Annotated[
    Path | None,
    typer.Option(
        help="Another interactions file of Beauty's item ids ({user: [item, ...]}) instead of the data set's; a "
        "user with an empty list is a new user, offered the most popular D-SIDs (cold start)."
    ),
]


@grm_app.command("train")
def grm_train(
    out: Annotated[Path, typer.Option(help="Where to save the checkpoint.")] = Path("runs/grm/grm.pt"),
    codes: Codes = "shared",
    users: Annotated[int, typer.Option(help="Only the first N users (0 = all).")] = 0,
    epochs: Annotated[
        int, typer.Option(help="Most epochs; training stops early on validation (full Beauty: ~40 s each on 2 cores).")
    ] = 40,
    patience: Annotated[int, typer.Option(help="Epochs without a better validation NDCG@10 before stopping.")] = 6,
    min_epochs: Annotated[
        int | None, typer.Option(help="No early stop before this epoch (default: half of --epochs).")
    ] = None,
    d_model: int = 128,
    layers: int = 4,
    history: Annotated[
        str,
        typer.Option(
            help="'tokens': the GRM reads every code token of the history; 'items': one position per history "
            "item and a small item decoder writes the next item's codes (same accuracy on Beauty, 2.2× faster)."
        ),
    ] = "tokens",
    seen_bias: Annotated[
        bool,
        typer.Option(
            help="Learn a weight on how much of each code's items the user already has, so the GRM learns from "
            "the data whether users come back to items (Beauty: never). See README, 'seen bias'."
        ),
    ] = True,
    ema: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=0.9999,
            show_default="auto",
            help="Validate and keep an exponential moving average of the weights, this decay per step (0: off). "
            "Auto: 0.998 (+4–6 % on every metric over three seeds on full Beauty) when the run has at least "
            "1,000 steps; off for shorter runs such as a small --users slice, where the average would lag "
            "behind.",
        ),
    ] = None,
    lr: float = 2e-3,
    batch_size: int = 256,
    seed: int = 0,
    creative: Annotated[
        bool,
        typer.Option(
            help="Add creative codes per interaction (synthetic exposures) so the "
            "GRM predicts full D-SIDs; needed by `recgen demo --user`."
        ),
    ] = False,
    feedback: Annotated[
        bool,
        typer.Option(
            help="With --creative: the clicks logged in the runs folder's feedback store join their users' "
            "histories with the creative they clicked (`recgen feedback record`)."
        ),
    ] = False,
    transitions: ChainRanking = True,
    device: TrainDevice = "auto",
    interactions: InteractionsFile = None,
) -> None:
    """Train the GRM on Amazon Beauty (leave-one-out split) and save it with its config and item codes."""
    from recgen.sid.grm_train import TrainConfig

    config = TrainConfig(
        epochs=epochs, patience=patience, min_epochs=min_epochs, lr=lr, batch_size=batch_size, seed=seed, ema=ema,
        device=_train_device(device),
    )  # fmt: skip
    model = {"d_model": d_model, "n_layer": layers, "history": history, "seen_bias": seen_bias}
    if feedback and not creative:
        _fail(RecgenError("--feedback teaches the GRM's creative side; add --creative"))
    rec, report = _train_with_progress(out, codes, users, model, config, creative, feedback, transitions, interactions)
    averaged = f", weight EMA {report.ema}" if report.ema else ", no weight EMA"
    err.print(
        f"best epoch {report.best_epoch} of {report.epochs_run}{averaged}, {report.seconds:.0f}s: {report.best_valid}"
    )
    if rec.transitions is not None:
        err.print(f"item chain weight β = {rec.transitions.beta} (chosen on the validation users; 0 = beam alone)")
    print(out)


def _train_with_progress(
    out: Path,
    codes: str,
    users: int,
    model: dict,
    config,
    creative: bool,
    feedback=False,
    transitions=True,
    interactions: Path | None = None,
):
    from recgen.feedback import FeedbackStore
    from recgen.sid.recommender import train_recommender

    s = _settings()
    clicks = FeedbackStore(s.runs_dir).clicks() if feedback else None
    if feedback:
        err.print(f"{len(clicks)} logged click(s) join the histories")
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err
    ) as bar:
        task = bar.add_task("training", total=config.epochs)

        def on_epoch(epoch: int, row: dict) -> None:
            bar.update(
                task,
                completed=epoch,
                description=f"epoch {epoch} loss {row['loss']:.3f} "
                f"valid NDCG@10 {row.get('valid_ndcg@10', float('nan')):.4f}",
            )

        try:
            rec, report = train_recommender(
                s.data_dir,
                out,
                codes,
                users,
                model,
                config,
                on_epoch,
                creative=creative,
                cache_dir=s.cache_dir,
                clicks=clicks,
                transitions=transitions,
                on_status=lambda msg: bar.update(task, description=msg),
                interactions=interactions,
            )
        except RecgenError as e:
            _fail(e)
    return rec, report


@grm_app.command("eval")
def grm_eval(
    checkpoint: Checkpoint = Path("runs/grm/grm.pt"),
    beam: int = 20,
    exclude_seen: Annotated[
        bool, typer.Option(help="Neither model may recommend an item of the user's own history.")
    ] = False,
) -> None:
    """Recall@5/10 and NDCG@5/10 on the test split, next to popularity, by the same evaluation code."""
    from rich.table import Table

    from recgen.sid.recommender import evaluate_recommender, load_recommender

    try:
        with err.status("evaluating on the test split…"):
            results = evaluate_recommender(load_recommender(checkpoint), beam, exclude_seen)
    except RecgenError as e:
        _fail(e)
    table = Table("model", "Recall@5", "Recall@10", "NDCG@5", "NDCG@10")
    for name, m in results.items():
        table.add_row(name, *(f"{m[k]:.4f}" for k in ("recall@5", "recall@10", "ndcg@5", "ndcg@10")))
    Console().print(table)


@grm_app.command("recommend")
def grm_recommend(
    user: Annotated[str, typer.Option(help="User id of the interaction data.")],
    checkpoint: Checkpoint = Path("runs/grm/grm.pt"),
    k: int = 10,
    include_seen: Annotated[
        bool, typer.Option(help="Also list items the user already has (left out by default).")
    ] = False,
) -> None:
    """The user's history and the GRM's top-k next items with their semantic IDs (retrieval mode)."""
    from recgen.sid.recommender import load_recommender

    try:
        rec = load_recommender(checkpoint)
        hist = rec.history(user)
        items = rec.recommend(user, k, exclude_seen=not include_seen)
    except RecgenError as e:
        _fail(e)
    if len(hist):
        err.print(f"user {user}: {len(hist)} items, latest {hist[-5:].tolist()}")
    else:
        err.print(f"user {user} has no history yet: the catalog's most popular items, not a personal ranking")
    for rank, (item, code) in enumerate(items, 1):
        print(f"{rank:>2}. item {item:<6} SID {'.'.join(map(str, code))}")


rewards_app = typer.Typer(help="The critic's rewards: calibrate the constraints, train the feedback model.",
                          no_args_is_help=True)  # fmt: skip
app.add_typer(rewards_app, name="rewards")


@rewards_app.command("calibrate")
def rewards_calibrate(
    products: Annotated[
        str, typer.Option(help="Comma-separated catalog ids (default: the first 6 sample products).")
    ] = "",
    styles: Annotated[str, typer.Option(help="Comma-separated style presets (default: all of them).")] = "",
    out: Annotated[
        Path | None, typer.Option(help="Where to write it (default: your cache, which runs then use).")
    ] = None,
    width: Annotated[int | None, typer.Option(help="Calibrate at the size you generate at.")] = None,
    height: int | None = None,
    duration: Annotated[float | None, typer.Option(help="Seconds per ad.")] = None,
    runs_dir: RunsDir = None,
) -> None:
    """Run one baseline ad per product × style and set every constraint's threshold τ = μ + k·σ over their
    first drafts (k = 1.1 for the agents' rewards, 0.8 for instruction alignment); writes a JSON file the
    critic reads. Takes a few seconds per ad at small sizes, minutes at 720p."""
    from recgen.rewards.calibration import calibrate_file
    from recgen.rewards.combine import user_constraints
    from recgen.sid.creative import PRESETS
    from recgen.sid.semantics import load_sid_space

    s = _settings(width=width, height=height, duration_s=duration, runs_dir=runs_dir)
    ids = [p.strip() for p in products.split(",") if p.strip()]
    ids = ids or [p.id for p in load_sid_space(s.data_dir, s.cache_dir).catalog.products[:6]]
    presets = [p.strip() for p in styles.split(",") if p.strip()] or sorted(PRESETS)
    unknown = [p for p in presets if p not in PRESETS]
    if unknown:
        _fail(RecgenError(f"unknown style(s) {', '.join(unknown)}; see `recgen styles`"))
    target = out or user_constraints(s.cache_dir)
    jobs = [(i, p) for i in ids for p in presets]
    with _counter("baseline ads") as bar:
        task = bar.add_task("", total=len(jobs))
        try:
            c = calibrate_file(jobs, s, target, lambda: bar.advance(task))
        except (RecgenError, ValueError) as e:
            _fail(e)
    for name, t in c.thresholds.items():
        err.print(f"{name:<26} μ {t.mu:.3f}  σ {t.sigma:.3f}  k {t.k}  τ {t.tau:.3f}")
    print(target)


@rewards_app.command("update")
def rewards_update(
    file: Annotated[
        Path | None, typer.Option(help="The constraints file (default: your calibration, else a copy of recgen's).")
    ] = None,
    runs_dir: RunsDir = None,
) -> None:
    """One PID step of every constraint's multiplier λ over the runs finished since the last update: λ rises
    for a constraint the batch falls short of and falls back once it holds. The state is kept in the file."""
    import shutil

    from recgen.rewards.calibration import step_multipliers
    from recgen.rewards.combine import CONSTRAINTS_FILE, constraints_path, user_constraints
    from recgen.runs import finished_reports

    s = _settings(runs_dir=runs_dir)
    path = constraints_path(file, s.cache_dir)
    if path == CONSTRAINTS_FILE:  # the shipped calibration stays as shipped; the user's copy moves
        mine = user_constraints(s.cache_dir)
        mine.parent.mkdir(parents=True, exist_ok=True)
        path = Path(shutil.copyfile(CONSTRAINTS_FILE, mine))
    try:
        c, counted = step_multipliers(path, finished_reports(s.runs_dir))
    except (OSError, ValueError, KeyError) as e:
        _fail(RecgenError(f"cannot update {path}: {e}"))
    err.print(f"{len(counted)} new finished run(s) in {s.runs_dir}")
    for name, m in c.multipliers.items():
        err.print(f"{name:<26} λ {m.lam:.3f}  τ {c.thresholds[name].tau:.3f}")
    print(path)


@rewards_app.command("train-feedback")
def rewards_train_feedback(
    out: Annotated[
        Path | None, typer.Option(help="Where to save it (default: your cache, which runs then use).")
    ] = None,
    epochs: int = 4,
    seed: int = 0,
) -> None:
    """Train the feedback ranking model on the Beauty interactions (content side, LETTER's semantic IDs) and
    print its held-out AUC beside popularity's; the creative side comes from the feedback events logged in the
    runs folder (`recgen feedback record`), neutral when there are none."""
    from recgen.feedback import FeedbackStore, creative_effects
    from recgen.rewards.feedback import held_out_auc, train_from_data
    from recgen.rewards.feedback_cache import model_path

    s = _settings()
    out = out or model_path(s.cache_dir)
    effects = creative_effects(FeedbackStore(s.runs_dir))
    with _counter("epochs") as bar:
        task = bar.add_task("", total=epochs)
        try:
            model, info, split = train_from_data(s.data_dir, out, epochs, seed, lambda: bar.advance(task), effects)
        except RecgenError as e:
            _fail(e)
    err.print({**info, "creative_codes_with_feedback": len(effects), **held_out_auc(model, split)})
    print(out)


feedback_app = typer.Typer(help="Feedback events: what viewers did with the videos.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")


@feedback_app.command("record")
def feedback_record(
    file: Annotated[Path | None, typer.Argument(help="A JSON list or JSON-lines file of events.")] = None,
    event: Annotated[str | None, typer.Option(help="One event as JSON instead of a file.")] = None,
    runs_dir: RunsDir = None,
) -> None:
    """Store events (impression, click, watch with watch_seconds, like, purchase) for (user, run, D-SID) in
    the runs folder's feedback store. An event id already stored is skipped; a bad event stores nothing.

    Example event: {"event_id": "e1", "user": "42", "dsid": "c163.210.88.0/s3.1", "kind": "click", "item": 8}.
    Events about an item not in the catalog or codes outside its code spaces are refused."""
    from recgen.feedback import FeedbackStore, check_events, parse_events, read_events_file
    from recgen.sid.catalog import strict_json
    from recgen.sid.semantics import load_sid_space

    s = _settings(runs_dir=runs_dir)
    try:
        if (file is None) == (event is None):
            raise RecgenError("give a file of events or one --event, not both")
        given = read_events_file(file) if file is not None else None
        events = given or parse_events(strict_json(event or "", "--event"), "--event")
        check_events(events, load_sid_space(s.data_dir, s.cache_dir))
        done = FeedbackStore(s.runs_dir).record(events)
    except (RecgenError, OSError) as e:
        _fail(e)
    err.print(f"{done.added} event(s) stored, {done.duplicates} already there")


@feedback_app.command("show")
def feedback_show(runs_dir: RunsDir = None) -> None:
    """Per creative code: impressions, clicks, click rate, watch seconds per watch, and the creative effect
    the feedback reward learns from them."""
    from rich.table import Table

    from recgen.feedback import FeedbackStore, creative_effects

    store = FeedbackStore(_settings(runs_dir=runs_dir).runs_dir)
    stats, effects = store.by_creative(), creative_effects(store)
    t = Table("creative", "impressions", "clicks", "CTR", "s per watch", "effect (log-odds)")
    for code, a in sorted(stats.items()):
        shown = a.get("impression", 0.0)
        ctr = f"{a.get('click', 0.0) / shown:.3f}" if shown else "–"
        watch = f"{a['watch_seconds'] / a['watch']:.1f}" if a.get("watch") else "–"
        eff = f"{effects[code]:+.3f}" if code in effects else "–"
        t.add_row("s" + ".".join(map(str, code)), f"{shown:.0f}", f"{a.get('click', 0.0):.0f}", ctr, watch, eff)
    Console().print(t)


def main() -> None:  # pragma: no cover - console entry
    try:
        app()
    except RecgenError as e:
        err.print(f"[red]error:[/red] {e}")
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
