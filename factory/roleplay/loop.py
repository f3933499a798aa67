"""The three-role loop. Each dialogue gets a plan first (its target length, who greets
first, the supporter's persona; see shape.py); then, exchange by exchange, the seeker writes,
the counselor picks a strategy for the phase the dialogue is in, and the supporter replies.
The dialogue closes when the seeker wants to stop (near its target) or reaches its target:
either way the supporter says goodbye, and the seeker may answer. A talk that repeats itself
stops as stalled. A failing agent ends the dialogue with `error:<kind>`; the dialogue is
still returned."""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

from factory import __version__
from factory.backends.base import Backend
from factory.models import (
    Dialogue,
    EndReason,
    Failure,
    GenerationInfo,
    Role,
    Scenario,
    Turn,
    Usage,
    Utterance,
)
from factory.prompts import PromptLibrary
from factory.roleplay.agent import AgentFailure
from factory.roleplay.config import RolePlaySource
from factory.roleplay.counselor import CounselorAgent
from factory.roleplay.mix import MixController, phase_targets, target_mix
from factory.roleplay.seeker import SeekerAgent, SeekerMove
from factory.roleplay.shape import (
    Phase,
    ShapeData,
    ShapeOverrides,
    draw_plan,
    message_count,
    phase_of,
    platform_constants,
    word_budget,
)
from factory.roleplay.supporter import SupporterAgent
from factory.roleplay.taxonomy import StrategyTaxonomy, load_taxonomy
from factory.roleplay.views import CounselorView, SeekerView, Stage, SupporterView, public_turns
from factory.secrets import scrub_text
from factory.text import words

ERROR_REASONS: dict[str, EndReason] = {
    "parse": "error:parse",
    "rejected": "error:rejected",
    "backend": "error:backend",
}

# A failed step keeps what the model said, for audit, but not a runaway reply whole.
RAW_OUTPUT_CHARS = 4000

# Offsets that give each agent call of a dialogue its own backend seed.
_SEED_STRIDE = 1000


def dialogue_id(scenario: Scenario, seed: int) -> str:
    """Stable id from the scenario's whole content and the run seed: a rerun finds (and skips)
    what it already wrote, and an edited scenario is a new dialogue, not a stale match."""
    key = f"{scenario.model_dump_json()}:{seed}"
    return "dlg-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def dialogue_seed(dlg_id: str) -> int:
    return int(hashlib.sha256(dlg_id.encode()).hexdigest()[:7], 16)


