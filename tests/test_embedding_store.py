"""The embedding store (factory/embedding_store.py): vectors computed once and read back by
text, shards written whole, a damaged or unwritable store never trusted, and the commands
(filter, curate, eval) sharing one store beside the data."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from factory.embedding_store import EmbeddingStore, counts_line, store_root

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


class Counting:
    """A stand-in model: a text's vector is a function of its words; every text it is sent
    is counted, and loading it can be forbidden."""

    def __init__(self, allowed: bool = True) -> None:
        self.sent: list[str] = []
        self.loads = 0
        self.allowed = allowed

    def __call__(self):
        if not self.allowed:
            raise AssertionError("the model was loaded, though every text was stored")
        self.loads += 1
        return self.encode

    def encode(self, texts: list[str]) -> np.ndarray:
        self.sent.extend(texts)
        rows = []
        for text in texts:
            v = np.zeros(8, dtype=np.float32)
            for word in text.split():
                v[sum(map(ord, word)) % 8] += 1.0
            v[7] += 0.5
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows)


def test_texts_are_embedded_once_and_read_back_by_a_later_process(tmp_path):
    model = Counting()
    store = EmbeddingStore(tmp_path / "embeddings", make_encoder=model)
    texts = ["i lost my job", "my dog died", "i lost my job", "exams are close"]
    first = store.embed(texts, "semantic_dedup")
    assert model.sent == ["i lost my job", "my dog died", "exams are close"]  # each once
    assert np.allclose(first[0], first[2]) and first.dtype == np.float32
    again = store.embed(["my dog died", "a new one"], "emotion_consistency")
    assert model.sent[-1:] == ["a new one"] and np.allclose(again[0], first[1])
    assert store.summary()["stages"] == {
        "semantic_dedup": {"computed": 3, "reused": 1},
        "emotion_consistency": {"computed": 1, "reused": 1},
    }
    store.flush()
    folder = tmp_path / "embeddings" / "all-MiniLM-L6-v2"
    assert json.loads((folder / "store.json").read_text())["dim"] == 8
    assert len(list(folder.glob("part-*.keys.npy"))) == 1

    later = EmbeddingStore(tmp_path / "embeddings", make_encoder=Counting(allowed=False))
    read = later.embed(["exams are close", "i lost my job", "my dog died"], "realism")
    assert np.array_equal(read, np.stack([first[3], first[0], first[1]]))
    assert later.summary()["computed"] == 0 and later.summary()["reused"] == 3
    assert later.size() == 4
    line = counts_line(later.summary())
    assert line.startswith("embeddings: 0 computed, 3 reused (computed/reused: realism 0/3)")


def test_shards_accumulate_and_a_text_stored_twice_is_still_one_answer(tmp_path):
    model = Counting()
    a = EmbeddingStore(tmp_path, make_encoder=model, flush_rows=2)
    a.embed(["one", "two", "three"])  # over flush_rows: written as it goes
    assert a.written == 3
    b = EmbeddingStore(tmp_path, make_encoder=Counting())
    b.embed(["three", "four"])  # another process adds a shard of its own
    b.flush()
    c = EmbeddingStore(tmp_path, make_encoder=Counting(allowed=False))
    assert c.size() == 4
    assert np.allclose(c.embed(["four", "one"]), model.encode(["four", "one"]))


def test_a_damaged_shard_is_skipped_and_its_texts_embedded_again(tmp_path, caplog):
    first = EmbeddingStore(tmp_path, make_encoder=Counting())
    first.embed(["kept text"])
    first.flush()
    folder = tmp_path / "all-MiniLM-L6-v2"
    (vectors,) = folder.glob("part-*.vectors.npy")
    vectors.write_bytes(vectors.read_bytes()[:40])  # cut short
    model = Counting()
    again = EmbeddingStore(tmp_path, make_encoder=model)
    again.embed(["kept text"])
    assert model.sent == ["kept text"]
    assert "skipped part-" in caplog.text
    # Vectors whose keys were never written (a crash between the two renames) are not read.
    for keys in folder.glob("part-*.keys.npy"):
        keys.unlink()
    (folder / "part-orphan.vectors.npy").write_bytes(b"")
    assert EmbeddingStore(tmp_path, make_encoder=Counting()).size() == 0


def test_an_unwritable_store_keeps_its_vectors_in_memory_and_says_so(tmp_path, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    store = EmbeddingStore(blocked, make_encoder=Counting())
    vectors = store.embed(["a text"])
    store.flush()
    assert "cannot be written" in caplog.text and store.folder is None
    assert np.allclose(store.embed(["a text"]), vectors)  # still answered, from memory
    assert store.summary()["store"] is None


def test_a_store_travels_to_another_process_without_its_vectors(tmp_path):
    store = EmbeddingStore(tmp_path, make_encoder=Counting())
    store.embed(["shared text"])
    store.flush()
    store.embed(["only in memory"])
    copy = pickle.loads(pickle.dumps(store))  # what a Ray actor receives
    assert copy.counts == {} and copy.size() == 1  # the shard, read from disk
    assert copy.folder == store.folder


def test_vectors_handed_over_from_another_copy_count_as_one_process_would(tmp_path):
    # A Ray actor's copy embeds ahead of the driver's filter and writes its shard; the
    # driver, opened before, counts what its filter asks for as one process would.
    root = tmp_path / "embeddings"
    before = EmbeddingStore(root, make_encoder=Counting())
    before.embed(["stored before"], "x")
    before.flush()
    driver = EmbeddingStore(root, make_encoder=Counting(allowed=False))
    driver.open()
    actor = pickle.loads(pickle.dumps(driver))
    actor._make_encoder = Counting()
    texts = ["i lost my job", "my dog died", "stored before"]
    vectors = actor.embed(texts, "ahead")
    actor.flush()  # on disk now, but the driver read the store when it opened
    from factory.embedding_store import text_keys

    driver.adopt(text_keys(texts), vectors)
    got = driver.embed(["i lost my job", "stored before", "i lost my job"], "semantic_dedup")
    assert np.allclose(got[0], vectors[0]) and np.allclose(got[2], vectors[0])
    assert driver.summary()["stages"] == {"semantic_dedup": {"computed": 1, "reused": 2}}
    driver.adopt(text_keys(texts[:1]), vectors[:1])  # the same text again, in a later batch
    driver.embed(["i lost my job"], "semantic_dedup")
    assert driver.summary()["stages"] == {"semantic_dedup": {"computed": 1, "reused": 3}}


def test_store_root_finds_the_store_of_the_data(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "dialogues.jsonl").write_text("")
    assert store_root(run) == run / "embeddings"
    assert store_root(run / "dialogues.jsonl") == run / "embeddings"
    # A filter output points back to its input's store.
    out = tmp_path / "filtered"
    out.mkdir()
    (out / "report.json").write_text(json.dumps({"input": str(run / "dialogues.jsonl")}))
    assert store_root(out / "kept.jsonl") == run / "embeddings"
    # A version: its first source's store, else none at all.
    version = tmp_path / "datasets" / "d" / "v0.1.0"
    (version / "data").mkdir(parents=True)
    (version / "manifest.json").write_text(json.dumps({"sources": [{"path": "gone/x.jsonl"}]}))
    assert store_root(version) is None
    (version / "manifest.json").write_text(
        json.dumps({"sources": [{"path": str(run / "dialogues.jsonl")}]})
    )
    assert store_root(version) == run / "embeddings"


def test_an_empty_store_named_beside_a_full_one_is_warned_about(cli, tmp_path, monkeypatch):
    from factory.cli.options import embedding_store

    data = tmp_path / "data" / "dialogues.jsonl"
    data.parent.mkdir()
    data.write_text(dialogue_line())
    beside = EmbeddingStore(tmp_path / "data" / "embeddings", make_encoder=Counting())
    beside.embed(["i lost my job", "my dog died"], "semantic_dedup")
    beside.flush()
    heard: list[str] = []
    elsewhere = tmp_path / "elsewhere"
    assert embedding_store(str(elsewhere), data, heard.append).root == elsewhere
    assert heard == [
        f"--embeddings {elsewhere} holds no all-MiniLM-L6-v2 vectors, while"
        f" {tmp_path / 'data' / 'embeddings'} beside the data holds 2: this run will not"
        " reuse them (leave out --embeddings to reuse them)"
    ]
    # Not when the store named is the one beside the data, nor when none is named, nor
    # when the store named holds vectors of its own.
    embedding_store(str(tmp_path / "data" / "embeddings"), data, heard.append)
    embedding_store(None, data, heard.append)
    own = EmbeddingStore(elsewhere, make_encoder=Counting())
    own.embed(["exams are close"], "semantic_dedup")
    own.flush()
    embedding_store(str(elsewhere), data, heard.append)
    assert len(heard) == 1
    # The command says it on stderr and goes on, when its recipe embeds; a recipe that
    # embeds nothing would reuse nothing anyway.
    monkeypatch.setattr("factory.embedding_store.minilm_encoder", lambda backend: Counting()())
    empty = tmp_path / "empty"
    recipe = tmp_path / "r.yaml"
    for filters, warned in (("structure", False), ("semantic_dedup", True)):
        recipe.write_text(f"name: r\nfilters:\n  - use: {filters}\n")
        out = tmp_path / f"out-{filters}"
        args = ("--recipe", str(recipe), "--embeddings", str(empty))
        result = cli("filter", str(data), "--out", str(out), *args)
        assert result.code == 0, result.err
        said = f"warning: --embeddings {empty} holds no all-MiniLM-L6-v2 vectors" in result.err
        assert said is warned, filters


def dialogue_line() -> str:
    from tests.test_filters import dialogue

    return dialogue(id="a").model_dump_json() + "\n"


def _filter_outputs(folder: Path) -> tuple[bytes, bytes]:
    return (folder / "kept.jsonl").read_bytes(), (folder / "rejected.jsonl").read_bytes()


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not present")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_filter_curate_and_eval_embed_each_text_once(cli, tmp_path, monkeypatch):
    """The default recipe on ESConv's test split, with MiniLM: the first filter computes,
    a second filter, curate and eval read back, and every verdict is the same."""
    pytest.importorskip("sentence_transformers")
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "esconv"
    data.mkdir()
    source = data / "test.jsonl"
    imported = cli(
        "import", "esconv", str(SHARED / "esconv" / "esconv_test.jsonl"), "-o", str(source)
    )
    assert imported.code == 0, imported.err
    first = cli("filter", str(source), "--out", "one")
    assert first.code == 0, first.err
    report = json.loads((tmp_path / "one" / "report.json").read_text())["embeddings"]
    assert report["store"] == str(data / "embeddings" / "all-MiniLM-L6-v2")
    assert report["computed"] > 400 and report["stages"]["semantic_dedup"]["computed"] > 150
    second = cli("filter", str(source), "--out", "two")
    assert second.code == 0, second.err
    again = json.loads((tmp_path / "two" / "report.json").read_text())["embeddings"]
    assert again["computed"] == 0 and again["reused"] == report["computed"] + report["reused"]
    assert _filter_outputs(tmp_path / "two") == _filter_outputs(tmp_path / "one")
    assert "embeddings: 0 computed" in second.out

    curated = cli("curate", str(source), "--name", "es", "--root", "ds")
    assert curated.code == 0, curated.err
    assert f"embeddings: 0 computed, {again['reused']:,} reused" in curated.out
    assert sorted(p.name for p in (tmp_path / "ds" / "es").iterdir()) == ["v0.1.0"]
    manifest = json.loads((tmp_path / "ds" / "es" / "v0.1.0" / "manifest.json").read_text())
    assert manifest["embedding_model"] == "all-MiniLM-L6-v2"
    card = (tmp_path / "ds" / "es" / "v0.1.0" / "README.md").read_text()
    assert "The filters that compare meaning embedded with `all-MiniLM-L6-v2`." in card
    # eval of the version: our side is read back; ESConv as the reference is the same
    # folder here, so its side is too.
    evaluated = cli("eval", "ds/es/v0.1.0", "--reference", str(source), "--out", "ev")
    assert evaluated.code == 0, evaluated.err
    (used,) = json.loads((tmp_path / "ev" / "report.json").read_text())["embeddings"]
    assert used["computed"] == 0 and used["reused"] > 300
    # --embeddings none: nothing read, nothing written, the same verdicts.
    before = sorted(p.name for p in (data / "embeddings" / "all-MiniLM-L6-v2").iterdir())
    fresh = cli("filter", str(source), "--out", "three", "--embeddings", "none")
    assert fresh.code == 0, fresh.err
    assert "store memory only" in fresh.out
    assert sorted(p.name for p in (data / "embeddings" / "all-MiniLM-L6-v2").iterdir()) == before
    kept_ids = [
        json.loads(x)["id"] for x in (tmp_path / "three" / "kept.jsonl").read_text().splitlines()
    ]
    assert kept_ids == [
        json.loads(x)["id"] for x in (tmp_path / "one" / "kept.jsonl").read_text().splitlines()
    ]
