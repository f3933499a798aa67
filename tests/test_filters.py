"""Each filter on crafted dialogues, the recipe loader, the funnel runner and the ESConv import."""

import json
from pathlib import Path

import pytest

from factory.errors import ConfigError
from factory.filters import FILTERS
from factory.filters.pipeline import run_recipe
from factory.filters.recipe import load_recipe
from factory.models import Dialogue, GenerationInfo, Persona, ScenarioCore, Turn, Verdict
from tests.judging import judge_answer

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

SEEKER = [
    "I lost my job last week and I feel lost.",
    "I keep thinking about how I will pay the rent next month.",
    "My partner tries to help but I feel like a burden to everyone.",
    "Maybe I could call my old boss and ask about other openings.",
    "Thank you, I feel a bit calmer now and I have a plan.",
]
SUPPORTER = [
    "That sounds really hard. How are you coping with the news?",
    "Money worries on top of losing a job can feel overwhelming.",
    "It makes sense you feel that way, and you are not a burden.",
    "That sounds like a good first step that you can take tomorrow.",
    "I am glad you feel calmer. Take care of yourself tonight.",
]


def dialogue(
    seeker=SEEKER,
    supporter=SUPPORTER,
    intensities=(4, 4, 3, 3, 2),
    id="d1",
    end_reason="seeker_closed",
) -> Dialogue:
    turns = []
    for i, text in enumerate(seeker):
        turns.append(
            Turn(
                role="seeker", text=text, intensity=intensities[i] if i < len(intensities) else None
            )
        )
        if i < len(supporter):
            turns.append(Turn(role="supporter", text=supporter[i], strategy="Question"))
    return Dialogue(
        id=id,
        persona=Persona(
            id="p", name="Ana", age=30, gender="woman", occupation="nurse", style="plain"
        ),
        scenario=ScenarioCore(
            id="s",
            problem_type="job crisis",
            emotion_type="anxiety",
            initial_intensity=4,
            situation="I lost my job and I worry about how I will pay the rent.",
        ),
        turns=turns,
        end_reason=end_reason,
        generation=GenerationInfo(
            backend="scripted",
            model="m",
            seed=1,
            taxonomy="esconv",
            prompt_hashes={},
            tool_version="0",
        ),
    )


def verdict(name: str, d: Dialogue, **settings):
    cls = FILTERS[name]
    return cls(cls.Settings.model_validate(settings)).check_batch([d])[0].verdict


# Filters that embed with MiniLM (the `embed` extra); skipped where it is not installed.
NEEDS_EMBED = {"semantic_dedup", "emotion_consistency", "diversity"}


def needs_embed() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("faiss")


@pytest.mark.parametrize("name", list(FILTERS))
def test_a_good_dialogue_passes_every_filter(name):
    from factory.backends.scripted import ScriptedBackend
    from factory.filters.emotion_judge import EmotionJudgeFilter
    from factory.filters.judge import JudgeFilter

    if name in NEEDS_EMBED:
        needs_embed()
    if name == "judge":  # the default backend is the local model: a scripted judge instead
        backend = ScriptedBackend()
        backend.enqueue(judge_answer(moves=tuple((n, "Question") for n in (2, 4, 6, 8, 10))))
        flt = JudgeFilter(backend=backend)
    elif name == "emotion_judge":
        backend = ScriptedBackend()
        backend.enqueue('{"emotions_shown": ["anxiety"], "fit": 5, "reason": "Worried."}')
        flt = EmotionJudgeFilter(backend=backend)
    else:
        flt = FILTERS[name]()
    given = dialogue()
    outcome = flt.check_batch([given])[0]
    assert outcome.verdict.keep and outcome.verdict.filter == name, outcome.verdict
    assert outcome.dialogue == dialogue() and given == dialogue()  # nothing changed in place


def test_a_redacted_dialogue_is_a_new_object_and_the_given_one_is_untouched():
    # The pipeline writes a kept dialogue that comes back as the same object from its input
    # line, so a change must come back as a new object (filters/base.py).
    from factory.filters.pii_redact import PiiRedactFilter

    given = dialogue(seeker=[*SEEKER[:-1], "Mail me at ana.lopez@example.com."])
    outcome = PiiRedactFilter().check_batch([given])[0]
    assert outcome.verdict.reason == "pii_redacted" and outcome.dialogue is not given
    assert "example.com" in given.turns[-2].text + given.turns[-1].text
    assert all("example.com" not in t.text for t in outcome.dialogue.turns)


def test_a_filter_implements_check_and_the_base_maps_it_over_a_batch():
    from factory.filters.base import Filter, FilterSettings, Outcome

    class ShortIds(Filter[FilterSettings]):
        name = "short_ids"
        Settings = FilterSettings

        def check(self, d: Dialogue) -> Outcome:
            return self.keep(d) if len(d.id) < 3 else self.drop(d, "long_id", length=len(d.id))

    outcomes = ShortIds().check_batch([dialogue(id="a"), dialogue(id="abcd")])
    assert [(o.dialogue.id, o.verdict.reason) for o in outcomes] == [
        ("a", "ok"),
        ("abcd", "long_id"),
    ]
    assert (
        outcomes[1].verdict.details == {"length": 4} and outcomes[1].verdict.filter == "short_ids"
    )


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"end_reason": "error:parse"}, "generation_error"),
        ({"seeker": SEEKER[:2], "supporter": SUPPORTER[:1]}, "too_few_turns"),
        ({"seeker": [*SEEKER[:3], "", SEEKER[4]]}, "empty_turn"),
        (
            {
                "supporter": ["ok", "yes", "no", "ok", "sure"],
                "seeker": ["hi", "so", "and", "yes", "ok"],
            },
            "turns_too_short",
        ),
    ],
)
def test_structure(change, reason):
    assert verdict("structure", dialogue(**change)).reason == reason


def test_structure_alternation():
    d = dialogue()
    d.turns.insert(1, Turn(role="seeker", text="Also, one more thing happened today."))
    assert verdict("structure", d).reason == "broken_alternation"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("As an AI, I do not have feelings, but I understand.", "ai_self_reference"),
        ("I'm sorry, but I can't help with that.", "refusal"),
        ("Supporter: How are you feeling today?", "speaker_label"),
        ("*smiles warmly* That must be hard for you.", "stage_direction"),
        ('{"strategy": "Question", "rationale": "explore"}', "prompt_echo"),
        ("Reflect: you sound hurt and tired today.", "strategy_label"),
        ("<remarks> That sounds hard for you.", "prompt_echo"),
        ("{#1} That sounds hard for you.", "prompt_echo"),
    ],
)
def test_role_leakage(text, reason):
    supporter = [*SUPPORTER[:2], text, *SUPPORTER[3:]]
    v = verdict("role_leakage", dialogue(supporter=supporter))
    assert not v.keep and v.reason == reason and v.details["turn"] == 5


def test_seeker_offering_support_is_a_role_swap():
    seeker = [
        *SEEKER[:2],
        "You're not alone, I'm happy to help you find the best way.",
        *SEEKER[3:],
    ]
    v = verdict("role_leakage", dialogue(seeker=seeker))
    assert v.reason == "role_swap" and v.details["turn"] == 4


