"""LLM policy driven by scripted chat models: valid answers, repair, fallback, retry, record/replay."""

import json

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from recgen import generate_video
from recgen.agents.llm_policy import LLMPolicy, ReplayMissError, extract_json

ROLES = {
    "Role: the Instruction model": "brief",
    "Role: the Visual Planning agent": "visual",
    "Role: the Audio Alignment agent": "audio_plan",
    "Role: the Artistic Effects agent": "effects",
    "Role: the critic": "critic",
}


def critic_answer(messages) -> str:
    """What the built-in critic would decide from the violations in the prompt."""
    from recgen.agents.critic import builtin_critique
    from recgen.schemas import Violation

    found = json.loads(messages[1].content).get("violations") or []
    return builtin_critique(tuple(Violation(**v) for v in found)).model_dump_json()


class ScriptedModel:
    """Answers each role with a given plan's JSON; records every prompt; can fail first."""

    def __init__(self, plans: dict, fail_first: BaseException | None = None, junk_first: bool = False) -> None:
        self.plans, self.fail_first, self.junk_first = plans, fail_first, junk_first
        self.prompts: list[list] = []

    def invoke(self, messages):
        self.prompts.append(messages)
        if self.fail_first is not None:
            e, self.fail_first = self.fail_first, None
            raise e
        if self.junk_first:
            self.junk_first = False
            return AIMessage(content="Sure! Here is the plan: {shots: [oops")
        role = next(v for k, v in ROLES.items() if k in messages[0].content)
        if role == "critic":
            return AIMessage(content=critic_answer(messages))
        return AIMessage(content="```json\n" + json.dumps(self.plans[role]) + "\n```")


def replay(rec_dir, settings, runs_dir):
    """The reference case again, answered only from a recording, in another run store."""
    s = settings.model_copy(update={"runs_dir": runs_dir})
    return generate_video("0", "playful-pastel", settings=s, seed=1, policy=LLMPolicy(replay_dir=rec_dir))


@pytest.fixture(scope="module")
def reference(tmp_path_factory, cache_dir):
    from .conftest import small_settings

    s = small_settings(tmp_path_factory.mktemp("ref"), cache_dir)
    r = generate_video("0", "playful-pastel", settings=s, seed=1)
    return {k: getattr(r.state, k).model_dump(mode="json") for k in ROLES.values() if k != "critic"}


def test_valid_answers_drive_the_whole_graph_and_prompts_carry_the_context(small, reference):
    model = ScriptedModel(reference)
    r = generate_video("0", "playful-pastel", settings=small, seed=1, policy=LLMPolicy(model))
    for key in reference:
        assert getattr(r.state, key).model_dump(mode="json") == reference[key]
    assert not r.state.notes and r.final_path.is_file()
    by_role = {next(v for k, v in ROLES.items() if k in m[0].content): m[1].content for m in model.prompts}
    assert "playful-pastel" in by_role["brief"]  # decoded semantics reach the instruction model
    assert '"brief"' in by_role["visual"] and '"visual"' in by_role["audio_plan"]  # earlier outputs, appended
    assert "voice_timing" in by_role["effects"]


def test_junk_answers_repair_then_fall_back_and_say_so(small):
    junk = GenericFakeChatModel(messages=iter(["no json here"] * 2 + ['{"bad": 1}'] * 40))
    r = generate_video("0", "clean-clinical", settings=small, policy=LLMPolicy(junk))
    assert r.final_path.is_file()
    assert {n.split(":")[0] for n in r.state.notes} >= {"instruction", "visual", "audio", "effects", "critic"}
    record = json.loads((r.run_dir / "run.json").read_text())
    assert any("built-in policy decided" in n for n in record["notes"])


def test_one_repair_turn_shows_the_model_its_error(small, reference):
    model = ScriptedModel(reference, junk_first=True)
    r = generate_video("0", "playful-pastel", settings=small, seed=1, policy=LLMPolicy(model))
    assert not r.state.notes  # repaired, no fallback
    repair = model.prompts[1]
    assert len(repair) == 4 and "could not be used" in repair[-1].content and "JSON" in repair[-1].content


def test_timeouts_are_retried(small, reference):
    model = ScriptedModel(reference, fail_first=TimeoutError("read timed out"))
    r = generate_video("0", "playful-pastel", settings=small, seed=1, policy=LLMPolicy(model, backoff=0.01))
    assert not r.state.notes and r.state.brief.model_dump(mode="json") == reference["brief"]


def test_record_then_replay_reproduces_the_plan_offline(small, reference, tmp_path):
    rec_dir = tmp_path / "exchanges"
    a = generate_video(
        "0", "playful-pastel", settings=small, seed=1, policy=LLMPolicy(ScriptedModel(reference), record_dir=rec_dir)
    )
    files = sorted(rec_dir.glob("*.json"))
    names = [f.name.split("_", 1)[1] for f in files]
    assert names[:5] == ["instruction.json", "visual.json", "audio.json", "effects.json", "critic.json"]
    assert json.loads(files[0].read_text())["messages"][0]["type"] == "system"
    b = replay(rec_dir, small, tmp_path / "b")
    for key in reference:
        assert getattr(a.state, key) == getattr(b.state, key)
    assert a.state.reports == b.state.reports
    with pytest.raises(ReplayMissError, match="record again"):
        generate_video(
            "3",
            "bold-discount",
            settings=small.model_copy(update={"runs_dir": tmp_path / "c"}),
            policy=LLMPolicy(replay_dir=rec_dir),
        )


