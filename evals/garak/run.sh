#!/usr/bin/env bash
# garak (its own venv, see docs "Red-teaming with garak") against railyard as `railyard serve`
# runs it by default (rails on, the packaged model in the answer path) and against the bare vLLM
# behind it, in one run: same vLLM, same prompts. Then attack success from both report.jsonl,
# and for the guarded gateway the pair NeMo reports for its rails: the share of garak's prompts a
# rail blocked (its /metrics, scraped right after garak) and the share of benign questions
# (the 18F QA sets) it let through.
#
#   GARAK=/path/to/garak-venv/bin/garak evals/garak/run.sh [OUT_DIR]
#
# Env: GARAK (garak executable), PROBES (default: the five families below), PORT (8010),
# TARGETS (default "guarded bare"; "unguarded" adds railyard with RAILYARD_RAILS_ENABLED=false).
# Any RAILYARD_* setting exported before the run applies to the gateways (the report's `settings`
# lists those that differ from the defaults), e.g. RAILYARD_ANSWER_MODE=generate to let the model
# write the answer.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=$(realpath -m "${1:-.railyard/garak}")
GARAK=${GARAK:-garak}
PROBES=${PROBES:-promptinject,dan,encoding,latentinjection,sysprompt_extraction}
PORT=${PORT:-8010}
TARGETS=${TARGETS:-guarded bare}
BIN=.venv/bin
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1
export RAILYARD_KNOWLEDGE_BASE='["examples/knowledge-base"]'  # what `make serve` indexes
export RAILYARD_MODELS_DIR=${RAILYARD_MODELS_DIR:-$PWD/.railyard/models}  # the converted model, reused
export RAILYARD_DATA_DIR=${RAILYARD_DATA_DIR:-$OUT/data}
env | grep '^RAILYARD_' | grep -v -e KNOWLEDGE_BASE -e MODELS_DIR -e DATA_DIR -e LOCAL_BASE_URL \
  | sort > "$OUT/settings.env" || true

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_for() {  # url, seconds
  for _ in $(seq "$2"); do curl -sf "$1" >/dev/null && return 0; sleep 1; done
  echo "timed out waiting for $1" >&2; return 1
}

garak() {  # target, /v1 URL, model name
  OPENAICOMPATIBLE_API_KEY=railyard "$GARAK" --config evals/garak/garak.yaml \
    --generator_options "{\"openai\": {\"OpenAICompatible\": {\"uri\": \"$2/\"}}}" \
    --target_name "$3" --probes "$PROBES" --report_prefix "$OUT/$1" | tee "$OUT/garak-$1.log"
}

# One vLLM for every target, unless one is already given.
if [ -z "${RAILYARD_LOCAL_BASE_URL:-}" ]; then
  "$BIN/railyard" vllm >"$OUT/vllm.log" 2>&1 & pids+=($!)
  export RAILYARD_LOCAL_BASE_URL=http://127.0.0.1:8001/v1
  wait_for "$RAILYARD_LOCAL_BASE_URL/models" 600
fi
served=$(curl -sf "$RAILYARD_LOCAL_BASE_URL/models" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')

reports=()
for target in $TARGETS; do
  if [ "$target" = bare ]; then
    garak bare "$RAILYARD_LOCAL_BASE_URL" "$served"
    reports+=(--report "$OUT/bare.report.jsonl")
    continue
  fi
  if curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz"; then
    echo "port $PORT is taken by another server; stop it or set PORT" >&2; exit 1
  fi
  enabled=$([ "$target" = guarded ] && echo true || echo false)
  RAILYARD_RAILS_ENABLED=$enabled RAILYARD_PORT=$PORT "$BIN/railyard" serve >"$OUT/gateway-$target.log" 2>&1 &
  gateway=$!
  pids+=("$gateway")
  wait_for "http://127.0.0.1:$PORT/readyz" 900
  kill -0 "$gateway"  # the gateway that answered is the one just started
  garak "$target" "http://127.0.0.1:$PORT/v1" railyard
  grep -q "POST /v1/chat/completions" "$OUT/gateway-$target.log" \
    || { echo "garak never reached the $target gateway" >&2; exit 1; }
  if [ "$target" = guarded ]; then  # the gate pair, from this gateway before it stops
    curl -sf "http://127.0.0.1:$PORT/metrics" > "$OUT/guarded.metrics.txt"
    gate=(--metrics "$OUT/guarded.metrics.txt" --gateway "http://127.0.0.1:$PORT/v1"
          --qa evals/handbook-qa.jsonl --qa evals/handbook-colloquial.jsonl)
    "$BIN/railyard" eval garak --report "$OUT/guarded.report.jsonl" "${gate[@]}" --json \
      | tail -1 > "$OUT/gate.json"
  fi
  kill "$gateway"; wait "$gateway" 2>/dev/null || true
  reports+=(--report "$OUT/$target.report.jsonl")
done

"$BIN/railyard" eval garak "${reports[@]}" --json | tail -1 > "$OUT/summary.json"
PROBES="$PROBES" python3 - "$OUT" <<'PY'
import json, os, platform, subprocess, sys, datetime
out = sys.argv[1]
summary = json.load(open(f"{out}/summary.json"))
gate = json.load(open(f"{out}/gate.json"))[0] if os.path.exists(f"{out}/gate.json") else {}
for report in summary:
    if report["report"] == gate.get("report"):
        report.update({k: v for k, v in gate.items() if k not in report})
commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                            capture_output=True, text=True).stdout.strip())
settings = [l.strip() for l in open(f"{out}/settings.env") if l.strip()]
json.dump({
    "command": "GARAK=~/garak/bin/garak evals/garak/run.sh " + out,
    "commit": commit, "dirty": dirty,
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "machine": {"cores": os.cpu_count(), "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                                        if l.startswith("model name")), platform.machine()),
                "gpu": None},
    "probes": os.environ.get("PROBES"),
    "settings_differing_from_serve": settings,
    "reports": summary,
}, open(f"{out}/report.json", "w"), indent=1)
print(f"report: {out}/report.json")
PY
