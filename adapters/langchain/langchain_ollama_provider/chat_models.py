"""``ChatOllama``: a LangChain chat model over the ollama-provider core.

A drop-in for ``langchain_ollama.ChatOllama`` (same constructor names), with the core's pooled,
retried transport underneath. Construction does no I/O.

>>> from langchain_ollama_provider import ChatOllama
>>> llm = ChatOllama(model="llama3.2", temperature=0, max_tokens=64, max_retries=1)
>>> llm.num_predict, llm._get_ls_params(model="qwen2.5:7b")["ls_model_name"]
(64, 'qwen2.5:7b')
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from operator import itemgetter
from typing import Any, Literal, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import PydanticOutputParser
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import field_validator, model_validator
from typing_extensions import Self

from ollama_provider import ChatResponse, InvalidRequestError
from ollama_provider.integrations import check_logprobs, forcing_format, tool_names

from ._answers import ChatAnswer
from ._messages import to_ollama_messages
from ._options import _GenerationSettings
from ._responses import ChatChunkTranslator, chunk_from_parts, is_load_only
from ._structured import (
    StrictJsonOutputParser,
    StrictKeyToolsParser,
    StrictPydanticToolsParser,
    is_pydantic_class,
    resolve_response_format,
    schema_format,
)
from ._tools import ToolChoice, chosen_tools, to_ollama_tool

StructuredMethod = Literal["function_calling", "json_mode", "json_schema"]

_log = logging.getLogger(__name__)


def _skipped(response: ChatResponse) -> bool:
    """Whether to leave out this chunk: the empty answer of a model load (see ``is_load_only``)."""
    if not response.done or not is_load_only(response):
        return False
    _log.warning(
        "Ollama answered done_reason='load' with no content: it loaded %s and generated nothing "
        "(was the message list empty?); the chunk is left out.",
        response.model,
    )
    return True


# langchain-ollama's wording, kept so that code matching its errors and warning filters still work.
TOP_LOGPROBS_NOT_POSITIVE = "`top_logprobs` must be a positive integer."
TOP_LOGPROBS_WITHOUT_LOGPROBS = (
    "`top_logprobs` is set but `logprobs` is explicitly `False`. "
    "Either set `logprobs=True` to use `top_logprobs`, or remove `top_logprobs`."
)
LOGPROBS_TURNED_ON = (
    "`top_logprobs` is set but `logprobs` was not explicitly enabled. Setting `logprobs=True` automatically."
)


def check_top_logprobs_value(top_logprobs: int | None) -> int | None:
    """A positive integer (as in ``langchain-ollama``), at most 20 (the server's limit)."""
    if isinstance(top_logprobs, int) and not isinstance(top_logprobs, bool) and top_logprobs < 1:
        raise InvalidRequestError(f"{TOP_LOGPROBS_NOT_POSITIVE} Got {top_logprobs}.")
    check_logprobs(top_logprobs)
    return top_logprobs


def check_top_logprobs(top_logprobs: int | None, logprobs: bool | None) -> bool | None:
    """``top_logprobs`` needs ``logprobs``: returns the ``logprobs`` to send, ``True`` with a
    warning when only ``top_logprobs`` was set, and refuses ``logprobs=False``."""
    if top_logprobs is None:
        return logprobs
    check_top_logprobs_value(top_logprobs)
    if logprobs is False:
        raise InvalidRequestError(TOP_LOGPROBS_WITHOUT_LOGPROBS)
    if logprobs is None:
        warnings.warn(LOGPROBS_TURNED_ON, UserWarning, stacklevel=3)
        return True
    return logprobs


class ChatOllama(_GenerationSettings, BaseChatModel):
    """Chat with a model served by Ollama.

    Sync and async ``invoke`` / ``stream`` / ``batch``; every token reaches the callbacks with its
    chunk; the last chunk carries ``usage_metadata`` and ``response_metadata`` (model, ``done_reason``,
    ``finish_reason``, durations, ``timings``). Tools via :meth:`bind_tools` (``tool_choice`` emulated,
    see there), structured output via :meth:`with_structured_output`, thinking via ``reasoning``
    (returned as ``additional_kwargs["reasoning_content"]`` and a reasoning content block), images
    as data URLs, base64 or standard image content blocks.

    ``invoke`` streams from the server and aggregates, like the official integration; pass
    ``stream=False`` to ``invoke`` for one non-streamed request.

    >>> ChatOllama(model="llama3.2", base_url="gpu-box:11434", request_timeout=120).timeout
    120.0
    """

    streaming: bool = False
    """Whether ``invoke`` should go through ``stream`` (and its callbacks) by default."""

    logprobs: bool | None = None
    """Return the log probability of every token (in ``response_metadata["logprobs"]``)."""

    top_logprobs: int | None = None
    """How many alternatives to return per token, 1 to 20. Set alone, it turns ``logprobs`` on with a
    ``UserWarning``; with ``logprobs=False`` it is an error (both as in ``langchain-ollama``)."""

    @field_validator("top_logprobs")
    @classmethod
    def _valid_top_logprobs(cls, value: int | None) -> int | None:
        return check_top_logprobs_value(value)  # a ValueError: pydantic names the field

    @model_validator(mode="after")
    def _validate(self) -> Self:
        self.logprobs = check_top_logprobs(self.top_logprobs, self.logprobs)
        if self.validate_model_on_init:
            self._check_model(self.model)
        return self

    # -- identity, tracing, serialisation ----------------------------------------------------------
    @property
    def _llm_type(self) -> str:
        return "chat-ollama"

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_ollama_provider", "chat_models"]

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return cast(LangSmithParams, {"ls_model_type": "chat", **self._ls_common(stop, kwargs)})

    # -- requests ----------------------------------------------------------------------------------
    def _chat_request(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> tuple[dict[str, Any], list[str]]:
        """The core ``chat`` keyword arguments, and the names of the tools a ``format`` forces."""
        kwargs = dict(kwargs)
        tools = [to_ollama_tool(tool) for tool in kwargs.pop("tools", None) or []]
        tool_choice: ToolChoice = kwargs.pop("tool_choice", None)
        response_format = kwargs.pop("response_format", None)
        if response_format is not None:
            kwargs["format"] = resolve_response_format(kwargs.get("format", self.format), response_format)
        request = self._request_kwargs(stop, kwargs)
        forced: list[str] = []
        chosen = chosen_tools(tools, tool_choice) if tools or tool_choice not in (None, "auto") else None
        if chosen == []:
            tools = []
        elif chosen:
            request["format"] = forcing_format(chosen)
            forced = tool_names(chosen)
        request["tools"] = tools or None
        request["messages"] = to_ollama_messages(messages)
        top_logprobs = kwargs.pop("top_logprobs", self.top_logprobs)
        request["logprobs"] = check_top_logprobs(top_logprobs, kwargs.pop("logprobs", self.logprobs))
        request["top_logprobs"] = top_logprobs
        kwargs.pop("stream", None)
        if kwargs:
            raise TypeError(f"ChatOllama got unexpected keyword arguments: {sorted(kwargs)}")
        return request, forced

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request, forced = self._chat_request(messages, stop, kwargs)
        translator = ChatChunkTranslator(forced)
        messages_arg = request.pop("messages")
        with self.provider.chat(messages_arg, stream=True, **request) as chunks:
            for response in chunks:
                if response.done and _skipped(response):
                    continue
                chunk = translator.translate(response)
                if run_manager:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        request, forced = self._chat_request(messages, stop, kwargs)
        translator = ChatChunkTranslator(forced)
        messages_arg = request.pop("messages")
        async with await self.async_provider.chat(messages_arg, stream=True, **request) as chunks:
            async for response in chunks:
                if response.done and _skipped(response):
                    continue
                chunk = translator.translate(response)
                if run_manager:
                    await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Not generate_from_stream(self._stream(...)): the answer's parts are summed in lists and
        # one message is built at the end (see _answers), and chunk objects are built only when a
        # callback handler is there to receive them.
        streamed = kwargs.get("stream", True) is not False
        request, forced = self._chat_request(messages, stop, kwargs)
        translator, answer = ChatChunkTranslator(forced), ChatAnswer()
        messages_arg = request.pop("messages")
        if not streamed:
            response = self.provider.chat(messages_arg, stream=False, **request)
            if not _skipped(response):
                answer.add(translator.parts(response))
            return answer.result()
        handlers = run_manager is not None and bool(run_manager.handlers)
        with self.provider.chat(messages_arg, stream=True, **request) as chunks:
            for response in chunks:
                if response.done and _skipped(response):
                    continue
                parts = translator.parts(response)
                answer.add(parts)
                if handlers:
                    chunk = chunk_from_parts(parts)
                    cast(CallbackManagerForLLMRun, run_manager).on_llm_new_token(chunk.text, chunk=chunk)
        return answer.result()

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        streamed = kwargs.get("stream", True) is not False
        request, forced = self._chat_request(messages, stop, kwargs)
        translator, answer = ChatChunkTranslator(forced), ChatAnswer()
        messages_arg = request.pop("messages")
        if not streamed:
            response = await self.async_provider.chat(messages_arg, stream=False, **request)
            if not _skipped(response):
                answer.add(translator.parts(response))
            return answer.result()
        handlers = run_manager is not None and bool(run_manager.handlers)
        async with await self.async_provider.chat(messages_arg, stream=True, **request) as chunks:
            async for response in chunks:
                if response.done and _skipped(response):
                    continue
                parts = translator.parts(response)
                answer.add(parts)
                if handlers:
                    chunk = chunk_from_parts(parts)
                    await cast(AsyncCallbackManagerForLLMRun, run_manager).on_llm_new_token(
                        chunk.text, chunk=chunk
                    )
        return answer.result()

    # -- tools and structured output -----------------------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer tools to the model (pydantic classes, functions, dicts or LangChain tools).

        ``tool_choice``: ``None``/``"auto"`` lets the model decide; ``"none"``/``False`` sends no
        tools; a tool name (or ``{"type": "function", "function": {"name": ...}}``) forces that tool,
        and ``"any"``/``"required"``/``True`` forces one of the bound tools. Ollama has no such
        switch: forcing is emulated with a JSON-schema ``format`` admitting only
        ``{"name": <tool>, "arguments": <its parameters>}``, and a JSON answer becomes the tool call
        when the server returns no ``tool_calls`` itself.

        >>> def get_weather(city: str) -> str:
        ...     '''Get the current weather for a city.'''
        ...     return "sunny"
        >>> bound = ChatOllama(model="llama3.2").bind_tools([get_weather], tool_choice="get_weather")
        >>> bound.kwargs["tools"][0]["function"]["name"], bound.kwargs["tool_choice"]
        ('get_weather', 'get_weather')
        """
        formatted = [to_ollama_tool(tool) for tool in tools]
        chosen_tools(formatted, tool_choice)  # reject an unknown tool name now, not at call time
        return super().bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        method: StructuredMethod = "json_schema",
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Answer in a structure: a pydantic class (returns instances), a TypedDict or a JSON schema
        (return dicts).

        ``method``: ``"json_schema"`` (default; the schema is sent as ``format``, so the server
        constrains the output), ``"json_mode"`` (``format="json"``; describe the keys in the
        prompt) or ``"function_calling"`` (the schema as a forced tool). Output that does not fit
        raises :class:`~langchain_core.exceptions.OutputParserException`, never returns ``None``;
        with ``include_raw=True`` the error is returned under ``"parsing_error"`` instead.

        >>> from pydantic import BaseModel
        >>> class Person(BaseModel):
        ...     name: str
        ...     age: int
        >>> chain = ChatOllama(model="llama3.2").with_structured_output(Person)
        >>> chain.first.kwargs["format"]["required"]
        ['name', 'age']
        """
        kwargs.pop("strict", None)
        if kwargs:
            raise ValueError(f"unsupported arguments for with_structured_output: {sorted(kwargs)}")
        is_pydantic = is_pydantic_class(schema)
        llm: Runnable[LanguageModelInput, Any]
        parser: Runnable[Any, Any]
        if method == "function_calling":
            tool = convert_to_openai_tool(schema)
            name = tool["function"]["name"]
            llm = self.bind_tools(
                [schema],
                tool_choice=name,
                ls_structured_output_format={"kwargs": {"method": method}, "schema": tool},
            )
            parser = (
                StrictPydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
                if is_pydantic
                else StrictKeyToolsParser(key_name=name, first_tool_only=True)
            )
        elif method == "json_mode":
            llm = self.bind(
                format="json", ls_structured_output_format={"kwargs": {"method": method}, "schema": schema}
            )
            parser = PydanticOutputParser(pydantic_object=schema) if is_pydantic else StrictJsonOutputParser()  # type: ignore[arg-type]
        elif method == "json_schema":
            llm = self.bind(
                format=schema_format(schema),
                ls_structured_output_format={"kwargs": {"method": method}, "schema": schema},
            )
            parser = PydanticOutputParser(pydantic_object=schema) if is_pydantic else StrictJsonOutputParser()  # type: ignore[arg-type]
        else:
            raise ValueError(
                f"unknown method {method!r}: use 'json_schema', 'json_mode' or 'function_calling'"
            )
        if not include_raw:
            return llm | parser
        parse = RunnablePassthrough.assign(parsed=itemgetter("raw") | parser, parsing_error=lambda _: None)
        keep_raw = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parse.with_fallbacks([keep_raw], exception_key="parsing_error")
