"""Typed state of the request graph. Values stay JSON-native so checkpoints serialise plainly."""

from __future__ import annotations

import operator
from typing import Annotated, Any, NotRequired, TypedDict

from langgraph.channels import UntrackedValue

from graph.conversation import last_user_message as _last_user_message
from graph.conversation import standalone_question


class Params(TypedDict, total=False):
    """Sampling parameters the client asked for (already validated and bounded)."""

    max_tokens: int
    temperature: float
    top_p: float
    stop: list[str]
    user: str


class Span(TypedDict):
    """One node's run: name, wall-clock start (epoch s), latency and node-specific attributes."""

    name: str
    start: float
    latency_ms: float
    attributes: dict[str, Any]


class InputState(TypedDict):
    """The public edge of the graph: what the endpoint hands in."""

    messages: list[dict[str, str]]
    """The conversation as the client sent it: role/content pairs, content as plain text."""
    params: Params
    """Sampling parameters for generation."""
    trace_id: str
    """Id of this request's trace. Only a turn of a thread the client names is checkpointed."""
    project: NotRequired[str]
    """The caller's project (its API key's): cached answers are shared within it only."""
    local_only: NotRequired[bool]
    """The caller's spend budget is spent and its policy keeps it local: no paid call."""


class State(InputState, total=False):
    passages: list[dict[str, Any]]
    """Relevant retrieved chunks, best first: {chunk_id, source, heading, text, score}."""
    index_version: int
    """Version of the index the passages came from."""
    baseline: float | None
    """The question's mean cosine to the chunks just past the retrieved ones: what a relevant
    passage's score is read against (graph/answerability.py)."""
    confidence: float
    """How likely the answer is right (0..1, the calibrated answerability model)."""
    quoted: str
    """An unsure answer's quoted passage (what the output rails check of it)."""
    decision: str
    """What the select step decided: answer | unsure (the closest passage, said to be so) |
    none (nothing relevant: "I don't know")."""
    streamed: bool
    """True when generate already sent its text to the client as it arrived."""
    answer_mode: str
    """How the answer was made: selected (the model chose retrieved sentences) | closest (the
    nearest passage, quoted as possibly not answering) | generated | extractive (sentences
    chosen without a model) | no_context | refused."""
    cited: list[str]
    """Chunk ids the answer quotes (selected and extractive answers), in answer order."""
    escalate: str
    """Why the fallback model is asked instead (low_confidence, local_unavailable), if so."""
    prompt_version: str
    """Id and version of the prompt that produced the answer, e.g. `answer@v1`."""
    generation: dict[str, Any]
    """The model's answer with route, usage, cost and timings (a `Generation` as a dict)."""
    answer: str
    """The text returned to the client."""
    route: str
    """Which route produced the answer: local | fallback | cache | blocked."""
    citations: list[dict[str, Any]]
    """Sources the answer rests on: {source, chunk_id, score}."""
    rails: list[dict[str, Any]]
    """Verdicts of every rail that ran: name, stage, decision, score, latency_ms, reason."""
    retrieval_rails: list[dict[str, Any]]
    """Verdicts on the retrieved chunks (written by retrieve, which runs beside input_rails)."""
    blocked: dict[str, Any]
    """The verdict of the rail that stopped the request or the answer, if one did."""
    refusal: str
    """What the policy answers instead of a blocked request or answer."""
    output_checked: bool
    """True when the output rails already checked the answer as it streamed."""
    pii_values: Annotated[dict[str, str], UntrackedValue(dict, guard=False)]
    """Placeholders in the masked conversation -> the user's own values. Never checkpointed:
    a thread's saved state holds placeholders, not the map back to the values."""
    reply: Annotated[str, UntrackedValue(str, guard=False)]
    """The answer as the client gets it: `answer` with the user's own values (pii_values) put
    back in place of the placeholders. Never checkpointed."""
    cache: dict[str, Any]
    """The cache lookup: {result: hit|miss|guard_*|skipped, similarity, scope}; the stored
    answer under `entry` on a hit."""
    spans: Annotated[list[Span], operator.add]
    """One span per node, in the order the nodes ran."""


def reply(state: State) -> str:
    """What the client is answered: the answer with the user's own values put back."""
    return state["reply"] if "reply" in state else state.get("answer", "")


def last_user_message(state: InputState) -> str:
    """The user's newest turn, as sent."""
    return _last_user_message(state["messages"])


def asked(state: InputState) -> str:
    """The question this turn asks, standing on its own: a follow-up ("and for part-timers?")
    with the earlier user turns it leans on (graph/conversation.py)."""
    return standalone_question(state["messages"])


def earlier_context(state: InputState) -> str:
    """The earlier user turns this turn leans on ("" when it stands alone)."""
    full, turn = asked(state), last_user_message(state).strip()
    return full[: len(full) - len(turn)].strip() if full != turn else ""