def test_parroting_the_other_speaker():
    seeker = [*SEEKER[:2], SUPPORTER[1] + " Yes.", *SEEKER[3:]]
    assert verdict("repetition", dialogue(seeker=seeker)).reason == "echoes_other_speaker"


def test_stalled_generation_is_dropped_unless_configured():
    assert verdict("structure", dialogue(end_reason="stalled")).reason == "generation_stalled"
    assert verdict("structure", dialogue(end_reason="stalled"), drop_stalled=False).keep


def test_role_leakage_spares_emphasis_and_human_phrasing():
    supporter = [
        *SUPPORTER[:2],
        "That is *not* your fault, and I cannot help with your court case but I can listen.",
        *SUPPORTER[3:],
    ]
    assert verdict("role_leakage", dialogue(supporter=supporter)).keep


def test_english():
    spanish = ["Perdí mi trabajo la semana pasada y estoy muy triste por eso"] * 5
    assert verdict("english", dialogue(seeker=spanish, supporter=spanish)).reason == "non_english"


def test_repetition_of_turns_and_loops():
    loop = "I'm so sorry to hear that, I am here for you."
    assert verdict("repetition", dialogue(supporter=[loop] * 5)).reason == "repeated_line"
    spread = [loop, SUPPORTER[1], loop, SUPPORTER[3], loop]  # never twice in a row
    v = verdict("repetition", dialogue(supporter=spread))
    assert v.reason == "repeated_turns" and v.details["role"] == "supporter"
    looping = [
        "I feel sad and I feel sad and I feel sad and I feel sad and I feel sad today",
        *SUPPORTER[1:],
    ]
    assert verdict("repetition", dialogue(supporter=looping)).reason == "looping_turn"
    thanks = dialogue(seeker=["Thanks.", *SEEKER[1:3], "Thanks.", "Thanks."])
    assert verdict("repetition", thanks).keep  # short courtesies may repeat


@pytest.mark.parametrize(
    "ending, keep",
    [
        ("I will call my boss and", False),
        ("Thank you,", True),  # a closing with a stray comma: ESConv's people type these
        ("You too, goodbye,", True),
        ("I will call my boss tomorrow,", False),
        ("Thank you, bye.", True),
        ("I hope so...", False),
        ('Tell them, "I am trying." It might help.', True),
        ('Tell them, "I am trying, and', False),
    ],
)
def test_truncation(ending, keep):
    # The seeker speaks last here (four supporter turns for five seeker turns).
    assert (
        verdict("truncation", dialogue(seeker=[*SEEKER[:4], ending], supporter=SUPPORTER[:4])).keep
        is keep
    )


def test_exact_and_near_duplicates():
    from factory.filters.exact_dedup import ExactDedupFilter
    from factory.filters.minhash_dedup import MinHashDedupFilter

    a = dialogue(id="a")
    copy = dialogue(id="b")
    copy.turns[0] = copy.turns[0].model_copy(
        update={"text": "I LOST my job last week, and I feel lost!"}
    )
    near = dialogue(
        id="c", seeker=[*SEEKER[:4], "Thank you so much, I feel calmer now and I have a plan."]
    )
    other = dialogue(
        id="d",
        seeker=[s + " Really." for s in reversed(SEEKER)],
        supporter=list(reversed(SUPPORTER)),
    )
    exact = ExactDedupFilter()
    assert [o.verdict.reason for o in exact.check_batch([a, copy, near, other])] == [
        "ok",
        "exact_duplicate",
        "ok",
        "ok",
    ]
    minhash = MinHashDedupFilter()
    outcomes = minhash.check_batch([a, near, other])
    assert [o.verdict.reason for o in outcomes] == ["ok", "near_duplicate", "ok"]
    assert outcomes[1].verdict.details["duplicate_of"] == "a"


@pytest.mark.parametrize(
    "intensities, reason",
    [
        ((4, 4, 3, 3, 2), "ok"),
        ((4, 4, 4, 4, 4), "no_improvement"),
        ((5, 5, 1, 1, 1), "implausible_jump"),
        ((4, 2, 1, 1, 1), "cured_too_fast"),
        ((4,), "no_intensity"),
        # A rise while the seeker tells something worse, then relief: judged from the peak.
        ((2, 3, 3, 2, 2), "ok"),
        ((2, 4, 4, 4, 4), "no_improvement"),
        ((3, 2, 2, 3, 3), "no_improvement"),
        # Only a first and a last rating (ESConv's survey): ESConv's own rule.
        ((3, None, None, None, 3), "no_improvement"),
        ((2, None, None, None, 4), "no_improvement"),
    ],
)
def test_intensity_trajectory(intensities, reason):
    assert verdict("intensity_trajectory", dialogue(intensities=intensities)).reason == reason


def test_intensity_steps_only_count_between_neighbouring_ratings():
    # An import rates only the first and last seeker turns: a drop of 4 over the whole talk is fine.
    assert verdict("intensity_trajectory", dialogue(intensities=(5, None, None, None, 1))).keep


def test_safety():
    crisis = [
        *SEEKER[:2],
        "Sometimes I think everyone would be better off if I just ended my life.",
        *SEEKER[3:],
    ]
    helped = [
        *SUPPORTER[:2],
        "I am worried about you. Please call a crisis line or talk to someone you trust tonight.",
        *SUPPORTER[3:],
    ]
    assert verdict("safety", dialogue(seeker=crisis)).reason == "crisis_without_help"
    assert verdict("safety", dialogue(seeker=crisis, supporter=helped)).reason == "crisis_flagged"
    harmful = [*SUPPORTER[:2], "Maybe no one would miss you anyway.", *SUPPORTER[3:]]
    assert verdict("safety", dialogue(seeker=crisis, supporter=harmful)).reason == "encourages_harm"
    idiom = [
        *SUPPORTER[:3],
        "Just go ahead and do it, and don't kill yourself over the small stuff.",
        SUPPORTER[4],
    ]
    assert verdict("safety", dialogue(supporter=idiom)).keep


def test_pii_is_redacted_not_dropped():
    from factory.filters.pii_redact import PiiRedactFilter

    seeker = [
        *SEEKER[:3],
        "Mail me at ana.b@example.org or call +1 415 555 0134, see www.example.org/me",
        SEEKER[4],
    ]
    outcome = PiiRedactFilter().check(dialogue(seeker=seeker))
    assert outcome.verdict.keep and outcome.verdict.reason == "pii_redacted"
    assert outcome.verdict.details == {"email": 1, "url": 1, "phone": 1}
    assert outcome.dialogue.turns[6].text == "Mail me at [EMAIL] or call [PHONE], see [URL]"


# -- recipes and the runner -----------------------------------------------------------------


