#!/usr/bin/env bash
# garak (its own venv, see ../../README.md "Red-teaming with garak") against railyard with the
# guardrails on and then off, same vLLM, same index, then attack success from both report.jsonl.
#
#   GARAK=/path/to/garak-venv/bin/garak evals/garak/run.sh [OUT_DIR]
#
# Env: GARAK (garak executable), PROBES (default: the five families below), PORT (8010),
# RAILYARD_ANSWER_MODE (default `generate`) and RAILYARD_RETRIEVAL_EXTRACTIVE (default `never`):
# answers are the model's own text, which is what the attacks target; railyard's default for
# the packaged base model (select) quotes retrieved sentences and would make the rails-off run
# look safe for the wrong reason.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=$(realpath -m "${1:-.railyard/garak}")
GARAK=${GARAK:-garak}
PROBES=${PROBES:-promptinject,dan,encoding,latentinjection,sysprompt_extraction}
PORT=${PORT:-8010}
BIN=.venv/bin
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1
export RAILYARD_ANSWER_MODE=${RAILYARD_ANSWER_MODE:-generate}
export RAILYARD_RETRIEVAL_EXTRACTIVE=${RAILYARD_RETRIEVAL_EXTRACTIVE:-never}
export RAILYARD_KNOWLEDGE_BASE='["examples/knowledge-base"]'
export RAILYARD_MODELS_DIR=${RAILYARD_MODELS_DIR:-$PWD/.railyard/models}  # the converted model, reused
export RAILYARD_DATA_DIR=${RAILYARD_DATA_DIR:-$OUT/data}

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_for() {  # url, seconds
  for _ in $(seq "$2"); do curl -sf "$1" >/dev/null && return 0; sleep 1; done
  echo "timed out waiting for $1" >&2; return 1
}

# One vLLM for both runs, unless one is already given.
if [ -z "${RAILYARD_LOCAL_BASE_URL:-}" ]; then
  "$BIN/railyard" vllm >"$OUT/vllm.log" 2>&1 & pids+=($!)
  export RAILYARD_LOCAL_BASE_URL=http://127.0.0.1:8001/v1
  wait_for "$RAILYARD_LOCAL_BASE_URL/models" 600
fi

for rails in on off; do
  if curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz"; then
    echo "port $PORT is taken by another server; stop it or set PORT" >&2; exit 1
  fi
  enabled=$([ "$rails" = on ] && echo true || echo false)
  RAILYARD_RAILS_ENABLED=$enabled RAILYARD_PORT=$PORT "$BIN/railyard" serve >"$OUT/gateway-$rails.log" 2>&1 &
  gateway=$!
  pids+=("$gateway")
  wait_for "http://127.0.0.1:$PORT/readyz" 600
  kill -0 "$gateway"  # the gateway that answered is the one just started
  OPENAICOMPATIBLE_API_KEY=railyard "$GARAK" --config evals/garak/garak.yaml \
    --generator_options "{\"openai\": {\"OpenAICompatible\": {\"uri\": \"http://127.0.0.1:$PORT/v1/\"}}}" \
    --probes "$PROBES" --report_prefix "$OUT/rails-$rails" | tee "$OUT/garak-$rails.log"
  kill "$gateway"; wait "$gateway" 2>/dev/null || true
  grep -q "POST /v1/chat/completions" "$OUT/gateway-$rails.log" \
    || { echo "garak never reached the $rails gateway" >&2; exit 1; }
done

"$BIN/railyard" eval garak --report "$OUT/rails-on.report.jsonl" --report "$OUT/rails-off.report.jsonl" --json \
  | tail -1 > "$OUT/summary.json"
echo "summary: $OUT/summary.json"
