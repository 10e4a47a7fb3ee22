"""Building blocks for framework integrations: what the LangChain and LlamaIndex adapters use beyond
the client, public so that every integration (ours or yours) maps the same things the same way.

* Forcing a tool call (Ollama has no ``tool_choice``): :func:`forcing_format` builds a JSON-schema
  ``format`` that admits only a call of the chosen tools; :class:`ForcedCallAnswer` turns a model's
  JSON text answer into that call; :func:`chosen_tools`, :func:`tool_names`, :data:`ToolChoice`.
* Request values checked as the core checks them: :func:`normalise_think`, :func:`check_logprobs`,
  :func:`decode_arguments` (tool-call arguments, as a dict, from a dict or JSON text).
* Credentials kept out of reprs and dumps: :func:`redact_url`, :func:`redacted`, :func:`without_userinfo`.
* :func:`built_once`: a lazily built provider, built once when threads race (and fork-safe).

>>> from ollama_provider.integrations import forcing_format, redact_url
>>> tool = {"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}
>>> forcing_format([tool])["properties"]["name"]["enum"]
['add']
>>> redact_url("http://me:secret@box:11434")
'http://***@box:11434'
"""

from ._forced_calls import ForcedCallAnswer, ToolChoice, chosen_tools, forcing_format, tool_names
from ._forks import built_once
from ._payloads import check_logprobs, decode_arguments, normalise_think
from ._secrets import redact_url, redacted, without_userinfo

__all__ = [
    "ForcedCallAnswer",
    "ToolChoice",
    "built_once",
    "check_logprobs",
    "chosen_tools",
    "decode_arguments",
    "forcing_format",
    "normalise_think",
    "redact_url",
    "redacted",
    "tool_names",
    "without_userinfo",
]
