"""``Ollama``: a LlamaIndex ``FunctionCallingLLM`` over the ollama-provider core.

All HTTP, retries, NDJSON parsing and error mapping happen in the core (``OllamaProvider`` /
``AsyncOllamaProvider``, created on first use); this module only translates between LlamaIndex
types and the core's.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any, Literal

from llama_index.core.base.llms.generic_utils import (
    achat_to_completion_decorator,
    astream_chat_to_completion_decorator,
    chat_to_completion_decorator,
    stream_chat_to_completion_decorator,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW, DEFAULT_NUM_OUTPUTS
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.events.llm import (
    LLMStructuredPredictEndEvent,
    LLMStructuredPredictInProgressEvent,
    LLMStructuredPredictStartEvent,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import Model, ToolSelection
from llama_index.core.program.utils import FlexibleModel, process_streaming_objects
from llama_index.core.prompts import BasePromptTemplate, PromptTemplate
from llama_index.core.types import PydanticProgramMode
from llama_index.embeddings.ollama_provider.providers import (
    LazyCoreProviders,
    check_core_arguments,
    first_chunk_wait,
)

from ollama_provider import AsyncOllamaProvider, OllamaError, OllamaProvider
from ollama_provider.config import DEFAULT_FIRST_CHUNK_TIMEOUT
from ollama_provider.integrations import (
    ForcedCallAnswer,
    chosen_tools,
    decode_arguments,
    forcing_format,
    tool_names,
)

from .construction import FastConstruction, plain_arguments
from .messages import to_ollama_messages
from .model_info import ModelFacts
from .request import build_chat_kwargs
from .responses import StreamAccumulator, to_chat_response
from .structured import json_schema_format, parse_structured

if TYPE_CHECKING:
    from llama_index.core.chat_engine.types import AgentChatResponse
    from llama_index.core.tools.types import BaseTool

DEFAULT_REQUEST_TIMEOUT = 30.0
#: The chat keyword by which ``_prepare_chat_with_tools`` tells ``chat`` which tools a format forces.
FORCED_TOOLS = "_ollama_forced_tools"
ThinkSetting = bool | Literal["low", "medium", "high"] | None

dispatcher = get_dispatcher(__name__)


class Ollama(LazyCoreProviders, FunctionCallingLLM):
    """Ollama LLM for LlamaIndex: chat, completion, streaming, tools, structured output, thinking.

    Drop-in for ``llama_index.llms.ollama.Ollama`` (same constructor names). Differences that matter:
    ``base_url=None`` (the default) honours ``OLLAMA_HOST``; ``num_ctx`` is sent only when you set
    ``context_window``; ``metadata.is_function_calling_model`` comes from the model's capabilities unless
    you set ``is_function_calling_model``; ``think=False`` per call is honoured; parallel tool calls are
    never de-duplicated and keep the server's ids; ``request_timeout`` is a per-chunk read timeout (a long
    answer that keeps streaming never times out).

    Nothing touches the network until the first call:

    >>> llm = Ollama(model="llama3.2", context_window=8192, is_function_calling_model=True)
    >>> llm.metadata.context_window, llm.metadata.is_function_calling_model, llm.metadata.is_chat_model
    (8192, True, True)

    With a server running::

        from llama_index.core import Settings
        Settings.llm = Ollama(model="llama3.2", temperature=0)
        print(Settings.llm.complete("Say hi").text)
    """

    base_url: str | list[str] | None = Field(
        default=None,
        description="Ollama server URL (any form OLLAMA_HOST accepts); None reads OLLAMA_HOST, "
        "else http://127.0.0.1:11434. Several servers (comma-separated, or a list) make a pool.",
    )
    model: str = Field(description="The Ollama model to use.")
    temperature: float | None = Field(default=None, description="The temperature to use for sampling.")
    context_window: int = Field(
        default=-1,
        description="Context tokens; sent as num_ctx when set. -1: the model's own (read from /api/show).",
    )
    request_timeout: float | None = Field(
        default=DEFAULT_REQUEST_TIMEOUT,
        description="Seconds to wait for each chunk of an answer (None: wait forever).",
    )
    first_chunk_timeout: float | None = Field(
        default=DEFAULT_FIRST_CHUNK_TIMEOUT,
        gt=0,
        description="Seconds to wait for the first chunk, as given (left at its default, at least "
        "request_timeout): the request may wait in a busy server's queue or for the model to load (None: "
        "no limit). With several hosts, one that sends nothing for this long is left for the next.",
    )
    prompt_key: str = Field(default="prompt", description="Kept for compatibility; unused.")
    json_mode: bool = Field(default=False, description='Send format="json" unless a call gives a format.')
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Model options sent with every request (num_predict, seed...)."
    )
    is_function_calling_model: bool | None = Field(
        default=None, description="Tool support; None: from the model's capabilities."
    )
    keep_alive: float | str | None = Field(
        default=None, description="How long the model stays loaded after a request (e.g. '5m', 300)."
    )
    thinking: ThinkSetting = Field(
        default=None,
        description="True/False to turn thinking on/off, 'low'/'medium'/'high' for models with levels; "
        "None: the model's default.",
    )
    headers: dict[str, str] | None = Field(
        default=None, description="Extra HTTP headers (e.g. Authorization)."
    )
    retries: int = Field(default=3, ge=0, description="Retries after a connection failure or a busy server.")

    _provider: OllamaProvider | None = PrivateAttr(default=None)
    _async_provider: AsyncOllamaProvider | None = PrivateAttr(default=None)
    _client_kwargs: dict[str, Any] = PrivateAttr(default_factory=dict)
    _facts: ModelFacts | None = PrivateAttr(default=None)

    def __init__(
        self,
        model: str,
        base_url: str | list[str] | None = None,
        temperature: float | None = None,
        context_window: int = -1,
        request_timeout: float | None = DEFAULT_REQUEST_TIMEOUT,
        prompt_key: str = "prompt",
        json_mode: bool = False,
        additional_kwargs: dict[str, Any] | None = None,
        is_function_calling_model: bool | None = None,
        keep_alive: float | str | None = None,
        thinking: ThinkSetting = None,
        headers: dict[str, str] | None = None,
        retries: int = 3,
        provider: OllamaProvider | None = None,
        async_provider: AsyncOllamaProvider | None = None,
        client_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """``provider`` / ``async_provider`` share existing core providers (and their connection
        pools); ``client_kwargs`` go to the httpx clients the core builds (``verify``, ``transport``...)."""
        checked_client_kwargs = check_core_arguments("Ollama", provider, async_provider, client_kwargs)
        private = {
            "_provider": provider,
            "_async_provider": async_provider,
            "_client_kwargs": checked_client_kwargs,
            "_facts": None,
        }
        # The usual case, plain arguments, skips re-validation (see construction.py): the first such
        # construction is validated and teaches the template, later ones copy it.
        plain: dict[str, Any] | None = None
        if (
            not kwargs
            and _FAST_CONSTRUCTION.ready_for(self)
            and plain_arguments(
                model, base_url, temperature, context_window, request_timeout, prompt_key, json_mode,
                additional_kwargs, is_function_calling_model, keep_alive, thinking, headers, retries,
            )
        ):  # fmt: skip
            plain = {
                "base_url": base_url,
                "model": model,
                "temperature": temperature,
                "context_window": context_window,
                "request_timeout": request_timeout,
                "prompt_key": prompt_key,
                "json_mode": json_mode,
                "additional_kwargs": {},
                "is_function_calling_model": is_function_calling_model,
                "keep_alive": keep_alive,
                "thinking": thinking,
                "headers": headers,
                "retries": retries,
            }
            if _FAST_CONSTRUCTION.build(self, plain, private):
                return
        super().__init__(
            model=model,
            base_url=base_url,
            temperature=temperature,
            context_window=context_window,
            request_timeout=request_timeout,
            prompt_key=prompt_key,
            json_mode=json_mode,
            additional_kwargs=additional_kwargs or {},
            is_function_calling_model=is_function_calling_model,
            keep_alive=keep_alive,
            thinking=thinking,
            headers=headers,
            retries=retries,
            **kwargs,
        )
        self._provider = provider
        self._async_provider = async_provider
        self._client_kwargs = checked_client_kwargs
        if plain is not None:
            _FAST_CONSTRUCTION.learn(self, plain, private)

    @classmethod
    def class_name(cls) -> str:
        return "OllamaProvider_llm"

    # -- the core providers, built on first use ---------------------------------------------------
    def _settings(self) -> dict[str, Any]:
        return {
            "timeout": self.request_timeout,
            "first_chunk_timeout": first_chunk_wait(self.first_chunk_timeout, self.request_timeout),
            "retries": self.retries,
            "headers": dict(self.headers or {}),
            "client_kwargs": self._client_kwargs,
        }

    # -- metadata ----------------------------------------------------------------------------------
    @property
    def metadata(self) -> LLMMetadata:
        """Model name, context window and tool support. The first read may ask ``/api/show`` (once);
        async code should ``await llm.ametadata()`` first (the async methods here do)."""
        return LLMMetadata(
            context_window=self._context_window(self._known_facts) or DEFAULT_CONTEXT_WINDOW,
            num_output=self._num_output(),
            model_name=self.model,
            is_chat_model=True,
            is_function_calling_model=bool(self._function_calling(self._known_facts)),
        )

    async def ametadata(self) -> LLMMetadata:
        """``metadata``, reading ``/api/show`` asynchronously if it has not been read yet."""
        if self._needs_facts() and self._facts is None:
            try:
                self._facts = ModelFacts.from_show(await self.async_provider.show_model(self.model))
            except OllamaError as error:
                self._facts = ModelFacts.fallback(self.model, error)
        return self.metadata

    def _needs_facts(self) -> bool:
        return self.context_window <= 0 or self.is_function_calling_model is None

    def _known_facts(self) -> ModelFacts:
        if self._facts is None:
            try:
                self._facts = ModelFacts.from_show(self.provider.show_model(self.model))
            except OllamaError as error:
                self._facts = ModelFacts.fallback(self.model, error)
        return self._facts

    def _context_window(self, facts: Callable[[], ModelFacts | None]) -> int | None:
        if self.context_window > 0:
            return self.context_window
        known = facts()
        return known.context_window if known else None

    def _function_calling(self, facts: Callable[[], ModelFacts | None]) -> bool | None:
        if self.is_function_calling_model is not None:
            return self.is_function_calling_model
        known = facts()
        return known.supports_tools if known else None

    def _num_output(self) -> int:
        num_predict = self.additional_kwargs.get("num_predict")
        return num_predict if isinstance(num_predict, int) and num_predict > 0 else DEFAULT_NUM_OUTPUTS

    def to_payload(self) -> dict[str, Any]:
        """What callbacks and instrumentation events see. Never does I/O: facts not fetched yet are None.

        LlamaIndex builds it before every request: the facts are read once, from pydantic's private
        dict (a plain read of a private attribute goes through pydantic's slow ``__getattr__``)."""
        facts: ModelFacts | None = self.__pydantic_private__["_facts"]  # type: ignore[index]
        context_window: int | None = self.context_window
        if context_window is None or context_window <= 0:
            context_window = facts.context_window if facts is not None else None
        calling = self.is_function_calling_model
        if calling is None and facts is not None:
            calling = facts.supports_tools
        return {
            "class_name": self.class_name(),
            "model_name": self.model,
            "context_window": context_window,
            "num_output": self._num_output(),
            "is_chat_model": True,
            "is_function_calling_model": calling,
        }

    # -- request building --------------------------------------------------------------------------
    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"temperature": self.temperature}
        if self.context_window > 0:  # otherwise the server's own choice stands
            options["num_ctx"] = self.context_window
        options.update(self.additional_kwargs)
        return options

    def _chat_kwargs(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> tuple[dict[str, Any], ForcedCallAnswer | None]:
        """The core ``chat`` arguments, and the reader of a forced call (see ``_prepare_chat_with_tools``)."""
        kwargs = dict(kwargs)
        forced = kwargs.pop(FORCED_TOOLS, None)
        core_kwargs = {
            "model": self.model,
            "messages": to_ollama_messages(messages),
            **build_chat_kwargs(
                kwargs,
                options=self._options(),
                thinking=self.thinking,
                json_mode=self.json_mode,
                keep_alive=self.keep_alive,
            ),
        }
        return core_kwargs, ForcedCallAnswer(forced) if forced else None

    # -- chat ----------------------------------------------------------------------------------------
    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        core_kwargs, forced = self._chat_kwargs(messages, kwargs)
        answer = self.provider.chat(**core_kwargs)
        return to_chat_response(forced.whole(answer) if forced else answer)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        core_kwargs, forced = self._chat_kwargs(messages, kwargs)
        stream = self.provider.chat(**core_kwargs, stream=True)

        def gen() -> ChatResponseGen:
            accumulator = StreamAccumulator()
            with stream:  # leaving the loop early closes the HTTP response
                for chunk in stream:
                    yield accumulator.add(forced.chunk(chunk) if forced else chunk)

        return gen()

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        core_kwargs, forced = self._chat_kwargs(messages, kwargs)
        answer = await self.async_provider.chat(**core_kwargs)
        return to_chat_response(forced.whole(answer) if forced else answer)

    @llm_chat_callback()
    async def astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        core_kwargs, forced = self._chat_kwargs(messages, kwargs)
        stream = await self.async_provider.chat(**core_kwargs, stream=True)

        async def gen() -> ChatResponseAsyncGen:
            accumulator = StreamAccumulator()
            async with stream:
                async for chunk in stream:
                    yield accumulator.add(forced.chunk(chunk) if forced else chunk)

        return gen()

    # -- completion (through /api/chat, as the official integration does) ---------------------------
    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return chat_to_completion_decorator(self.chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return await achat_to_completion_decorator(self.achat)(prompt, **kwargs)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        return stream_chat_to_completion_decorator(self.stream_chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        return await astream_chat_to_completion_decorator(self.astream_chat)(prompt, **kwargs)

    # -- async paths that read metadata: fetch it asynchronously first -------------------------------
    async def apredict(self, prompt: BasePromptTemplate, **prompt_args: Any) -> str:
        await self.ametadata()
        return await super().apredict(prompt, **prompt_args)

    async def astream(self, prompt: BasePromptTemplate, **prompt_args: Any) -> Any:
        await self.ametadata()
        return await super().astream(prompt, **prompt_args)

    async def apredict_and_call(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        error_on_no_tool_call: bool = True,
        error_on_tool_error: bool = False,
        **kwargs: Any,
    ) -> AgentChatResponse:
        await self.ametadata()
        return await super().apredict_and_call(
            tools,
            user_msg=user_msg,
            chat_history=chat_history,
            verbose=verbose,
            allow_parallel_tool_calls=allow_parallel_tool_calls,
            error_on_no_tool_call=error_on_no_tool_call,
            error_on_tool_error=error_on_tool_error,
            **kwargs,
        )

    # -- tools ---------------------------------------------------------------------------------------
    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Tool specs in OpenAI form (what Ollama takes); other keywords (``format``, ``think``...) go
        on to ``chat``.

        Ollama has no ``tool_choice``: a call is forced as the LangChain adapter forces it, with a
        JSON-schema ``format`` admitting only a call of the chosen tool(s), and a call the model
        answers as JSON text becomes the tool call. ``tool_required=True`` forces one of the tools,
        ``tool_choice`` (what ``FunctionAgent(initial_tool_choice=...)`` passes) takes a tool name,
        ``"required"``/``"any"``, ``"auto"`` or ``"none"`` (no tools sent). A ``format`` given by
        the caller is sent as it is, in place of the forcing one."""
        messages = list(chat_history or [])  # never mutate the caller's history
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        specs = [tool.metadata.to_openai_tool(skip_length_check=True) for tool in tools]
        tool_choice = kwargs.pop("tool_choice", None)
        if tool_required and tool_choice in (None, "auto") and specs:
            tool_choice = "required"
        chosen = chosen_tools(specs, tool_choice)
        if chosen == []:
            specs = []
        elif chosen and kwargs.get("format") is None:
            kwargs["format"] = forcing_format(chosen)
            kwargs[FORCED_TOOLS] = tool_names(chosen)
        return {"messages": messages, "tools": specs or None, **kwargs}

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        """Without ``allow_parallel_tool_calls`` only the first call is kept (LlamaIndex's contract)."""
        if not allow_parallel_tool_calls:
            calls = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
            if len(calls) > 1:
                others = [b for b in response.message.blocks if not isinstance(b, ToolCallBlock)]
                response.message.blocks = [*others, calls[0]]
        return response

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        """Every tool call of the answer, in order, with the server's call id as ``tool_id``."""
        calls = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
        if not calls and error_on_no_tool_call:
            raise ValueError(f"Expected at least one tool call, but got 0 (model {self.model!r}).")
        return [
            ToolSelection(
                tool_id=call.tool_call_id or call.tool_name,
                tool_name=call.tool_name,
                tool_kwargs=decode_arguments(call.tool_kwargs),
            )
            for call in calls
        ]

    # -- structured output: JSON-schema format -------------------------------------------------------
    def _structured_messages(
        self, prompt: BasePromptTemplate, prompt_args: dict[str, Any]
    ) -> list[ChatMessage]:
        return self._extend_messages(prompt.format_messages(llm=self, **prompt_args))

    @staticmethod
    def _with_format(output_cls: type[Model], llm_kwargs: dict[str, Any] | None) -> dict[str, Any]:
        return {**(llm_kwargs or {}), "format": json_schema_format(output_cls)}

    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        """Ask for ``output_cls`` through a JSON-schema ``format``; raises ``StructuredOutputError``
        (a ``ValueError``) naming the fields when the answer does not validate."""
        if self.pydantic_program_mode != PydanticProgramMode.DEFAULT:
            fallback: Model = super().structured_predict(output_cls, prompt, llm_kwargs, **prompt_args)
            return fallback
        dispatcher.event(
            LLMStructuredPredictStartEvent(output_cls=output_cls, template=prompt, template_args=prompt_args)
        )
        messages = self._structured_messages(prompt, prompt_args)
        response = self.chat(messages, **self._with_format(output_cls, llm_kwargs))
        result = parse_structured(output_cls, response.message.content or "")
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result

    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        """Async :meth:`structured_predict`."""
        await self.ametadata()
        if self.pydantic_program_mode != PydanticProgramMode.DEFAULT:
            fallback: Model = await super().astructured_predict(output_cls, prompt, llm_kwargs, **prompt_args)
            return fallback
        dispatcher.event(
            LLMStructuredPredictStartEvent(output_cls=output_cls, template=prompt, template_args=prompt_args)
        )
        messages = self._structured_messages(prompt, prompt_args)
        response = await self.achat(messages, **self._with_format(output_cls, llm_kwargs))
        result = parse_structured(output_cls, response.message.content or "")
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result

    def stream_structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Model | FlexibleModel, None, None]:
        """Partial objects while the answer streams, then the validated ``output_cls`` instance
        (``StructuredOutputError`` if the finished answer does not validate)."""
        if self.pydantic_program_mode != PydanticProgramMode.DEFAULT:
            return super().stream_structured_predict(output_cls, prompt, llm_kwargs, **prompt_args)
        dispatcher.event(
            LLMStructuredPredictStartEvent(output_cls=output_cls, template=prompt, template_args=prompt_args)
        )
        messages = self._structured_messages(prompt, prompt_args)
        responses = self.stream_chat(messages, **self._with_format(output_cls, llm_kwargs))

        def gen() -> Generator[Model | FlexibleModel, None, None]:
            partials = _PartialObjects(output_cls)
            for response in responses:
                partial = partials.update(response)
                if partial is not None:
                    yield partial
            result = partials.finish()
            dispatcher.event(LLMStructuredPredictEndEvent(output=result))
            yield result

        return gen()

    async def astream_structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Model | FlexibleModel, None]:
        """Async :meth:`stream_structured_predict`."""
        await self.ametadata()
        if self.pydantic_program_mode != PydanticProgramMode.DEFAULT:
            return await super().astream_structured_predict(output_cls, prompt, llm_kwargs, **prompt_args)
        dispatcher.event(
            LLMStructuredPredictStartEvent(output_cls=output_cls, template=prompt, template_args=prompt_args)
        )
        messages = self._structured_messages(prompt, prompt_args)
        responses = await self.astream_chat(messages, **self._with_format(output_cls, llm_kwargs))

        async def gen() -> AsyncGenerator[Model | FlexibleModel, None]:
            partials = _PartialObjects(output_cls)
            async for response in responses:
                partial = partials.update(response)
                if partial is not None:
                    yield partial
            result = partials.finish()
            dispatcher.event(LLMStructuredPredictEndEvent(output=result))
            yield result

        return gen()


class _PartialObjects:
    """Partial objects of a streamed structured answer, and the validated one at the end."""

    def __init__(self, output_cls: type[Any]) -> None:
        self.output_cls = output_cls
        self.current: list[Any] | None = None
        self.text = ""

    def update(self, response: ChatResponse) -> Any:
        self.text = response.message.content or ""
        try:
            objects = process_streaming_objects(
                response, self.output_cls, cur_objects=self.current, flexible_mode=True
            )
        except Exception:  # a prefix of JSON often does not parse yet: wait for more
            return None
        self.current = objects if isinstance(objects, list) else [objects]
        dispatcher.event(LLMStructuredPredictInProgressEvent(output=objects))
        return objects

    def finish(self) -> Any:
        return parse_structured(self.output_cls, self.text)


_FAST_CONSTRUCTION = FastConstruction(Ollama)