def test_default_recipe_lists_every_filter_once():
    import yaml

    listed = [
        entry["use"]
        for entry in yaml.safe_load(Path(load_recipe("default").path).read_text())["filters"]
    ]
    assert listed == list(FILTERS)
    # The judges (they need a real model) and diversity selection (drops a share of everything
    # by design) are listed but off.
    off = {"judge", "emotion_judge", "diversity"}
    assert [name for name, _ in load_recipe("default").entries] == [
        n for n in FILTERS if n not in off
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("filters:\n  - use: nope\n", "unknown filter 'nope'"),
        (
            "filters:\n  - use: minhash_dedup\n    thresh: 0.5\n",
            "filters.0 (minhash_dedup): unknown key 'thresh' (allowed here: threshold",
        ),
        ("filters:\n  - use: structure\n    min_turns: -3\n", "filters.0 (structure): min_turns"),
        ("filters:\n  - use: structure\n    enabled: false\n", "no filter is enabled"),
        (
            "filters:\n  - use: safety\n    strict: true\n",
            "unknown key 'strict' (allowed here: none)",
        ),
        ("filters: [\n", "not valid YAML (while parsing a flow node)"),
        ("filterz: []\n", "a recipe is a mapping with a `filters:` list"),
    ],
)
def test_bad_recipes(tmp_path, text, message):
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_recipe(str(path))


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else r.model_dump_json()) + "\n" for r in rows)
    )
    return path


