"""``OllamaLLM``: a LangChain text-completion model over the core's ``generate``.

>>> from langchain_ollama_provider import OllamaLLM
>>> llm = OllamaLLM(model="llama3.2", num_predict=32, reasoning=False)
>>> llm._llm_type, llm._get_ls_params()["ls_max_tokens"]
('ollama-llm', 32)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseLLM, LangSmithParams
from langchain_core.outputs import Generation, GenerationChunk, LLMResult
from pydantic import model_validator
from typing_extensions import Self

from ollama_provider import GenerateResponse

from ._options import _GenerationSettings
from ._responses import final_metadata, logprob_dicts


def _chunk(response: GenerateResponse) -> GenerationChunk:
    info: dict[str, Any] = {}
    if response.thinking:
        # Both keys, concatenated across chunks when they are added: langchain-ollama's streamed
        # chunks carry "reasoning_content", its invoke/generate result "thinking" (ours before).
        info["reasoning_content"] = info["thinking"] = response.thinking
    logprobs = logprob_dicts(response.logprobs)
    if logprobs is not None:
        info["logprobs"] = logprobs
    if response.done:
        info.update(final_metadata(response))
        info["usage"] = {
            "input_tokens": response.usage.prompt_tokens,
            "output_tokens": response.usage.completion_tokens,
            "total_tokens": response.usage.total_tokens,
        }
    return GenerationChunk(text=response.response, generation_info=info or None)


def _aggregate(chunks: list[GenerationChunk]) -> Generation:
    if not chunks:
        raise ValueError("Ollama returned an empty stream")
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return Generation(text=total.text, generation_info=total.generation_info)


class OllamaLLM(_GenerationSettings, BaseLLM):
    """Complete prompts with a model served by Ollama (``/api/generate``).

    Streams under the hood so callbacks see every token. Thinking, when the model returns it, is in
    ``generation_info["reasoning_content"]`` (where ``langchain-ollama`` streams it) and, the same
    text, ``generation_info["thinking"]`` (where its ``generate`` result has it), streamed or not,
    also when ``reasoning`` is unset and the model thinks by default; the last chunk's
    ``generation_info`` carries the model, finish reason, token counts (``usage``) and timings.
    """

    @model_validator(mode="after")
    def _validate(self) -> Self:
        if self.validate_model_on_init:
            self._check_model(self.model)
        return self

    @property
    def _llm_type(self) -> str:
        return "ollama-llm"

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_ollama_provider", "llms"]

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return cast(LangSmithParams, {"ls_model_type": "llm", **self._ls_common(stop, kwargs)})

    def _generate_request(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs = dict(kwargs)
        request = self._request_kwargs(stop, kwargs)
        for name in ("system", "suffix", "template", "raw", "images", "context", "logprobs", "top_logprobs"):
            if name in kwargs:
                request[name] = kwargs.pop(name)
        kwargs.pop("stream", None)
        if kwargs:
            raise TypeError(f"OllamaLLM got unexpected keyword arguments: {sorted(kwargs)}")
        return request

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        request = self._generate_request(stop, kwargs)
        with self.provider.generate(prompt, stream=True, **request) as responses:
            for response in responses:
                chunk = _chunk(response)
                if run_manager:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk, verbose=self.verbose)
                yield chunk

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        request = self._generate_request(stop, kwargs)
        async with await self.async_provider.generate(prompt, stream=True, **request) as responses:
            async for response in responses:
                chunk = _chunk(response)
                if run_manager:
                    await run_manager.on_llm_new_token(chunk.text, chunk=chunk, verbose=self.verbose)
                yield chunk

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        generations = [[_aggregate(list(self._stream(p, stop, run_manager, **kwargs)))] for p in prompts]
        return LLMResult(generations=generations)

    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        generations: list[list[Generation]] = []
        for prompt in prompts:
            chunks = [chunk async for chunk in self._astream(prompt, stop, run_manager, **kwargs)]
            generations.append([_aggregate(chunks)])
        return LLMResult(generations=generations)