@dataclass
class RolePlay:
    """Everything needed to run dialogues; build once per run with `from_config`. The mix
    controller is shared by every dialogue the object runs (the run-level strategy mix)."""

    config: RolePlaySource
    taxonomy: StrategyTaxonomy
    seeker: SeekerAgent
    counselor: CounselorAgent
    supporter: SupporterAgent
    shape: ShapeData
    mix: MixController

    @classmethod
    def from_config(cls, config: RolePlaySource) -> RolePlay:
        rp, sampling = config.roleplay, config.sampling
        prompts_dir = Path(rp.prompts_dir) if rp.prompts_dir else None
        library = PromptLibrary(prompts_dir)
        labels = library.labels()
        taxonomy = load_taxonomy(rp.taxonomy)
        shape = ShapeData.load(rp.shape, prompts_dir)
        service = platform_constants(shape.platform)
        return cls(
            config=config,
            taxonomy=taxonomy,
            seeker=SeekerAgent(library.get("seeker"), labels, rp, sampling),
            counselor=CounselorAgent(library.get("counselor"), labels, rp, sampling, service),
            supporter=SupporterAgent(library.get("supporter"), labels, rp, sampling, service),
            shape=shape,
            mix=MixController(
                target_mix(rp.strategy_mix, taxonomy),
                by_phase=phase_targets(rp.strategy_mix, taxonomy)
                if rp.mix_scope == "phase"
                else {},
                enabled=rp.mix_control,
                tolerance=rp.mix_tolerance,
            ),
        )

    @property
    def content_hashes(self) -> dict[str, str]:
        """Hashes of every text that shapes a dialogue: the prompts, the taxonomy, the shape
        data and the target mix."""
        taxonomy = hashlib.sha256(self.taxonomy.model_dump_json().encode()).hexdigest()[:16]
        shape = hashlib.sha256(
            json.dumps(
                [
                    self.shape.profile.model_dump(mode="json"),
                    self.shape.phase_texts.model_dump(mode="json"),
                    [r.model_dump(mode="json") for r in self.shape.registers],
                    self.shape.supporters.model_dump(mode="json"),
                    self.shape.platform.model_dump(mode="json"),
                    self.mix.target,
                    self.mix.by_phase,
                ],
                sort_keys=True,
            ).encode()
        ).hexdigest()[:16]
        return {**self.prompt_hashes, "taxonomy": taxonomy, "shape": shape}

    @property
    def prompt_hashes(self) -> dict[str, str]:
        return {a.name: a.template.sha256 for a in (self.seeker, self.counselor, self.supporter)}

    async def run(self, backend: Backend, scenario: Scenario) -> Dialogue:
        dlg_id = dialogue_id(scenario, self.config.seed)
        talk = _Talk(self, backend, scenario, dlg_id)
        started = time.perf_counter()
        try:
            await talk.run()
        except AgentFailure as exc:
            talk.end_reason = ERROR_REASONS[exc.kind]
            # A refused request's message can quote the server's URL, credentials included.
            talk.failure = Failure(
                agent=exc.agent,
                message=scrub_text(str(exc)),
                raw_outputs=[scrub_text(raw[:RAW_OUTPUT_CHARS]) for raw in exc.raw_outputs],
            )
        return Dialogue(
            id=dlg_id,
            persona=scenario.persona,
            scenario=scenario.core(),
            turns=talk.turns,
            end_reason=talk.end_reason,
            failure=talk.failure,
            plan=talk.plan,
            supporter=talk.supporter_persona,
            generation=GenerationInfo(
                backend=backend.name,
                model=backend.model,
                seed=self.config.seed,
                taxonomy=self.taxonomy.name,
                prompt_hashes=self.prompt_hashes,
                usage=talk.usage,
                seconds=round(time.perf_counter() - started, 3),
                tool_version=__version__,
            ),
        )

    def menu(self, phase: Phase, turns: list[Turn]) -> tuple[list[str], tuple[str, ...]]:
        """The strategies the counselor may choose from now, and the one banned for running
        too long (if any, and not at the goodbye): the phase's rules, minus the ban (unless
        nothing would be left), narrowed by the mix control."""
        names = self.taxonomy.names
        phase_set = [n for n in names if n in self.taxonomy.phase_rules.get(phase, names)]
        # A goodbye may follow two "Others" turns: the run rule is for the talk, not the end.
        ban = self._banned(turns) if phase != "closing" else ()
        banned = tuple(b for b in ban if b in phase_set)
        allowed = [n for n in phase_set if n not in banned]
        if not allowed:
            allowed, banned = phase_set, ()
        return self.mix.trim(allowed, phase), banned

    def _banned(self, turns: list[Turn]) -> tuple[str, ...]:
        """The strategy that has just been used max_same_strategy_run times in a row, if any."""
        run = self.config.roleplay.max_same_strategy_run
        recent = [t.strategy for t in turns if t.role == "supporter"][-run:]
        if len(recent) == run and len(set(recent)) == 1 and recent[0] is not None:
            return (recent[0],)
        return ()

    def stalled(self, turns: list[Turn], role: Role) -> bool:
        """The newest `role` turn repeats one of its earlier turns (word-set Jaccard)."""
        mine = [set(words(t.text)) for t in turns if t.role == role]
        if len(mine) < 2:
            return False
        newest = mine[-1]
        threshold = self.config.roleplay.stall_similarity
        for earlier in mine[:-1]:
            union = newest | earlier
            if union and len(newest & earlier) / len(union) >= threshold:
                return True
        return False


class _Stop(Exception):
    """The dialogue stalled."""


