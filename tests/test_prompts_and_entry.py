"""Strict prompt templates, the installed entry point's error handling, and ffmpeg kept off stdin."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap

import pytest

from recgen.agents.llm_policy import ROLE_VARIABLES
from recgen.prompts import PromptError, check_template, load_template, render


def test_every_role_prompt_uses_only_what_its_role_fills():
    for role, names in ROLE_VARIABLES.items():
        text = render(f"roles/{role}.md", **{n: f"<{n}>" for n in names})
        assert "$" not in text.replace("$$", "") or role == "repair"
        assert all(f"<{n}>" in text for n in names if n in load_template(f"roles/{role}.md", names).template)


def test_a_placeholder_nobody_fills_is_an_error_not_prompt_text():
    with pytest.raises(PromptError, match="placeholder.*durration"):
        check_template("roles/x.md", "Shots sum to $durration seconds", frozenset({"duration"}))
    with pytest.raises(PromptError, match="not filled"):
        render("roles/visual.md", schema="{}", duration=4)  # beat missing


def test_installed_entry_point_turns_our_errors_into_one_line():
    entry = importlib.metadata.entry_points(group="console_scripts", name="recgen")
    assert [e.value for e in entry] == ["recgen.cli:main"]
    env = {**os.environ, "RECGEN_WIDTH": "not-a-number"}
    done = subprocess.run(
        [sys.executable, "-c", "from recgen.cli import main; main()", "styles"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert done.returncode == 2
    assert "error:" in done.stderr and "width" in done.stderr and "Traceback" not in done.stderr


def test_ffmpeg_in_the_mixer_leaves_the_callers_stdin_alone(tmp_path):
    """In a shell `while read` loop, an ffmpeg that reads stdin eats the next input line."""
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        from pathlib import Path
        from recgen.tools.mixer import encode_aac, write_wav
        tone = np.sin(np.arange(22050 * 120) / 9).astype("float32") * 0.3  # long enough for ffmpeg to poll
        wav = write_wav(Path({str(tmp_path)!r}) / "a.wav", tone, 22050)
        encode_aac(wav, Path({str(tmp_path)!r}) / "a.m4a")
        print(sys.stdin.read().split())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], input="line-one\nline-two\n", capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("['line-one', 'line-two']")
    assert (tmp_path / "a.m4a").stat().st_size > 0
