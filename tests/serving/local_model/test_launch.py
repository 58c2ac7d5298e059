"""The vLLM command line: CPU flags measured to matter, GPU flags, the prompt style."""

from __future__ import annotations

from serving.local_model.launch import build_command, cpu_dtype
from serving.settings import Settings


def test_cpu_command_for_the_packaged_base_model():
    command = build_command(Settings(local_device="cpu", local_port=8123), "/models/gemma")
    argv = command.argv
    assert argv[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    assert argv[argv.index("--model") + 1] == "/models/gemma"
    assert argv[argv.index("--port") + 1] == "8123"
    assert argv[argv.index("--dtype") + 1] == cpu_dtype()
    assert "--enforce-eager" in argv
    assert argv[argv.index("--chat-template") + 1].endswith("completion.jinja")
    assert command.env["VLLM_CPU_KVCACHE_SPACE"] == "2"
    assert command.env["HF_HUB_OFFLINE"] == "1"


def test_gpu_command_for_an_instruct_model():
    settings = Settings(
        local_device="gpu",
        local_model="Qwen/Qwen2.5-1.5B-Instruct",
        local_extra_args=["--seed", "0"],
    )
    command = build_command(settings, settings.local_model)
    assert "--gpu-memory-utilization" in command.argv
    assert "--enforce-eager" not in command.argv and "--dtype" not in command.argv
    assert "--chat-template" not in command.argv  # the instruct model's own template
    assert "HF_HUB_OFFLINE" not in command.env  # a GPU server may download its model
    assert command.argv[-2:] == ["--seed", "0"]


def test_bf16_only_where_the_cpu_has_bf16_matrix_instructions(tmp_path):
    for flags, dtype in (("fpu avx2 avx512f amx_bf16", "bfloat16"),
                         ("fpu avx2 avx512f avx512_bf16", "bfloat16"),
                         ("fpu sse4_2 avx2 fma", "float32")):  # fmt: skip
        cpuinfo = tmp_path / "cpuinfo"
        cpuinfo.write_text(f"processor : 0\nflags : {flags}\n")
        assert cpu_dtype(cpuinfo) == dtype
    assert cpu_dtype(tmp_path / "missing") == "float32"
