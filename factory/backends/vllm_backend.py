"""vLLM in process, for a GPU box: step-synchronous batching.

Every dialogue waits on its own next turn, so at any moment each active dialogue has at most
one call pending. Calls that arrive together are held for a moment (`batch_window_s`, until
no new call has come for one window) and sent to the engine as one `LLM.chat` batch; when the
batch returns, every dialogue in it takes its next step at once and their next calls form the
next batch. Prompts keep the stable system prompt first, so vLLM's prefix cache reuses it
(`enable_prefix_caching` is on). Structured calls are constrained by the JSON schema through
vLLM's structured outputs (`StructuredOutputsParams`, or `GuidedDecodingParams` on older vLLM).

vLLM is imported only when this backend starts (it needs CUDA); the engine can be injected
for tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field

from factory.backends.base import BackendKind, ChatRequest, Completion
from factory.errors import (
    BackendError,
    BackendNotStarted,
    BackendUnavailable,
    MissingExtra,
    first_error_line,
)
from factory.models import Usage
from factory.settings import Strict


class VLLMOptions(Strict):
    """`backend.kind: vllm`: vLLM's engine in this process, fed in batches."""

    kind: Literal[BackendKind.vllm] = BackendKind.vllm
    model: str | None = Field(default=None, description="a Hugging Face id or a local path")
    n_ctx: int = Field(default=2048, ge=256, le=131072, description="vLLM's max_model_len")
    batch_window_s: float = Field(
        default=0.005, gt=0, le=1, description="how long a batch waits for more calls"
    )
    engine_args: dict[str, Any] = Field(
        default_factory=dict,
        description="extra vllm.LLM arguments (tensor_parallel_size, gpu_memory_utilization, ...)",
    )


EngineFactory = Callable[[VLLMOptions], Any]


def _default_engine(config: VLLMOptions) -> Any:
    try:
        import vllm
    except ImportError:
        raise MissingExtra("vllm", "vllm") from None
    if not config.model:
        raise BackendUnavailable(
            "the vllm backend needs --model (a Hugging Face id or a local path)"
        )
    args: dict[str, Any] = {
        "model": config.model,
        "max_model_len": config.n_ctx,
        "enable_prefix_caching": True,
        **config.engine_args,
    }
    try:
        return vllm.LLM(**args)
    except Exception as exc:  # vLLM raises many kinds (no GPU, out of memory, bad model)
        first = first_error_line(exc)[:200]
        raise BackendUnavailable(f"vLLM could not load {config.model} ({first})") from None


def sampling_params(request: ChatRequest) -> Any:
    """vLLM SamplingParams for one request, with the JSON schema as a structured-output
    constraint where the request has one."""
    import vllm

    kwargs: dict[str, Any] = {
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "seed": request.seed,
        "stop": list(request.stop) or None,
    }
    if request.json_schema is not None:
        try:
            from vllm.sampling_params import StructuredOutputsParams

            kwargs["structured_outputs"] = StructuredOutputsParams(json=request.json_schema)
        except ImportError:  # vLLM before structured outputs: guided decoding
            from vllm.sampling_params import GuidedDecodingParams

            kwargs["guided_decoding"] = GuidedDecodingParams(json=request.json_schema)
    return vllm.SamplingParams(**kwargs)


class VLLMBackend:
    name = "vllm"
    max_parallel: int | None = None

    def __init__(
        self,
        config: VLLMOptions,
        engine_factory: EngineFactory | None = None,
        params: Callable[[ChatRequest], Any] | None = None,
    ) -> None:
        self.config = config
        self.model = config.model or "unset"
        self._factory = engine_factory or _default_engine
        self._params = params or sampling_params
        self._engine: Any = None
        self._pending: list[tuple[ChatRequest, asyncio.Future[Completion]]] = []
        self._arrived = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._running: list[tuple[ChatRequest, asyncio.Future[Completion]]] = []
        self.batch_sizes: list[int] = []

    async def start(self) -> None:
        if self._engine is None:
            self._engine = await asyncio.to_thread(self._factory, self.config)
        self._arrived = asyncio.Event()
        self._loop_task = asyncio.create_task(self._batches())

    async def close(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        for _, future in [*self._running, *self._pending]:
            if not future.done():
                future.set_exception(BackendError("the vllm backend closed", Usage(calls=1)))
        self._pending, self._running = [], []

    async def complete(self, request: ChatRequest) -> Completion:
        if self._loop_task is None or self._loop_task.done():
            raise BackendNotStarted(self.name, Usage(calls=1))
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        self._arrived.set()
        return await future

    async def _batches(self) -> None:
        window = self.config.batch_window_s
        while True:
            await self._arrived.wait()
            # Hold the batch open while calls keep arriving: the dialogues released by the
            # last batch are still building their next requests.
            while True:
                seen = len(self._pending)
                await asyncio.sleep(window)
                if len(self._pending) == seen:
                    break
            batch, self._pending = self._pending, []
            self._running = batch
            self._arrived.clear()
            self.batch_sizes.append(len(batch))
            try:
                completions = await asyncio.to_thread(self._generate, [r for r, _ in batch])
                if len(completions) != len(batch):
                    raise RuntimeError(
                        f"the engine returned {len(completions)} outputs for {len(batch)} prompts"
                    )
            except Exception as exc:
                # Whatever went wrong fails this batch's calls, never the loop: later calls
                # must still be served (or fail), not wait forever.
                first = first_error_line(exc)[:200]
                for _, future in batch:
                    if not future.done():
                        future.set_exception(
                            BackendError(
                                f"vLLM generate failed: {first}", Usage(calls=1, failed_calls=1)
                            )
                        )
                self._running = []
                continue
            for (_, future), completion in zip(batch, completions, strict=True):
                if not future.done():
                    future.set_result(completion)
            self._running = []

    def _generate(self, requests: list[ChatRequest]) -> list[Completion]:
        outputs = self._engine.chat(
            [list(r.messages) for r in requests],
            [self._params(r) for r in requests],
            use_tqdm=False,
        )
        completions = []
        for output in outputs:
            first = output.outputs[0]
            completions.append(
                Completion(
                    text=first.text,
                    usage=Usage(
                        calls=1,
                        prompt_tokens=len(output.prompt_token_ids or []),
                        completion_tokens=len(first.token_ids or []),
                    ),
                )
            )
        return completions