def test_extract_json():
    assert json.loads(extract_json('text ```json\n{"a": 1}\n``` more')) == {"a": 1}
    assert json.loads(extract_json('prefix {"a": {"b": 2}} suffix')) == {"a": {"b": 2}}
    with pytest.raises(ValueError, match="no JSON"):
        extract_json("nothing")


class ToolCallingModel(ScriptedModel):
    """Before answering as the audio agent, calls a tool outside its mask and one of its own; records the
    tools each role was bound to and the tool results it was sent."""

    def __init__(self, plans: dict) -> None:
        super().__init__(plans)
        self.bound: dict[str, set[str]] = {}
        self.tool_results: list = []

    def bind_tools(self, tools):
        model = self

        class Bound:
            def invoke(self, messages):
                role = next(v for k, v in ROLES.items() if k in messages[0].content)
                model.bound[role] = {t.name for t in tools}
                return model.invoke(messages)

        return Bound()

    def invoke(self, messages):
        role = next(v for k, v in ROLES.items() if k in messages[0].content)
        if role == "audio_plan" and messages[-1].type != "tool":
            self.prompts.append(messages)
            calls = [
                {"name": "text_to_video", "args": {"prompt": "a cat"}, "id": "c1"},
                {"name": "tts", "args": {"text": "Colour that lasts.", "rate": 1.0}, "id": "c2"},
            ]
            return AIMessage(content="", tool_calls=calls)
        if messages[-1].type == "tool":
            self.tool_results.append([m for m in messages if m.type == "tool"])
        return super().invoke(messages)


def test_tool_calls_are_masked_refused_and_reported(small, reference, tmp_path):
    model = ToolCallingModel(reference)
    rec = tmp_path / "rec"
    r = generate_video("0", "playful-pastel", settings=small, seed=1, policy=LLMPolicy(model, record_dir=rec))
    effects_tools = {"typography", "cta_button", "sticker"}
    assert model.bound == {"visual": {"packshot_asset"}, "audio_plan": {"tts", "bgm"}, "effects": effects_tools}
    refused, measured = model.tool_results[0]
    assert refused.tool_call_id == "c1" and "refused" in refused.content and "tts" in refused.content
    assert measured.tool_call_id == "c2" and json.loads(measured.content)["seconds"] > 0.5
    calls = [c for c in r.state.tool_calls if c.agent == "audio" and c.tool == "text_to_video"]
    assert len(calls) == 1 and not calls[0].ok and calls[0].error.startswith("refused")
    assert "audio: the model called 'text_to_video', outside its tools; refused" in r.state.notes
    assert r.state.audio_plan.model_dump(mode="json") == reference["audio_plan"]  # it still answered
    assert r.final_path.is_file()

    # the tool exchange is part of the recording, and replays offline to the same plan
    audio_files = sorted(rec.glob("*_audio.json"))
    assert len(audio_files) == 2 and json.loads(audio_files[0].read_text())["response"]["tool_calls"][0]["id"] == "c1"
    b = replay(rec, small, tmp_path / "b")
    assert b.state.audio_plan == r.state.audio_plan and b.state.effects == r.state.effects
    assert any(c.tool == "text_to_video" and not c.ok for c in b.state.tool_calls)


class CriticModel(ScriptedModel):
    """Plans from the reference; as the critic, first answers `first` (then as the built-in critic would).
    With `drop_cta`, the first effects plan has no CTA (a hard violation)."""

    def __init__(self, plans: dict, first: dict, drop_cta: bool = False) -> None:
        super().__init__(plans)
        self.first, self.drop_cta, self.critic_calls = first, drop_cta, 0

    def invoke(self, messages):
        role = next(v for k, v in ROLES.items() if k in messages[0].content)
        self.prompts.append(messages)
        if role == "critic":
            self.critic_calls += 1
            if self.critic_calls <= (2 if self.drop_cta else 1):  # the answer, and its repair
                return AIMessage(content=json.dumps(self.first))
            return AIMessage(content=critic_answer(messages))
        if role == "effects" and self.drop_cta and "critic_fixes" not in messages[1].content:
            return AIMessage(content=json.dumps({**self.plans["effects"], "cta": None}))
        return AIMessage(content=json.dumps(self.plans[role]))


def test_llm_critic_can_send_a_clean_draft_back_with_its_own_instruction(small, reference):
    ask = {"verdict": "revise", "revise_agent": "effects", "instruction": "Make the CTA pop: accent colour."}
    model = CriticModel(reference, ask)
    r = generate_video("0", "playful-pastel", settings=small, seed=1, policy=LLMPolicy(model))
    first, last = r.state.reports[0], r.state.reports[-1]
    assert (first.verdict, first.revise_agent, first.instruction) == ("revise", "effects", ask["instruction"])
    assert not first.violations and last.verdict == "accept" and r.final_path.is_file()
    effects_prompts = [m[1].content for m in model.prompts if "Artistic Effects" in m[0].content]
    assert len(effects_prompts) == 2 and "critic_note" in effects_prompts[1] and "accent colour" in effects_prompts[1]