class _Talk:
    """One dialogue in progress."""

    def __init__(self, play: RolePlay, backend: Backend, scenario: Scenario, dlg_id: str) -> None:
        self.play, self.backend, self.scenario = play, backend, scenario
        rp = play.config.roleplay
        self.base_seed = dialogue_seed(dlg_id)
        overrides = ShapeOverrides(
            min_exchanges=rp.min_exchanges,
            max_exchanges=rp.max_exchanges,
            target_exchanges=rp.target_exchanges,
            supporter_first_share=rp.supporter_first_share,
            closing_reply_share=rp.closing_reply_share,
        )
        self.plan, self.supporter_persona = draw_plan(
            play.shape, scenario.persona, overrides, random.Random(f"plan:{dlg_id}")
        )
        self.budgets = random.Random(f"words:{dlg_id}")
        self.turns: list[Turn] = []
        self.usage = Usage()
        self.intensity = scenario.initial_intensity
        self.end_reason: EndReason = "completed"
        self.failure: Failure | None = None
        self.step = 0

    def _seed(self) -> int:
        self.step += 1
        return self.base_seed + self.step * _SEED_STRIDE

    async def run(self) -> None:
        plan, rp, texts = self.plan, self.play.config.roleplay, self.play.shape.phase_texts
        target = plan.target_exchanges
        try:
            if plan.supporter_first:
                await self.supporter_turn("opening", 0)
            for exchange in range(target):
                last = exchange == target - 1
                phase = phase_of(exchange, target, self.play.shape.profile)
                may_close = exchange >= max(
                    rp.min_exchanges, target - self.play.shape.profile.close_window
                )
                if phase == "opening":
                    guidance = texts.text(
                        "opening", "seeker_reply" if plan.supporter_first else "seeker_first"
                    )
                elif last:
                    guidance = texts.last_seeker
                else:
                    parts = [texts.text(phase, "seeker")]
                    if phase == "action" and plan.seeker_asks_advice:
                        parts.append(texts.text("action", "seeker_advice"))
                    if may_close:
                        parts.append(texts.near_end)
                    guidance = " ".join(p for p in parts if p)
                # A greeting is short; an answer to the supporter's hello may say why they came.
                greeting = phase == "opening" and not plan.supporter_first
                budget_phase = "closing" if last else "opening" if greeting else phase
                move = await self.seeker_turn(
                    Stage(phase, exchange, target, guidance),
                    may_close or last,
                    budget_phase,
                    1 if last or greeting else None,
                )
                self.check_stall("seeker")
                closing = last or (move.wants_close and may_close)
                reply_phase = phase
                if closing:
                    reply_phase = "closing"
                elif phase == "opening" and plan.supporter_first:
                    # The supporter already said hello; its answer to "why I came" explores.
                    reply_phase = "exploration"
                await self.supporter_turn(reply_phase, exchange)
                self.check_stall("supporter")
                if closing:
                    self.end_reason = (
                        "seeker_closed" if move.wants_close and not last else "completed"
                    )
                    if plan.seeker_answers_closing:
                        stage = Stage(
                            "closing", exchange + 1, target, texts.text("closing", "seeker")
                        )
                        await self.seeker_turn(stage, True, "closing", 1)
                    return
        except _Stop:
            self.end_reason = "stalled"

    def check_stall(self, role: Role) -> None:
        if self.play.stalled(self.turns, role):
            raise _Stop

    async def seeker_turn(
        self, stage: Stage, may_close: bool, budget_phase: Phase, messages: int | None
    ) -> SeekerMove:
        profile = self.play.shape.profile
        count = messages or message_count(profile, self.budgets)
        budget = word_budget(
            "seeker",
            budget_phase,
            profile,
            self.budgets,
            self.scenario.persona.verbosity,
            messages=count,
        )
        view = SeekerView(
            self.scenario.persona,
            self.scenario.core(),
            self.intensity,
            public_turns(self.turns),
            may_close,
            stage=stage,
            words=budget,
            messages=count,
            register=self.plan.typing_style,
        )
        move = await self.play.seeker.act(self.backend, view, self._seed(), self.usage)
        self.intensity = move.intensity
        self.turns.append(
            Turn(
                role="seeker",
                text=move.text,
                intensity=move.intensity,
                utterances=[Utterance(text=m) for m in move.messages]
                if len(move.messages) > 1
                else None,
                phase=stage.phase,
                words=budget,
            )
        )
        return move

    async def supporter_turn(self, phase: Phase, exchange: int) -> None:
        play, texts = self.play, self.play.shape.phase_texts
        target = self.plan.target_exchanges
        menu, banned = play.menu(phase, self.turns)
        seed = self._seed()
        stage = Stage(phase, exchange, target, texts.text(phase, "counselor"))
        choice = await play.counselor.act(
            self.backend,
            CounselorView(
                play.taxonomy,
                public_turns(self.turns),
                banned,
                stage,
                tuple(menu),
                self.supporter_persona,
            ),
            seed,
            self.usage,
        )
        play.mix.observe([choice.strategy], phase)
        strategy = next(s for s in play.taxonomy.strategies if s.name == choice.strategy)
        budget = word_budget("supporter", phase, play.shape.profile, self.budgets, None)
        reply = await play.supporter.act(
            self.backend,
            SupporterView(
                public_turns(self.turns),
                strategy,
                Stage(phase, exchange, target, texts.text(phase, "supporter")),
                budget,
                self.supporter_persona,
            ),
            seed + 200,
            self.usage,
        )
        self.turns.append(
            Turn(
                role="supporter",
                text=reply,
                strategy=choice.strategy,
                rationale=choice.rationale,
                phase=phase,
                words=budget,
            )
        )
