"""The three-role loop: seeker speaks, counselor picks a strategy, supporter replies, until
the seeker closes (after min_exchanges), max_exchanges is reached, or the talk stalls.
A failing agent ends the dialogue with `error:<kind>`; the dialogue is still returned."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from factory import __version__
from factory.backends.base import Backend
from factory.models import Dialogue, EndReason, Failure, GenerationInfo, Role, Scenario, Turn, Usage
from factory.prompts import PromptLibrary
from factory.roleplay.agent import AgentFailure
from factory.roleplay.config import RolePlaySource
from factory.roleplay.counselor import CounselorAgent
from factory.roleplay.seeker import SeekerAgent
from factory.roleplay.supporter import SupporterAgent
from factory.roleplay.taxonomy import StrategyTaxonomy, load_taxonomy
from factory.roleplay.views import CounselorView, SeekerView, SupporterView, public_turns
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
    """Everything needed to run dialogues; build once per run with `from_config`."""

    config: RolePlaySource
    taxonomy: StrategyTaxonomy
    seeker: SeekerAgent
    counselor: CounselorAgent
    supporter: SupporterAgent

    @classmethod
    def from_config(cls, config: RolePlaySource) -> RolePlay:
        rp, sampling = config.roleplay, config.sampling
        library = PromptLibrary(Path(rp.prompts_dir) if rp.prompts_dir else None)
        labels = library.labels()
        return cls(
            config=config,
            taxonomy=load_taxonomy(rp.taxonomy),
            seeker=SeekerAgent(library.get("seeker"), labels, rp, sampling),
            counselor=CounselorAgent(library.get("counselor"), labels, rp, sampling),
            supporter=SupporterAgent(library.get("supporter"), labels, rp, sampling),
        )

    @property
    def content_hashes(self) -> dict[str, str]:
        """Hashes of every text that shapes a dialogue: the prompts and the taxonomy."""
        taxonomy = hashlib.sha256(self.taxonomy.model_dump_json().encode()).hexdigest()[:16]
        return {**self.prompt_hashes, "taxonomy": taxonomy}

    @property
    def prompt_hashes(self) -> dict[str, str]:
        return {a.name: a.template.sha256 for a in (self.seeker, self.counselor, self.supporter)}

    async def run(self, backend: Backend, scenario: Scenario) -> Dialogue:
        rp = self.config.roleplay
        dlg_id = dialogue_id(scenario, self.config.seed)
        base_seed = dialogue_seed(dlg_id)
        usage = Usage()
        turns: list[Turn] = []
        intensity = scenario.initial_intensity
        end_reason: EndReason = "max_turns"
        failure: Failure | None = None
        started = time.perf_counter()
        try:
            for exchange in range(rp.max_exchanges):
                call_seed = base_seed + exchange * _SEED_STRIDE
                may_close = exchange >= rp.min_exchanges
                seeker_view = SeekerView(
                    scenario.persona, scenario.core(), intensity, public_turns(turns), may_close
                )
                move = await self.seeker.act(backend, seeker_view, call_seed, usage)
                intensity = move.intensity
                turns.append(Turn(role="seeker", text=move.text, intensity=move.intensity))
                if self._stalled(turns, "seeker"):
                    end_reason = "stalled"
                    break
                if move.wants_close and may_close:
                    end_reason = "seeker_closed"
                    break
                banned = self._banned(turns)
                choice = await self.counselor.act(
                    backend,
                    CounselorView(self.taxonomy, public_turns(turns), banned),
                    call_seed + 100,
                    usage,
                )
                strategy = next(s for s in self.taxonomy.strategies if s.name == choice.strategy)
                reply = await self.supporter.act(
                    backend, SupporterView(public_turns(turns), strategy), call_seed + 200, usage
                )
                turns.append(
                    Turn(
                        role="supporter",
                        text=reply,
                        strategy=choice.strategy,
                        rationale=choice.rationale,
                    )
                )
                if self._stalled(turns, "supporter"):
                    end_reason = "stalled"
                    break
        except AgentFailure as exc:
            end_reason = ERROR_REASONS[exc.kind]
            # A refused request's message can quote the server's URL, credentials included.
            failure = Failure(
                agent=exc.agent,
                message=scrub_text(str(exc)),
                raw_outputs=[scrub_text(raw[:RAW_OUTPUT_CHARS]) for raw in exc.raw_outputs],
            )
        return Dialogue(
            id=dlg_id,
            persona=scenario.persona,
            scenario=scenario.core(),
            turns=turns,
            end_reason=end_reason,
            failure=failure,
            generation=GenerationInfo(
                backend=backend.name,
                model=backend.model,
                seed=self.config.seed,
                taxonomy=self.taxonomy.name,
                prompt_hashes=self.prompt_hashes,
                usage=usage,
                seconds=round(time.perf_counter() - started, 3),
                tool_version=__version__,
            ),
        )

    def _banned(self, turns: list[Turn]) -> tuple[str, ...]:
        """The strategy that has just been used max_same_strategy_run times in a row, if any."""
        run = self.config.roleplay.max_same_strategy_run
        recent = [t.strategy for t in turns if t.role == "supporter"][-run:]
        if len(recent) == run and len(set(recent)) == 1 and recent[0] is not None:
            return (recent[0],)
        return ()

    def _stalled(self, turns: list[Turn], role: Role) -> bool:
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