def test_runner_writes_kept_rejected_and_the_funnel(tmp_path):
    from factory.filters.report import read_report

    needs_embed()
    good = dialogue(id="good")
    copy = dialogue(id="copy")
    short = dialogue(id="short", seeker=SEEKER[:2], supporter=SUPPORTER[:1])
    source = write_jsonl(tmp_path / "in.jsonl", [good, "{not json", copy, short])
    report = run_recipe(source, load_recipe("default"), tmp_path / "out")
    kept = [json.loads(x) for x in (tmp_path / "out" / "kept.jsonl").read_text().splitlines()]
    rejected = [
        json.loads(x) for x in (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()
    ]
    assert [k["id"] for k in kept] == ["good"]
    assert len(kept[0]["verdicts"]) == len(load_recipe("default").entries) and all(
        v["keep"] for v in kept[0]["verdicts"]
    )
    reasons = {r.get("id", f"line {r.get('line')}"): r["verdicts"][-1]["reason"] for r in rejected}
    assert reasons == {
        "line 2": "malformed_input",
        "copy": "exact_duplicate",
        "short": "too_few_turns",
    }
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["counts"] == {
        "input_lines": 4,
        "dialogues": 3,
        "malformed": 1,
        "kept": 1,
        "rejected": 3,
        "kept_share": 0.3333,
    }
    structure = next(step for step in data["funnel"] if step["filter"] == "structure")
    assert structure == {
        **structure,
        "filter": "structure",
        "in": 3,
        "kept": 2,
        "dropped": 1,
        "drop_reasons": {"too_few_turns": 1},
    }
    assert report.kept == 1
    assert not list((tmp_path / "out").glob(".*partial"))
    assert read_report(tmp_path / "out" / "report.json") == report
    assert list(data) == [
        *("input", "recipe", "counts", "funnel", "summaries", "seconds", "embeddings")
    ]
    # The one dialogue that reached semantic dedup was embedded, into the store beside the input.
    assert data["embeddings"]["store"] == str(tmp_path / "embeddings" / "all-MiniLM-L6-v2")
    assert data["embeddings"]["stages"]["semantic_dedup"] == {"computed": 1, "reused": 0}
    assert list(structure) == [
        *("filter", "in", "kept", "dropped", "drop_reasons", "keep_reasons", "seconds")
    ]


def test_a_kept_line_is_its_input_line_with_the_verdicts_put_in():
    from factory.filters.lines import kept_line
    from factory.jsonl import model_line

    d = dialogue(
        seeker=[*SEEKER[:-1], 'She said "no" \u2014 it\u2019s fine\\ \u00e9t\u00e9 \U0001f600']
    )
    verdicts = [
        Verdict(filter="exact_dedup", keep=True, reason="ok"),
        Verdict(
            filter="minhash_dedup",
            keep=True,
            reason="ok",
            score=0.123,
            details={"near": {"of": ["a", 2, 2.5, None]}, "\u00e9": "\u00fc", "flag": True},
        ),
    ]
    judged = d.with_verdicts(verdicts)
    # A line as the project writes it (with or without a CRLF) gives model_line's bytes.
    for line in (model_line(d).encode(), model_line(d).rstrip("\n").encode() + b"\r\n"):
        assert kept_line(judged, line) == model_line(judged)
    # A line in another form keeps it (here: its null fields), with the verdicts in.
    other = d.model_dump_json().encode()
    spliced = kept_line(judged, other)
    assert spliced != model_line(judged) and spliced.endswith("}\n")
    assert json.loads(spliced) == {
        **json.loads(other),
        "verdicts": json.loads(model_line(judged))["verdicts"],
    }
    assert Dialogue.model_validate_json(spliced) == judged
    # So does a line with spaces after its separators (json.dumps' default form).
    spaced = json.dumps(d.model_dump(mode="json", exclude_none=True)).encode() + b"\n"
    spliced = kept_line(judged, spaced)
    assert spliced.startswith(spaced.decode()[:-4]) and '"verdicts": [{"filter":' in spliced
    assert Dialogue.model_validate_json(spliced) == judged
    # Verdicts already there, a second verdicts key, or no line: serialised again.
    earlier = model_line(d.with_verdicts(verdicts[:1])).encode()
    assert kept_line(judged, earlier) == model_line(judged)
    twice = other[:1] + b'"verdicts":[],' + other[1:]
    assert kept_line(judged, twice) == model_line(judged)
    assert kept_line(judged, spaced[:1] + b'"verdicts": [], ' + spaced[1:]) == model_line(judged)
    assert kept_line(judged, None) == model_line(judged)


def test_a_dialogue_a_filter_changed_is_written_changed(tmp_path):
    from factory.jsonl import model_line

    plain = dialogue(id="plain")
    mailed = dialogue(id="mailed", seeker=[*SEEKER[:-1], "Write to me at ana.lopez@example.com."])
    source = tmp_path / "in.jsonl"
    source.write_text(plain.model_dump_json() + "\n" + model_line(mailed))
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\nfilters:\n  - use: pii_redact\n  - use: exact_dedup\n")
    run_recipe(source, load_recipe(str(recipe)), tmp_path / "out")
    first, second = (tmp_path / "out" / "kept.jsonl").read_text().splitlines()
    # Unchanged: its own line (nulls and all) with the verdicts; changed: the redacted text.
    assert first.startswith(plain.model_dump_json()[:-3]) and '"failure":null' in first
    redacted = Dialogue.model_validate_json(second)
    assert "example.com" not in second and redacted.verdicts[0].reason == "pii_redacted"
    assert second + "\n" == model_line(redacted)


def test_filter_cli(cli, tmp_path):
    needs_embed()
    source = write_jsonl(tmp_path / "in.jsonl", [dialogue(id="a"), dialogue(id="b"), "garbage"])
    result = cli("filter", str(source), "--out", str(tmp_path / "out"))
    assert result.code == 0, result.err
    assert "exact_dedup" in result.out and "kept 1 of 2 dialogues (50.0%)" in result.out
    assert "in.jsonl:3: malformed dialogue put in rejected.jsonl" in result.err
    missing = cli("filter", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o2"))
    assert missing.code == 1 and missing.err.startswith("error: ") and "not found" in missing.err
    bad = cli("filter", str(source), "--out", str(tmp_path / "o3"), "--recipe", "nope")
    assert bad.code == 1 and "recipe 'nope' not found: use one of default" in bad.err
    a_file = tmp_path / "afile"
    a_file.write_text("")
    store = cli("filter", str(source), "--out", str(tmp_path / "o4"), "--embeddings", str(a_file))
    assert (
        store.code == 1
        and store.err
        == f"error: --embeddings {a_file} is a file: pass a folder for the store, or `none`\n"
    )
    assert not (tmp_path / "o4").exists()


def test_a_file_of_no_dialogues_is_an_error_not_an_empty_result(cli, tmp_path):
    # Raw ESConv (or any JSONL of other records): one clear line, exit 1, nothing written.
    raw = tmp_path / "esconv_test.jsonl"
    raw.write_text(
        "".join(
            json.dumps({"emotion_type": "anxiety", "dialog": [{"speaker": "usr", "text": "hi"}]})
            + "\n"
            for _ in range(3)
        )
    )
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\nfilters:\n  - use: structure\n")
    result = cli("filter", str(raw), "--out", str(tmp_path / "out"), "--recipe", str(recipe))
    assert result.code == 1 and "Traceback" not in result.err
    # The malformed lines are named first, as always; the last line says what to do.
    last = result.err.strip().splitlines()[-1]
    assert last.startswith(f"error: {raw}: none of its 3 lines is a dialogue")
    assert result.err.count("error:") == 1
    assert "factory import esconv" in last and not (tmp_path / "out").exists()
    curated = cli(
        "curate", str(raw), "--name", "d", "--root", str(tmp_path / "ds"), "-r", str(recipe)
    )
    assert curated.code == 1 and "none of its 3 lines is a dialogue" in curated.err
    assert not list((tmp_path / "ds").glob("d/v*"))


@pytest.mark.parametrize(
    "damaged, reason",
    [
        ("It costs 3. 5 dollars a day.", "split_number"),
        ("Try something small, e. g. a walk.", "split_abbreviation"),
        ("Look at www. example. org for ideas.", "split_address"),
        ("Mail help@example. org about it.", "split_address"),
        ('She asked "can we talk? " It hurt.', "detached_quote"),
    ],
)
def test_damaged_text_drops_the_marks_of_split_and_rejoined_text(damaged, reason):
    supporter = [*SUPPORTER[:2], damaged, *SUPPORTER[3:]]
    outcome = verdict("damaged_text", dialogue(supporter=supporter))
    assert (outcome.keep, outcome.reason, outcome.details["turn"]) == (False, reason, 5)


@pytest.mark.parametrize(
    "intact",
    [
        "It costs 3.5 dollars, e.g. on www.example.org today.",
        'She asked "can we talk?" It hurt.',
        "I am sad . I do not know , really",  # people's own loose spacing is not damage
        "I was born in 1990. In 2019 I moved.",
    ],
)
def test_damaged_text_keeps_intact_and_loosely_typed_text(intact):
    supporter = [*SUPPORTER[:2], intact, *SUPPORTER[3:]]
    assert verdict("damaged_text", dialogue(supporter=supporter)).keep


GREETING_FIRST = [
    "Hi, thank you for being here tonight. It has been a long and strange week and honestly I"
    " am not even sure where to begin, so I might ramble a bit, sorry about that. The weather"
    " has been grey all week, I have barely left my room, and my cat keeps knocking things off"
    " the shelf. I made soup yesterday, which was nice. Anyway, hello, and thanks again for"
    " listening to me at this late hour, it means a lot.",
    "I failed my statistics course, so I have to retake it next semester... my older sister is"
    " helping pay for uni and she has no idea yet.",
    "I keep dreading the moment I have to tell her.",
    "Maybe I could tell her this weekend, before she hears it from someone else.",
    "Thank you, that helps. I will call her on Saturday.",
]


def test_a_seeker_who_greets_first_and_tells_the_situation_next_is_on_situation():
    needs_embed()
    situation = (
        "I failed statistics, so I have to retake it next semester, and my older sister who"
        " helps pay for my university does not know yet."
    )
    d = dialogue(seeker=GREETING_FIRST, intensities=(3, 4, 4, 3, 2))
    d = d.model_copy(
        update={
            "scenario": d.scenario.model_copy(
                update={"situation": situation, "emotion_type": "anxiety"}
            )
        }
    )
    # Judged on the opening words alone (the check as it was), the greeting hides the story.
    opening_only = verdict("emotion_consistency", d, situation_turns=0)
    assert (opening_only.keep, opening_only.reason) == (False, "off_situation")
    kept = verdict("emotion_consistency", d)
    assert kept.keep and kept.details["situation_similarity"] > 0.5


# -- ESConv import ----------------------------------------------------------------------------


def test_import_merges_turns_maps_strategies_and_intensity(tmp_path):
    from factory.importers.esconv import import_esconv

    original = [
        {
            "emotion_type": "anxiety",
            "problem_type": "Job Crisis",
            "situation": "worried",
            "survey_score": {
                "seeker": {"initial_emotion_intensity": "5", "final_emotion_intensity": "2"}
            },
            "dialog": [
                {"speaker": "speaker", "annotation": {}, "content": "Hey there\n"},
                {"speaker": "speaker", "annotation": {}, "content": "How are you?\n"},
                {
                    "speaker": "listener",
                    "annotation": {"strategy": "Questions"},
                    "content": "Fine, and you?",
                },
                {
                    "speaker": "listener",
                    "annotation": {"strategy": "Other"},
                    "content": "What is up?",
                },
                {"speaker": "speaker", "annotation": {}, "content": "Work stress."},
            ],
        }
    ]
    path = tmp_path / "orig.json"
    path.write_text(json.dumps(original))
    (d,), problems = import_esconv([path])
    assert problems == []
    assert [(t.role, t.text, t.strategy, t.intensity) for t in d.turns] == [
        ("seeker", "Hey there How are you?", None, 5),
        ("supporter", "Fine, and you? What is up?", "Question", None),
        ("seeker", "Work stress.", None, 2),
    ]
    assert d.scenario.problem_type == "job crisis" and d.end_reason == "imported"


def test_import_skips_records_with_a_message_without_text_or_a_label_that_is_not_text(tmp_path):
    from factory.importers.esconv import import_esconv

    def record(**changes):
        base = {
            "emotion_type": "anxiety",
            "problem_type": "job crisis",
            "situation": "worried",
            "dialog": [
                {"speaker": "usr", "text": "I lost my job."},
                {"speaker": "sys", "text": "I am sorry.", "strategy": "Others"},
            ],
        }
        return {**base, **changes}

    rows = [
        record(),
        record(dialog=[{"speaker": "usr", "text": None}, {"speaker": "sys", "text": "Hi."}]),
        record(emotion_type=5),
    ]
    path = tmp_path / "esc.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    dialogues, problems = import_esconv([path])
    assert len(dialogues) == 1 and "None" not in dialogues[0].turns[0].text
    assert len(problems) == 2
    assert (
        "a message without text" in problems[0] and "`emotion_type` is not a label" in problems[1]
    )


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not present")
def test_real_esconv_keeps_more_than_failed_esconv(tmp_path, cli):
    needs_embed()
    esconv = tmp_path / "esconv.jsonl"
    failed = tmp_path / "failed.jsonl"
    splits = [str(SHARED / "esconv" / f"esconv_{s}.jsonl") for s in ("train", "valid", "test")]
    assert cli("import", "esconv", *splits, "-o", str(esconv)).code == 0
    assert (
        cli(
            "import", "esconv", str(SHARED / "esconv" / "FailedESConv.json"), "-o", str(failed)
        ).code
        == 0
    )
    assert len(esconv.read_text().splitlines()) == 1300
    real = run_recipe(esconv, load_recipe("default"), tmp_path / "f1")
    rejected = run_recipe(failed, load_recipe("default"), tmp_path / "f2")
    real_share, failed_share = real.kept / real.read, rejected.kept / rejected.read
    assert real_share > 0.85  # 90.8% when measured (BENCHMARKS.md)
    assert failed_share < 0.5
    # People's text carries none of the marks of split-and-rejoined text.
    for report in (real, rejected):
        (step,) = [s for s in report.funnel if s.filter == "damaged_text"]
        assert step.dropped == 0


def test_boilerplate_lines_are_capped():
    from factory.filters.boilerplate import BoilerplateFilter, BoilerplateSettings

    stock = "I am so sorry to hear that, I am here for you."
    flt = BoilerplateFilter(BoilerplateSettings(max_dialogues_per_line=2))

    def supporter(i: int, line: str, at: int) -> list[str]:
        own = [f"{text} (take {i})" for text in SUPPORTER]  # lines unique to each dialogue
        own[at] = line
        return own

    reasons = [
        flt.check(dialogue(id=f"d{i}", supporter=supporter(i, stock, 1))).verdict.reason
        for i in range(4)
    ]
    assert reasons == ["ok", "ok", "boilerplate_capped", "boilerplate_capped"]
    # Greetings and goodbyes (first and last supporter turns) are never counted.
    assert all(
        flt.check(dialogue(id=f"g{i}", supporter=supporter(i, stock, 0))).verdict.keep
        for i in range(4)
    )


def test_semantic_dedup_catches_a_paraphrase_minhash_misses():
    needs_embed()
    from factory.filters.minhash_dedup import MinHashDedupFilter
    from factory.filters.semantic_dedup import SemanticDedupFilter

    original = dialogue(id="a")
    reworded = dialogue(
        id="b",
        seeker=[
            "Last week I lost my job and now I feel lost.",
            "I keep thinking about how I am going to pay next month's rent.",
            "My partner is trying to help but I feel like a burden to all of them.",
            "Maybe I should call my old boss and ask him about other openings.",
            "Thank you, I feel calmer now and I have a plan.",
        ],
        supporter=[
            "That sounds so hard. How are you coping with this news?",
            "Worrying about money on top of losing a job can be overwhelming.",
            "It makes sense that you feel that way, and you are not a burden.",
            "That sounds like a good first step you could take tomorrow.",
            "I'm glad you feel calmer. Take good care of yourself tonight.",
        ],
    )
    unrelated = dialogue(
        id="c",
        seeker=[
            "My best friend stopped talking to me after an argument.",
            "We had been friends since we were twelve years old.",
            "I do not even know what I said that hurt her so much.",
            "Maybe I could write her a letter and say I am sorry.",
            "Thank you, writing it down sounds like something I can do.",
        ],
        supporter=["That must hurt.", *SUPPORTER[1:]],
    )
    assert [o.verdict.keep for o in MinHashDedupFilter().check_batch([original, reworded])] == [
        True,
        True,
    ]
    outcomes = SemanticDedupFilter().check_batch([original, reworded, unrelated])
    assert [o.verdict.reason for o in outcomes] == ["ok", "semantic_duplicate", "ok"]
    assert outcomes[1].verdict.details["duplicate_of"] == "a"


def test_exact_duplicate_under_the_same_id_is_dropped():
    from factory.filters.exact_dedup import ExactDedupFilter

    flt = ExactDedupFilter()
    assert [flt.check(dialogue(id="same")).verdict.reason for _ in range(2)] == [
        "ok",
        "exact_duplicate",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "Are you planning to hurt yourself?",
        "I don't want you to hurt yourself.",
        "Promise me you won't hurt yourself tonight.",
        "Don\u2019t hurt yourself over this, please.",
        "Please don't kill yourself over a deadline.",
    ],
)
def test_care_about_harm_is_not_encouragement(line):
    supporter = [*SUPPORTER[:2], line, *SUPPORTER[3:]]
    assert verdict("safety", dialogue(supporter=supporter)).keep


@pytest.mark.parametrize(
    "line, flagged",
    [
        ("I am not suicidal, just tired of it all.", False),
        ("I applied for a job at a suicide hotline.", False),
        ("I have been having suicidal thoughts again.", True),
        ("Some nights I want to die.", True),
        # Missed by the lexicon in the judge's capable-model check (issue 19):
        ("I have a plan to sucide.", True),
        ("I don't have anything to live for anymore.", True),
        ("At times I would rather maybe just dissapear.", False),  # misspelt: not matched
        ("At times I would rather just disappear.", True),
        ("I feel like I am a burden to everyone.", True),
        ("I want to jump over a bridge.", True),  # missed in round 2 of the judge's check
        ("Some days I could kill myslef.", True),
        ("My plan to visit my sister fell through.", False),
        ("There is a reason to live in the city.", False),
    ],
)
def test_crisis_mentions_are_the_seekers_own(line, flagged):
    seeker = [*SEEKER[:2], line, *SEEKER[3:]]
    assert (verdict("safety", dialogue(seeker=seeker)).reason == "crisis_without_help") is flagged


@pytest.mark.parametrize(
    "text",
    [
        "between 1999-2005",
        "on 2020-01-15",
        "on 12.05.2020",
        "rate it 1 2 3 4 5",
        "10 000 000 people",
        "for $1,200.50",
        "at 3:30",
        "call 1-800-273-8255",
    ],
)
def test_pii_leaves_dates_numbers_and_toll_free_lines_alone(text):
    from factory.filters.pii_redact import PiiRedactFilter

    seeker = [*SEEKER[:3], f"It happened {text}, really.", SEEKER[4]]
    assert PiiRedactFilter().check(dialogue(seeker=seeker)).verdict.reason == "ok"


def test_pii_phone_and_url_edges():
    from factory.filters.pii_redact import PiiRedactFilter

    seeker = [
        *SEEKER[:3],
        "Call (555) 123 4567 or +44 20 7946 0958 (see https://example.org/x).",
        SEEKER[4],
    ]
    outcome = PiiRedactFilter().check(dialogue(seeker=seeker))
    assert outcome.dialogue.turns[6].text == "Call [PHONE] or [PHONE] (see [URL])."


@pytest.mark.parametrize(
    "ending", ["I think so", "I need to do that", "Thanks, bye :(", 'He said "go home". Bye.']
)
def test_truncation_spares_normal_endings(ending):
    assert verdict(
        "truncation", dialogue(seeker=[*SEEKER[:4], ending], supporter=SUPPORTER[:4])
    ).keep


def test_opening_greetings_may_mirror_each_other():
    d = dialogue(
        seeker=["Hello, how are you today?", *SEEKER[1:]],
        supporter=["Hello, how are you feeling today?", *SUPPORTER[1:]],
    )
    assert verdict("repetition", d).keep


def test_role_swap_needs_the_offer_of_help():
    seeker = [*SEEKER[:2], "That is why I am here for support.", *SEEKER[3:]]
    assert verdict("role_leakage", dialogue(seeker=seeker)).keep
    curly = [*SUPPORTER[:2], "I\u2019m an AI, but I care.", *SUPPORTER[3:]]
    assert verdict("role_leakage", dialogue(supporter=curly)).reason == "ai_self_reference"


def test_recipe_enabled_must_be_a_boolean(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text('filters:\n  - use: structure\n    enabled: "false"\n')
    with pytest.raises(ConfigError, match="enabled must be true or false"):
        load_recipe(str(path))


def test_import_skips_odd_records_and_reports_real_lines(tmp_path, cli):
    bad = tmp_path / "bad.jsonl"
    good = {
        "dialog": [
            {"speaker": "usr", "text": "hi there"},
            {"speaker": "sys", "text": "hello", "strategy": "Question"},
        ]
    }
    bad.write_text('{"dialog": ["hi"]}\n' + json.dumps(good) + "\nnot json\n")
    result = cli("import", "esconv", str(bad), "-o", str(tmp_path / "out.jsonl"))
    assert result.code == 0, result.err
    assert "imported 1 dialogues" in result.out and "(2 skipped)" in result.out
    assert (
        "bad.jsonl record 1: unusable" in result.err and "bad.jsonl:3: not valid JSON" in result.err
    )
    # Many bad records: the first five, then a count, as filter, curate and eval do.
    many = tmp_path / "many.jsonl"
    many.write_text(json.dumps(good) + "\n" + "not json\n" * 12)
    result = cli("import", "esconv", str(many), "-o", str(tmp_path / "many_out.jsonl"))
    assert result.code == 0 and result.err.count("not valid JSON") == 5
    assert result.err.strip().splitlines()[-1] == "warning: ... and 7 more records skipped"
    ours = tmp_path / "ours.jsonl"
    ours.write_text(dialogue().model_dump_json() + "\n")
    result = cli("import", "esconv", str(ours), "-o", str(tmp_path / "o2.jsonl"))
    assert result.code == 1 and "no ESConv dialogues" in result.err
    result = cli("import", "esconv", str(bad), "-o", str(tmp_path))
    assert result.code == 1 and "is a directory" in result.err


def _topic_dialogue(id: str, topic: str, problem: str = "job crisis") -> Dialogue:
    d = dialogue(id=id, seeker=[f"{topic} {line}" for line in SEEKER])
    return d.model_copy(
        update={"scenario": d.scenario.model_copy(update={"problem_type": problem})}
    )


def test_diversity_keeps_the_spread_and_respects_quotas():
    from encoders import bag_of_words

    from factory.filters.diversity import DiversityFilter, DiversitySettings

    clones = [_topic_dialogue(f"same{i}", "jobs jobs jobs") for i in range(5)]
    distinct = [_topic_dialogue(f"own{i}", f"topic{i} " * 8, problem=f"p{i}") for i in range(5)]
    flt = DiversityFilter(DiversitySettings(keep_fraction=0.6), encoder=bag_of_words)
    outcomes = flt.check_batch([*clones, *distinct])
    kept = {o.dialogue.id for o in outcomes if o.verdict.keep}
    assert len(kept) == 6
    assert {f"own{i}" for i in range(5)} <= kept
    assert {o.verdict.reason for o in outcomes if not o.verdict.keep} == {
        "not_selected_for_diversity"
    }
    summary = flt.summary()
    assert summary is not None
    before, after = summary.before, summary.after
    assert before.dialogues == 10 and after.dialogues == 6
    assert after.mean_pairwise_distance > before.mean_pairwise_distance
    assert after.distinct_2 > before.distinct_2
    assert before.strategy_shares == {"Question": 1.0}
    capped = DiversityFilter(
        DiversitySettings(keep_fraction=1.0, max_share_per_problem=0.2), encoder=bag_of_words
    )
    kept_ids = [o.dialogue.id for o in capped.check_batch(clones + distinct) if o.verdict.keep]
    assert sum(i.startswith("same") for i in kept_ids) == 2  # job crisis may take 20% of 10


def test_pipeline_holds_survivors_for_a_whole_set_filter(tmp_path, monkeypatch):
    from encoders import bag_of_words

    import factory.filters.diversity as diversity
    from factory.filters.report import DiversitySummary, read_report

    monkeypatch.setattr(diversity, "minilm_encoder", lambda: bag_of_words)
    recipe_file = tmp_path / "r.yaml"
    recipe_file.write_text(
        "filters:\n  - use: structure\n  - use: diversity\n    keep_fraction: 0.5\n  - use: english\n"
    )
    rows = [_topic_dialogue(f"d{i}", f"topic{i}") for i in range(8)] + [
        dialogue(id="short", seeker=SEEKER[:2], supporter=SUPPORTER[:1])
    ]
    report = run_recipe(
        write_jsonl(tmp_path / "in.jsonl", rows),
        load_recipe(str(recipe_file)),
        tmp_path / "out",
        batch_size=3,
    )
    kept = (tmp_path / "out" / "kept.jsonl").read_text().splitlines()
    rejected = (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()
    assert len(kept) == 4 and len(kept) + len(rejected) == 9
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [step["in"] for step in data["funnel"]] == [9, 8, 4]
    assert data["summaries"]["diversity"]["before"]["dialogues"] == 8
    summary = read_report(tmp_path / "out" / "report.json").summaries["diversity"]
    assert isinstance(summary, DiversitySummary) and summary == report.summaries["diversity"]
    assert report.kept == 4


# -- emotion consistency --------------------------------------------------------------------

ANXIOUS = [
    "I have an interview on Friday and I am so nervous I can't sleep.",
    "I keep worrying that I will freeze and they will see I'm not good enough.",
    "My heart races every time I think about it, I'm scared of failing.",
    "Maybe I could practise the questions with my sister tomorrow.",
    "Thank you, I feel a little less anxious now.",
]
INTERVIEW = "I have a job interview this week and I am terrified it will go badly."


def _emotion_dialogue(emotion: str, situation: str = INTERVIEW, seeker=ANXIOUS) -> Dialogue:
    d = dialogue(seeker=seeker, id=f"{emotion}-{len(situation)}")
    return d.model_copy(
        update={
            "scenario": d.scenario.model_copy(
                update={"emotion_type": emotion, "situation": situation}
            )
        }
    )


def test_emotion_consistency_flags_a_family_swap_and_a_foreign_situation():
    needs_embed()
    from factory.filters.emotion_consistency import EmotionConsistencyFilter

    flt = EmotionConsistencyFilter()
    kept, swapped, nervous, other_story, unknown = [
        o.verdict
        for o in flt.check_batch(
            [
                _emotion_dialogue("anxiety"),
                _emotion_dialogue("anger"),
                _emotion_dialogue("nervousness"),  # same family as anxiety
                _emotion_dialogue(
                    "anxiety",
                    situation="My cat died last spring and the garden she loved is overgrown.",
                ),
                _emotion_dialogue("wistfulness"),
            ]
        )
    ]
    assert kept.keep and kept.details["family"] == "anxiety" and kept.score > 0.5
    assert nervous.keep and nervous.score == kept.score
    assert not swapped.keep and swapped.reason == "emotion_mismatch"
    assert swapped.details["likeliest"] == "anxiety" and swapped.score < 0.11
    assert not other_story.keep and other_story.reason == "off_situation"
    assert unknown.keep and unknown.reason == "unknown_emotion"


def test_emotion_family_floors_replace_the_one_floor_for_the_families_they_name(tmp_path):
    needs_embed()
    from factory.filters.emotion_consistency import (
        EmotionConsistencyFilter,
        EmotionConsistencySettings,
    )

    def verdicts(**settings):
        flt = EmotionConsistencyFilter(EmotionConsistencySettings(**settings))
        return [o.verdict for o in flt.check_batch([_emotion_dialogue("anger")])]

    (one_floor,) = verdicts()
    assert not one_floor.keep and one_floor.reason == "emotion_mismatch"
    # A floor under the dialogue's own probability keeps it; a floor for another family
    # leaves anger on min_family_probability.
    (own_floor,) = verdicts(family_floors={"anger": one_floor.score / 2})
    assert own_floor.keep and own_floor.score == one_floor.score
    (other_floor,) = verdicts(family_floors={"shame": 0.0})
    assert not other_floor.keep and other_floor.details["floor"] == 0.11
    assert "floor" not in one_floor.details  # one floor for all: the recipe says which
    with pytest.raises(ConfigError, match=r"family_floors: 'angr' is not an emotion family"):
        EmotionConsistencyFilter(EmotionConsistencySettings(family_floors={"angr": 0.1}))
    path = tmp_path / "r.yaml"
    path.write_text("filters:\n  - use: emotion_consistency\n    family_floors: {shame: 1.5}\n")
    with pytest.raises(ConfigError, match="family_floors"):
        load_recipe(str(path))


def test_emotion_evidence_counts_feeling_words_per_family():
    from factory.filters.emotion_consistency import (
        FamilyEvidence,
        family_probabilities,
        load_lexicon,
    )

    def flat(texts: list[str]):
        import numpy as np

        return np.ones((len(texts), 4), dtype=np.float32) / 2  # every text alike

    evidence = FamilyEvidence(load_lexicon(), encoder=flat)
    ashamed = _emotion_dialogue(
        "shame",
        situation="I was caught cheating on a test.",
        seeker=["I feel so ashamed and embarrassed.", "It was my fault, I feel guilty."],
    )
    found = evidence([ashamed])
    rows = dict(zip(found.families, found.signals[0], strict=True))
    # signals: seeker_embedding, situation_embedding, seeker_words, situation_words, supporter_words
    assert rows["shame"][2] > 1.0 and rows["anxiety"][2] == 0.0 and rows["anger"][2] == 0.0
    # With only the word signals weighted, shame is the likeliest family.
    probabilities = family_probabilities(found.signals[0], [0, 0, 1, 1, 1])
    assert max(zip(probabilities, found.families, strict=True))[1] == "shame"


def test_emotion_lexicon_errors_are_one_line(tmp_path):
    from factory.errors import DataFileError
    from factory.filters.emotion_consistency import (
        EmotionConsistencyFilter,
        EmotionConsistencySettings,
    )

    bad = tmp_path / "lexicon.yaml"
    bad.write_text(
        "families:\n  anxiety: {prototypes: [I worry.], words: ['(unclosed']}\n"
        "  anger: {prototypes: [I am mad.], words: [mad]}\n"
    )
    with pytest.raises(DataFileError, match=r"families\.anxiety\.words: .*'\(unclosed' is not"):
        EmotionConsistencyFilter(EmotionConsistencySettings(lexicon=str(bad)))
    partial = tmp_path / "partial.yaml"
    partial.write_text(
        "families:\n  anxiety: {prototypes: [I worry.], words: [worried]}\n"
        "  anger: {prototypes: [I am mad.], words: [mad]}\n"
    )
    with pytest.raises(DataFileError, match=r"emotion family 'depression' .* has no entry"):
        EmotionConsistencyFilter(EmotionConsistencySettings(lexicon=str(partial)))
    path = tmp_path / "r.yaml"
    path.write_text("filters:\n  - use: emotion_consistency\n    weights: {seeker_wrds: 2}\n")
    with pytest.raises(ConfigError, match="emotion_consistency"):
        load_recipe(str(path))


def _structure_recipe(tmp_path: Path) -> Path:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\nfilters:\n  - use: structure\n")
    return recipe


def test_filter_outputs_replace_the_folder_as_one_set(cli, tmp_path):
    out = tmp_path / "out"
    first = write_jsonl(tmp_path / "a.jsonl", [dialogue(id="a"), dialogue(id="b")])
    second = write_jsonl(tmp_path / "b.jsonl", [dialogue(id="c")])
    recipe = str(_structure_recipe(tmp_path))
    assert cli("filter", str(first), "--out", str(out), "--recipe", recipe).code == 0
    assert cli("filter", str(second), "--out", str(out), "--recipe", recipe).code == 0
    # The second set replaced the first whole: kept and report agree, nothing else is left.
    assert sorted(p.name for p in out.iterdir()) == ["kept.jsonl", "rejected.jsonl", "report.json"]
    report = json.loads((out / "report.json").read_text())
    assert report["counts"]["kept"] == len((out / "kept.jsonl").read_text().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    assert out.stat().st_mode & 0o777 == 0o777 & ~_umask()


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_an_interrupted_filter_leaves_the_previous_set(cli, tmp_path, monkeypatch):
    from factory.filters import lines

    out = tmp_path / "out"
    source = write_jsonl(tmp_path / "a.jsonl", [dialogue(id="a")])
    recipe = str(_structure_recipe(tmp_path))
    assert cli("filter", str(source), "--out", str(out), "--recipe", recipe).code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(lines, "reject_malformed", crash)
    broken = write_jsonl(tmp_path / "b.jsonl", [dialogue(id="z"), "not json"])
    assert cli("filter", str(broken), "--out", str(out), "--recipe", recipe).code == 130
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_filter_refuses_a_folder_of_other_files_a_busy_out_and_a_run_being_written(cli, tmp_path):
    import fcntl

    source = write_jsonl(tmp_path / "a.jsonl", [dialogue(id="a")])
    recipe = str(_structure_recipe(tmp_path))
    busy = tmp_path / "busy"
    (busy / "notes.txt").parent.mkdir()
    (busy / "notes.txt").write_text("mine")
    result = cli("filter", str(source), "--out", str(busy), "--recipe", recipe)
    assert result.code == 1 and "holds other files (notes.txt)" in result.err
    assert (busy / "notes.txt").read_text() == "mine"

    out = tmp_path / "out"
    with (tmp_path / ".out.filter-lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = cli("filter", str(source), "--out", str(out), "--recipe", recipe)
    assert result.code == 1 and "another factory filter is writing to" in result.err

    run = tmp_path / "run"
    run.mkdir()
    (run / "dialogues.jsonl").write_text(dialogue(id="r").model_dump_json() + "\n")
    with (run / ".lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = cli("filter", str(run), "--out", str(out), "--recipe", recipe)
    assert result.code == 1 and "still being written by factory generate" in result.err


def test_a_recipe_with_min_turns_above_max_turns_is_one_line(tmp_path):
    from factory.errors import ConfigError

    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\nfilters:\n  - use: structure\n    min_turns: 90\n")
    with pytest.raises(ConfigError, match=r"min_turns \(90\) must not exceed max_turns \(80\)"):
        load_recipe(str(recipe))


def test_a_thousand_malformed_lines_make_six_warnings(tmp_path):
    from factory.evaluation.sources import DialogueSource

    lines = [dialogue(id="a").model_dump_json(), *(f"garbage {i}" for i in range(1000))]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\nfilters:\n  - use: exact_dedup\n")
    warnings: list[str] = []
    report = run_recipe(source, load_recipe(str(recipe)), tmp_path / "out", warn=warnings.append)
    assert report.malformed == 1000 and report.kept == 1
    assert [w.split(": malformed")[0] for w in warnings[:5]] == [
        f"{source}:{n}" for n in range(2, 7)
    ]
    assert warnings[5:] == [
        "... and 995 more malformed lines put in rejected.jsonl (1000 in all, each as"
        " malformed_input)"
    ]
    rejected = (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()
    assert len(rejected) == 1000  # every line is still written, only the warnings are cut
    eval_warnings: list[str] = []
    loaded = DialogueSource(source, warn=eval_warnings.append)
    assert len(list(loaded)) == 1 and loaded.malformed == 1000
    assert len(eval_warnings) == 6 and eval_warnings[-1].startswith("... and 995 more")


def test_a_file_of_malformed_lines_alone_is_one_error_and_no_warning(cli, tmp_path):
    from factory.errors import DataFileError
    from factory.evaluation.sources import DialogueSource

    source = tmp_path / "bad.jsonl"
    source.write_text("".join(f"garbage {i}\n" for i in range(8)))
    out = tmp_path / "out"
    result = cli(
        "filter", str(source), "--out", str(out), "--recipe", str(_structure_recipe(tmp_path))
    )
    assert result.code == 1 and "none of its 8 lines is a dialogue" in result.err
    # No warning said the lines went to a rejected.jsonl that was never written.
    assert "malformed dialogue" not in result.err and not out.exists()
    warnings: list[str] = []
    with pytest.raises(DataFileError, match="none of its 8 lines"):
        list(DialogueSource(source, warn=warnings.append))
    assert warnings == []


def test_one_input_with_no_dialogue_among_several_fails_the_run(cli, tmp_path):
    # `curate run --decontaminate A B` once made B, an evaluation set, an input: its lines
    # went into rejected/ and out with the version.
    good = write_jsonl(tmp_path / "a.jsonl", [dialogue(id="a"), "not json"])
    raw = tmp_path / "esconv.json.jsonl"
    raw.write_text("".join(json.dumps({"dialog": [{"text": f"hi {i}"}]}) + "\n" for i in range(7)))
    out = tmp_path / "out"
    recipe = str(_structure_recipe(tmp_path))
    result = cli("curate", str(good), str(raw), "--name", "x", "--out", str(out), "-r", recipe)
    assert result.code == 1 and not list(out.glob("x/*")) and not list(out.glob("x/.*"))
    assert f"error: {raw}: none of its 7 lines is a dialogue" in result.err
    # The good file's malformed line was named; the other file's lines were not.
    assert f"{good}:2: malformed dialogue" in result.err and f"warning: {raw}:" not in result.err


def test_a_malformed_line_goes_to_rejected_whole_with_the_field_it_names(tmp_path):
    row = dialogue(id="b").model_dump(mode="json")
    row["note\tx"] = "y" * 3000  # a tab in the key the error names; longer than any cut
    line = json.dumps(row)
    source = tmp_path / "in.jsonl"
    source.write_text(dialogue(id="a").model_dump_json() + "\n" + line + "\r\n")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\nfilters:\n  - use: exact_dedup\n")
    warnings: list[str] = []
    run_recipe(source, load_recipe(str(recipe)), tmp_path / "out", warn=warnings.append)
    (rejected,) = [json.loads(x) for x in (tmp_path / "out" / "rejected.jsonl").open()]
    assert rejected["raw"] == line and rejected["line"] == 2
    error = rejected["verdicts"][0]["details"]["error"]
    assert error.startswith("note\tx:") and error in warnings[0]


def test_an_input_that_fails_mid_read_is_one_error_line(cli, tmp_path, monkeypatch):
    from factory.filters import lines

    class Failing:
        def __init__(self):
            self.rows = iter([dialogue(id="a").model_dump_json().encode() + b"\n"])

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def close(self):
            pass

        def __iter__(self):
            return self

        def __next__(self):
            row = next(self.rows, None)
            if row is None:
                raise OSError(5, "Input/output error")
            return row

    source = write_jsonl(tmp_path / "a.jsonl", [dialogue(id="a")])
    monkeypatch.setattr(lines, "open_input", lambda path: Failing())
    out = tmp_path / "out"
    result = cli(
        "filter", str(source), "--out", str(out), "--recipe", str(_structure_recipe(tmp_path))
    )
    assert result.code == 1 and not out.exists()
    assert result.err.strip().splitlines() == [
        f"error: cannot read {source} past line 1 (Input/output error)"
    ]


def test_every_input_is_opened_before_any_is_read(tmp_path):
    from factory.errors import DataFileError
    from factory.filters.lines import MalformedWarnings, read_inputs

    good = write_jsonl(tmp_path / "a.jsonl", [dialogue(id="a")])
    read: list[str] = []
    inputs = read_inputs(
        [good, tmp_path / "missing.jsonl"],
        MalformedWarnings(print),
        on_read=lambda path, d: read.append(d.id),
    )
    with pytest.raises(DataFileError, match=r"cannot read .*missing\.jsonl"):
        list(inputs)
    assert read == []


def test_stateless_filters_keep_no_summary_and_the_order_dependent_ones_are_not_stateless():
    # `factory filter --ray` runs a stateless filter on actors: its driver copy never runs.
    from factory.filters.base import Filter

    stateless = {name for name, cls in FILTERS.items() if cls.stateless}
    assert all(FILTERS[name].summary is Filter.summary for name in stateless)
    order_dependent = {"exact_dedup", "minhash_dedup", "semantic_dedup", "boilerplate"}
    assert not stateless & (order_dependent | {"judge", "diversity"})
    assert "pii_redact" in stateless and "emotion_consistency" in stateless
