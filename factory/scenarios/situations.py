"""Situation writers: one or two sentences, in the seeker's voice, for a sampled persona and
problem. `template` composes one from the events in personas/situations.yaml (no model); `llm` asks a
backend to write one; `seeded` asks it to paraphrase a real seed (ESConv situations, ESC-Eval
role cards) and rejects any output that copies the seed, recording only where it came from."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from factory.backends.base import Backend, ChatRequest
from factory.errors import BackendError, DataFileError
from factory.models import SituationSource, Usage
from factory.prompts import ChatMessage, PromptTemplate
from factory.resources import json_records
from factory.scenarios.cues import TimePhrase
from factory.scenarios.events import slots_of
from factory.scenarios.rules import Range, meets
from factory.scenarios.sampler import PersonaDraw, PersonaSampler, available_slots
from factory.text import clean_utterance, shares_span, word_overlap, words

SITUATION_MAX_CHARS = 300
# A paraphrase that shares this many consecutive words with its seed, or most of its words,
# is a copy, not a paraphrase.
COPY_SPAN_WORDS = 6
COPY_OVERLAP = 0.6
ECHO_SPAN_WORDS = 5
FIRST_PERSON = frozenset({"i", "i'm", "i've", "i'd", "i'll", "my", "me", "myself", "mine"})
SECOND_PERSON = frozenset({"you", "you're", "you've", "your", "yours", "yourself"})


class TemplateWriter:
    """Composes a situation from the draw's event: the event, maybe one of its details, and
    a consequence that fits the emotion, with the slots filled from the person's own
    household, job and times (personas/situations.yaml). Free, instant, deterministic."""

    def __init__(self, sampler: PersonaSampler) -> None:
        self.sampler = sampler
        self.bank = sampler.bank

    def write(self, draw: PersonaDraw, rng: random.Random) -> tuple[str, SituationSource]:
        event = draw.event
        if event is None:
            raise DataFileError(f"no event was drawn for {draw.problem}: cannot fill a template")
        occupation = self.bank.occupations[str(draw.facts["occupation"])]
        available = available_slots(self.bank, occupation, draw.household, draw.about)
        problem = self.bank.situations.problems[draw.problem]
        fits = self.sampler.fits_reading
        details = [
            d for d in event.details if slots_of(d) <= available and fits(draw.facts, event.text, d)
        ]
        values, recency = self._values(draw, rng, occupation.slot_words())
        facts = draw.facts if recency is None else {**draw.facts, "recency_days": recency}
        consequences = [
            c
            for c in (*problem.consequences, *event.consequences)
            if c.fits(draw.emotion, event.id)
            and meets(facts, c.needs)
            and slots_of(c.text) <= available
            and fits(draw.facts, event.text, c.text)
        ]
        detail = rng.choice([*details, ""]) if details else ""
        consequence = rng.choice(consequences).text if consequences else ""
        text = _sentence(event.text + (f", {detail}" if detail else "")).format(**values)
        if consequence:
            text += " " + _sentence(consequence).format(**values)
        source = SituationSource(
            kind="template", method="filled", ref=f"situations.yaml:{draw.problem}/{event.id}"
        )
        return _capitalised(text), source

    def _values(
        self, draw: PersonaDraw, rng: random.Random, work: dict[str, str]
    ) -> tuple[dict[str, str], int | None]:
        """Every slot's value: times within the event's limits (a moment more recent than
        the stretch it falls in), the people from the household, the job's words; and the days
        since the most recent time the event itself names."""
        assert draw.event is not None
        times = self.bank.cues.times
        span = _phrase(rng, times.span, draw.event.span, None)
        when = _phrase(rng, times.when, draw.event.when, span.days)
        named = slots_of(draw.event.text)
        days = [p.days for slot, p in (("span", span), ("when", when)) if slot in named]
        recency = min(days) if days else None
        values = {"span": span.text, "when": when.text, "soon": rng.choice(times.soon).text}
        values |= work
        if draw.about is not None:
            values |= {"person": draw.about.words, **draw.about.forms}
        if draw.household.partner is not None:
            values["partner"] = draw.household.partner.words
        values["kids"] = "the kids"
        if draw.household.pet is not None:
            values["pet"] = draw.household.pet
        for slot, fillers in self.bank.situations.fillers.items():
            values[slot] = rng.choice(fillers)
        return values, recency


def _phrase(
    rng: random.Random, phrases: list[TimePhrase], limits: Range | None, longest: int | None
) -> TimePhrase:
    fitting = [
        p
        for p in phrases
        if (limits is None or p.days in limits) and (longest is None or p.days < longest)
    ]
    return rng.choice(
        fitting or [p for p in phrases if limits is None or p.days in limits] or phrases
    )


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def _capitalised(text: str) -> str:
    sentences = re.split(r"(?<=[.!?]) ", text)
    return " ".join(s[:1].upper() + s[1:] for s in sentences)


@dataclass(frozen=True)
class Seed:
    text: str
    problem: str | None
    kind: str  # "esconv" or "esc_eval"
    ref: str  # file:line, never the text


_ESCONV_ALIASES = {"issues with parents": "conflict with parents"}
_CARD_PROBLEM = re.compile(r"^Problem:\s*(.+)$", re.M)


def load_seeds(paths: list[Path]) -> list[Seed]:
    """Seeds from ESConv (.jsonl with `situation`, or FailedESConv-style .json lists) and
    ESC-Eval role cards (.json list with `base` holding a 'Problem:' line)."""
    seeds: list[Seed] = []
    for path in paths:
        if not path.is_file():
            raise DataFileError(
                f"seed file {path} not found: pass an ESConv .jsonl or an ESC-Eval card .json"
            )
        found = [seed for seed in _seeds_in(path)]
        if not found:
            raise DataFileError(
                f"{path}: no situations found (expected ESConv or ESC-Eval card records)"
            )
        seeds.extend(found)
    return seeds


def _seeds_in(path: Path) -> list[Seed]:
    seeds = []
    for number, row in json_records(path):
        if isinstance(row, DataFileError):
            raise row
        if not isinstance(row, dict):
            continue
        if isinstance(row.get("situation"), str) and row["situation"].strip():
            problem = str(row.get("problem_type", "")).strip().lower() or None
            problem = _ESCONV_ALIASES.get(problem or "", problem)
            seeds.append(Seed(row["situation"].strip(), problem, "esconv", f"{path.name}:{number}"))
        elif isinstance(row.get("base"), str) and (m := _CARD_PROBLEM.search(row["base"])):
            seeds.append(Seed(m.group(1).strip(), None, "esc_eval", f"{path.name}:{number}"))
    return seeds


class LLMSituationWriter:
    """Asks the backend for a situation (prompts/situation.jinja), or, given seeds, for a
    paraphrase of one (prompts/paraphrase.jinja); copies of the seed are rejected."""

    def __init__(
        self,
        backend: Backend,
        write_template: PromptTemplate,
        paraphrase_template: PromptTemplate,
        seeds: list[Seed] | None = None,
        temperature: float = 0.8,
        retries: int = 2,
    ) -> None:
        self.backend = backend
        self.write_template = write_template
        self.paraphrase_template = paraphrase_template
        self.seeds = seeds or []
        self.temperature = temperature
        self.retries = retries
        self.usage = Usage()
        self.fallbacks = 0
        self.refused: Counter[str] = Counter()

    @staticmethod
    def _refusal(text: str, messages: list[ChatMessage], seed: Seed | None) -> str | None:
        """Why an output cannot be a situation, or None if it can."""
        tokens = words(text)
        if len(tokens) < 5:
            return "too_short"
        if seed is not None:
            seed_words = words(seed.text)
            span = max(3, min(COPY_SPAN_WORDS, len(seed_words)))  # short seeds: copied whole
            if shares_span(text, seed.text, span) or word_overlap(text, seed.text) >= COPY_OVERLAP:
                return "copies_seed"  # real data must never reach the output
        prompt = "\n".join(m["content"] for m in messages)
        if seed is not None:
            prompt = prompt.replace(seed.text, "\n")
        if shares_span(text, prompt, ECHO_SPAN_WORDS):
            return "echoes_prompt"
        first = sum(w in FIRST_PERSON for w in tokens)
        second = sum(w in SECOND_PERSON for w in tokens)
        if not first:
            return "not_first_person"
        if second >= first:
            return "speaks_to_someone"  # a supporter's voice, not the seeker's
        return None

    def _seed_for(self, draw: PersonaDraw, rng: random.Random) -> Seed | None:
        """A seed of the draw's problem type, or an unlabelled one (an ESC-Eval card); with
        neither, the situation is written without a seed."""
        matching = [s for s in self.seeds if s.problem in (draw.problem, None)]
        return rng.choice(matching) if matching else None

    async def write(
        self,
        draw: PersonaDraw,
        rng: random.Random,
        implausible: Callable[[str], str | None] | None = None,
    ) -> tuple[str, SituationSource] | None:
        """A situation for the draw, or None when every try was refused (the caller falls
        back to a template). `implausible` names a plausibility rule an output breaks."""
        seed = self._seed_for(draw, rng)
        context = {
            "persona": draw.persona,
            "problem": draw.problem,
            "emotion": draw.emotion,
            "intensity": draw.intensity,
        }
        if seed is not None:
            messages = self.paraphrase_template.render(seed=seed.text, **context)
        else:
            messages = self.write_template.render(**context)
        call_seed = rng.randrange(2**31)
        for attempt in range(self.retries + 1):
            request = ChatRequest(
                messages=messages,
                max_tokens=96,
                temperature=self.temperature,
                top_p=0.95,
                stop=("\n\n",),
                seed=call_seed + attempt,
                agent="situation",
            )
            try:
                completion = await self.backend.complete(request)
            except BackendError as exc:
                self.usage.add(exc.usage)
                break
            self.usage.add(completion.usage)
            text = _two_sentences(clean_utterance(completion.text, SITUATION_MAX_CHARS))
            problem = self._refusal(text, messages, seed)
            if problem is None and implausible is not None and (rule := implausible(text)):
                problem = f"implausible:{rule}"
            if problem:
                self.refused[problem] += 1
                continue
            template = self.paraphrase_template if seed is not None else self.write_template
            if seed is not None:
                source = SituationSource(kind=seed.kind, ref=seed.ref, method="paraphrased")  # type: ignore[arg-type]
            else:
                source = SituationSource(kind="llm", method="written")
            return text, source.model_copy(update={"prompt_hash": template.sha256})
        self.fallbacks += 1
        return None


_SENTENCE = re.compile(r"[^.!?]+[.!?]+")


def _two_sentences(text: str) -> str:
    sentences = _SENTENCE.findall(text)
    return " ".join(s.strip() for s in sentences[:2]) if sentences else text