def test_llm_critic_cannot_accept_a_draft_that_breaks_a_constraint(small, reference):
    model = CriticModel(reference, {"verdict": "accept", "instruction": "looks great"}, drop_cta=True)
    r = generate_video("0", "playful-pastel", settings=small, seed=1, policy=LLMPolicy(model))
    first = r.state.reports[0]
    assert "cta_missing" in {v.code for v in first.violations}
    assert first.verdict == "revise" and first.revise_agent == "effects"  # the built-in decision stood in
    assert any(n.startswith("critic: the LLM's answer was unusable") and "revise" in n for n in r.state.notes)
    repair = [m for m in model.prompts if "Role: the critic" in m[0].content][1]
    assert "constraint(s) fail" in repair[-1].content
    assert r.state.reports[-1].verdict == "accept" and r.state.effects.cta is not None


def test_a_rendering_tool_inside_the_mask_is_not_run_while_planning():
    from recgen.agents.llm_tools import run_tool_call
    from recgen.agents.toolbox import ToolBox
    from recgen.tools.specs import PackshotArgs, RenderArgs, ToolSpec

    ran = []
    box = ToolBox(
        "visual",
        {
            "text_to_video": ToolSpec("text_to_video", "render", RenderArgs, ran.append),
            "packshot_asset": ToolSpec("packshot_asset", "draw", PackshotArgs, lambda a: None, lambda r: {}),
        },
    )
    notes: list[str] = []
    reply = run_tool_call(box, {"name": "text_to_video", "args": {"prompt": "x"}, "id": "t1"}, notes)
    assert not ran and reply.status == "error" and "runs after the plan" in reply.content
    assert not notes and not box.calls  # not a mask refusal: nothing recorded as refused
    reply = run_tool_call(box, {"name": "tts", "args": {"text": "Hi."}, "id": "t2"}, notes)
    assert "refused" in reply.content and box.calls[-1].error.startswith("refused") and notes


class CriticNaming(ScriptedModel):
    """Plans as the reference; the critic's first answer sends a clean draft to `agent`."""

    def __init__(self, plans: dict, agent: str) -> None:
        super().__init__(plans)
        self.agent = agent

    def invoke(self, messages):
        if "Role: the critic" in messages[0].content:
            self.prompts.append(messages)
            return AIMessage(
                content=json.dumps({"verdict": "revise", "revise_agent": self.agent, "instruction": "tighten it"})
            )
        return super().invoke(messages)


@pytest.mark.parametrize("agent", ["instruct", "visual", "audio", "effects", "critic", "compose"])
def test_a_critic_naming_any_agent_still_ends_with_a_video(small, reference, agent):
    s = small.model_copy(update={"max_revisions": 1})
    r = generate_video("0", "playful-pastel", settings=s, seed=1, policy=LLMPolicy(CriticNaming(reference, agent)))
    assert r.final_path is not None and r.final_path.is_file()
    first = r.state.reports[0]
    if agent in ("instruct", "visual", "audio", "effects"):  # routed: that agent ran again for round 1
        assert first.verdict == "revise" and first.revise_agent == agent and len(r.state.drafts) == 2
    else:  # not an agent: the answer is invalid, repaired once, then the built-in critic decides
        assert first.verdict == "accept" and any("critic: the LLM's answer was unusable" in n for n in r.state.notes)


class HangingModel:
    """A chat model whose server accepts the request and never answers (a real loopback socket)."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/v1/chat/completions"

    def invoke(self, messages):
        import urllib.request

        urllib.request.urlopen(self.url, data=b"{}")  # no client timeout: only the policy's deadline ends it
        raise AssertionError("the hanging server answered")


@pytest.fixture()
def hanging_server():
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    held, stop = [], threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])  # accepted, read from by no one, answered never
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join(2)
    for c in held:
        c.close()
    srv.close()


def test_a_model_server_that_never_answers_cannot_hold_a_run(small, hanging_server):
    """Each decision has a deadline and the run a budget of LLM time; past them the built-in policy decides
    and the run's notes say so. Without them this run waited on its first agent for as long as the socket
    stayed open."""
    import time

    s = small.model_copy(update={"llm_decision_s": 1.0, "llm_run_s": 2.5})
    t0 = time.monotonic()
    r = generate_video("8", "fresh-botanical", settings=s, policy=LLMPolicy(HangingModel(hanging_server)))
    took = time.monotonic() - t0
    assert r.final_path.is_file() and r.status in ("done", "flagged")
    waited = [n for n in r.state.notes if "no answer within" in n]
    spent = [n for n in r.state.notes if "LLM time (2.5 s, settings.llm_run_s) is spent" in n]
    assert 2 <= len(waited) <= 3 and spent, r.state.notes
    assert took < 120, took  # the render itself is most of it; the model cost at most 2.5 s
