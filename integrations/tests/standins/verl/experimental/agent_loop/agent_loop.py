"""Stand-in of verl.experimental.agent_loop.agent_loop (verl v0.7.0 interface, tests only).

AgentLoopBase(trainer_config, server_manager, tokenizer, processor, dataset_cls, dataset_config)
keeps those as attributes; `apply_chat_template(messages, tools=None, images=None, videos=None,
remove_system_prompt=False)` is a coroutine returning prompt token ids rendered with the
tokenizer's chat template and add_generation_prompt=True (text-only: no processor);
`run(sampling_params, **kwargs)` is the abstract coroutine an agent loop implements, called with
the dataset row's fields as keyword arguments. AgentLoopOutput carries prompt_ids, response_ids,
response_mask and the optional fields the single-turn loop fills.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Optional


class DictConfigWrap:
    def __init__(self, config):
        self.config = config


@dataclass
class AgentLoopOutput:
    prompt_ids: list
    response_ids: list
    response_mask: list
    response_logprobs: Optional[list] = None
    multi_modal_data: Optional[dict] = None
    reward_score: Optional[float] = None
    num_turns: int = 0
    metrics: dict = field(default_factory=dict)
    extra_fields: dict = field(default_factory=dict)


class AgentLoopBase(ABC):
    def __init__(self, trainer_config, server_manager, tokenizer, processor, dataset_cls, dataset_config, **kwargs):
        self.config = trainer_config.config
        self.server_manager = server_manager
        self.tokenizer = tokenizer
        self.processor = processor
        self.dataset_cls = dataset_cls
        self.dataset_config = dataset_config

    async def process_vision_info(self, messages):
        return {}

    async def apply_chat_template(self, messages, tools=None, images=None, videos=None, remove_system_prompt=False):
        return self.tokenizer.apply_chat_template(messages, tools=tools, add_generation_prompt=True, tokenize=True)

    @abstractmethod
    async def run(self, sampling_params: dict, **kwargs: Any) -> AgentLoopOutput:
        raise NotImplementedError
