"""The layout's rules, read from the source: no import cycles (lazy imports count), no layer importing one
above it, no function over 80 lines, and a vocabulary that fails at load time when an entry is missing."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from recgen.vocabulary import VocabularyError, parse_vocabulary

ROOT = Path(__file__).resolve().parent.parent / "recgen"
# layer → the layers it must not import
FORBIDDEN = {
    "recgen.tools": ("recgen.agents", "recgen.graphs", "recgen.serving", "recgen.rewards"),
    "recgen.rewards": ("recgen.agents", "recgen.graphs", "recgen.serving"),
    "recgen.sid": ("recgen.agents", "recgen.graphs", "recgen.serving", "recgen.tools", "recgen.rewards"),
    "recgen.agents": ("recgen.graphs", "recgen.serving"),
}


def _modules() -> dict[str, Path]:
    out = {}
    for f in ROOT.rglob("*.py"):
        name = ".".join(f.relative_to(ROOT.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = f
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found |= {base} | {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m in known and m != name}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: _imports(m, f, set(mods)) for m, f in mods.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def _in(module: str, layer: str) -> bool:
    return module == layer or module.startswith(layer + ".")


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_layer_imports_one_above_it():
    upward = [
        f"{a} -> {b}"
        for a, imported in _graph().items()
        for b in imported
        for low, high in FORBIDDEN.items()
        if _in(a, low) and any(_in(b, h) for h in high)
    ]
    assert upward == []


def test_the_grm_imports_without_the_agents_renderer_or_langgraph():
    """A training job or the recommender loads `recgen.sid` alone (and runs where only torch and pydantic are
    installed, e.g. a GPU machine); the package's public names still load on first use."""
    code = (
        "import sys, recgen.sid.grm_train, recgen.sid.transitions, recgen.sid.baselines\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('langgraph', 'langchain_core', 'cv2', "
        "'pyloudnorm', 'imageio_ffmpeg') or m.startswith(('recgen.agents', 'recgen.graphs', 'recgen.tools')))\n"
        "print(heavy)\n"
        "import recgen\n"
        "print(recgen.Settings.__name__, 'recgen.generate' in sys.modules, recgen.generate_video.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "Settings False generate_video"


def test_planning_imports_without_torch_or_the_audio_measures():
    """A batch's planning worker imports the graph but runs no critic or mixer: torch (the feedback model) and
    scipy.signal (loudness, resampling) load where a render first needs them, or in `load_for_render`."""
    code = (
        "import sys, recgen.generate, recgen.serving.batch\n"
        "heavy = ('torch', 'scipy.signal', 'pyloudnorm', 'rapidocr', 'faster_whisper')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]"


def test_no_function_over_80_lines():
    long = [
        f"{m}.{n.name} ({n.end_lineno - n.lineno + 1} lines)"
        for m, f in _modules().items()
        for n in ast.walk(ast.parse(f.read_text(encoding="utf-8")))
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.end_lineno - n.lineno + 1 > 80
    ]
    assert long == []


def _vocab() -> dict:
    return json.loads(files("recgen.prompts").joinpath("vocabulary.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda v: v["moods"]["calm"].pop("transition"), "moods.calm.transition"),
        (lambda v: v["presets"]["calm-luxury"].update(mood="sleepy"), "unknown mood 'sleepy'"),
        (lambda v: v["moods"]["bold"]["hooks"].append("Hi {nmae}"), "unknown placeholder(s) ['nmae']"),
        (lambda v: v["presets"]["bold-discount"]["style"].pop(), "style needs 9 values"),
        (lambda v: v["structures"].update({"3": ["hook", "cta", "product"]}), "structure 3"),
        (lambda v: v["roles"].pop("proof"), "roles"),
        (lambda v: v["copy"]["family_words"].pop("beauty"), "fallback family 'beauty'"),
    ],
)
def test_vocabulary_fails_at_load_naming_the_entry(change, message):
    data = _vocab()
    change(data)
    with pytest.raises(VocabularyError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse_vocabulary(data)


def test_shipped_vocabulary_loads_and_a_new_mood_is_one_entry():
    data = _vocab()
    data["moods"]["dreamy"] = {**data["moods"]["calm"], "hooks": ["Drift into your {ritual}."], "cta": "See it"}
    data["presets"]["dreamy-haze"] = {**data["presets"]["calm-luxury"], "mood": "dreamy"}
    v = parse_vocabulary(data)
    assert v.presets["dreamy-haze"].mood == "dreamy" and v.moods["dreamy"].background == "spotlight"
