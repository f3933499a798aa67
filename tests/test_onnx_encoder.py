"""The optional int8 encoder (FACTORY_EMBED_BACKEND=onnx-int8): exported once from the local
MiniLM and cached, vectors of unit length close to the torch ones, stored apart from them,
and a misspelt backend refused with one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from factory.embedding_store import EmbeddingStore
from factory.embeddings import MINILM, embedding_model
from tests.clean_runs import invoke
from tests.test_filters import SHARED, dialogue

TEXTS = [
    "My dog died last week and the house feels empty.",
    "Last week my dog passed away and now my home feels so empty.",
    "I have three exams tomorrow and have not studied at all.",
    "hi",
    "I lost my job in March. " * 80,  # past the 256-token cut
]


@pytest.fixture(scope="module")
def encoders(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("sentence_transformers")
    from factory.embeddings import minilm_encoder

    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTORY_CACHE_DIR", str(cache))
        patch.setenv("FACTORY_EMBED_BACKEND", "onnx-int8")
        int8 = minilm_encoder()
        exported = sorted((cache / "onnx").iterdir())
        stamp = exported[0].stat().st_mtime_ns
        int8_again = minilm_encoder()  # a second load reads the cached graph
        assert [p.stat().st_mtime_ns for p in sorted((cache / "onnx").iterdir())] == [stamp]
        patch.setenv("FACTORY_EMBED_BACKEND", "torch")
        return {"torch": minilm_encoder(), "int8": int8, "int8_again": int8_again}, exported


def test_the_int8_graph_is_exported_once_into_the_cache(encoders):
    _, exported = encoders
    assert [p.name.endswith("-int8.onnx") for p in exported] == [True]  # no partial files left


def test_int8_vectors_are_unit_length_and_close_to_torch(encoders):
    models, _ = encoders
    torch_vectors = np.asarray(models["torch"](TEXTS))
    int8 = np.asarray(models["int8"](TEXTS))
    assert int8.shape == torch_vectors.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-4)
    cosine = (int8 * torch_vectors).sum(axis=1)
    assert cosine.min() > 0.97, cosine
    # Close, not equal: int8 weights move every vector a little.
    assert cosine.max() < 0.99999
    # What the filters rely on survives: paraphrases close, other stories far.
    assert float(int8[0] @ int8[1]) > 0.8
    assert float(int8[0] @ int8[2]) < 0.4


def test_int8_batches_and_order_do_not_change_a_vector(encoders):
    models, _ = encoders
    alone = np.asarray(models["int8_again"]([TEXTS[2]]))[0]
    among = np.asarray(models["int8"](list(reversed(TEXTS))))[len(TEXTS) - 3]
    assert np.allclose(alone, among, atol=1e-5)


def test_int8_vectors_are_stored_apart_from_torch_ones(tmp_path, monkeypatch):
    assert embedding_model() == MINILM
    monkeypatch.setenv("FACTORY_EMBED_BACKEND", "onnx-int8")
    assert embedding_model() == f"{MINILM}+onnx-int8"
    store = EmbeddingStore(tmp_path, make_encoder=lambda: lambda texts: np.eye(len(texts), 4))
    store.embed(["a", "b"])
    store.flush()
    assert [p.name for p in tmp_path.iterdir()] == [f"{MINILM}+onnx-int8"]


def test_an_unknown_backend_is_one_line_and_exit_1(tmp_path, monkeypatch):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(dialogue(id="a").model_dump(exclude_none=True)) + "\n")
    monkeypatch.setenv("FACTORY_EMBED_BACKEND", "onnx-fp4")
    result = invoke("filter", str(source), "--out", str(tmp_path / "out"))
    assert result.code == 1
    assert "FACTORY_EMBED_BACKEND is 'onnx-fp4': use one of torch, onnx-int8" in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert not (tmp_path / "out" / "kept.jsonl").exists()


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not present")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_int8_keeps_what_torch_keeps_on_esconv_and_the_card_names_it(
    cli, encoders, tmp_path, monkeypatch
):
    """ESConv's test split through the default recipe with each encoder: the same dialogues
    kept and dropped (the thresholds were calibrated on torch vectors), the int8 vectors in
    their own store folder, and the version's manifest and card naming the encoder."""
    _, exported = encoders
    monkeypatch.setenv("FACTORY_CACHE_DIR", str(exported[0].parent.parent))
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "test.jsonl"
    imported = cli(
        "import", "esconv", str(SHARED / "esconv" / "esconv_test.jsonl"), "-o", str(source)
    )
    assert imported.code == 0, imported.err
    torch_run = cli("filter", str(source), "--out", "torch", "--embeddings", "none")
    assert torch_run.code == 0, torch_run.err
    monkeypatch.setenv("FACTORY_EMBED_BACKEND", "onnx-int8")
    int8_run = cli("filter", str(source), "--out", "int8")
    assert int8_run.code == 0, int8_run.err

    def fates(out: str) -> dict[str, str]:
        folder = tmp_path / out
        kept = {
            json.loads(x)["id"]: "kept" for x in (folder / "kept.jsonl").read_text().splitlines()
        }
        for line in (folder / "rejected.jsonl").read_text().splitlines():
            row = json.loads(line)
            kept[row["id"]] = next(v["filter"] for v in row["verdicts"] if not v["keep"])
        return kept

    assert fates("int8") == fates("torch")
    used = json.loads((tmp_path / "int8" / "report.json").read_text())["embeddings"]
    assert used["model"] == "all-MiniLM-L6-v2+onnx-int8"
    assert used["store"] == str(tmp_path / "embeddings" / "all-MiniLM-L6-v2+onnx-int8")
    curated = cli("curate", str(source), "--name", "es", "--root", "ds")
    assert curated.code == 0, curated.err
    version = tmp_path / "ds" / "es" / "v0.1.0"
    assert json.loads((version / "manifest.json").read_text())["embedding_model"] == (
        "all-MiniLM-L6-v2+onnx-int8"
    )
    assert "embedded with `all-MiniLM-L6-v2+onnx-int8`" in (version / "README.md").read_text()


def test_a_store_sent_elsewhere_keeps_its_encoder(encoders, monkeypatch):
    # A Ray actor gets a pickled copy of the run's store: whatever the actor's own
    # environment says, the copy embeds with the backend its name was chosen for.
    import pickle

    models, exported = encoders
    monkeypatch.setenv("FACTORY_CACHE_DIR", str(exported[0].parent.parent))
    monkeypatch.setenv("FACTORY_EMBED_BACKEND", "onnx-int8")
    shipped = pickle.dumps(EmbeddingStore(None))
    monkeypatch.setenv("FACTORY_EMBED_BACKEND", "torch")
    copy = pickle.loads(shipped)
    assert copy.model == f"{MINILM}+onnx-int8"
    vector = np.asarray(copy.embed([TEXTS[0]]))[0]
    assert np.allclose(vector, np.asarray(models["int8"]([TEXTS[0]]))[0], atol=1e-5)
    assert not np.allclose(vector, np.asarray(models["torch"]([TEXTS[0]]))[0], atol=1e-3)
