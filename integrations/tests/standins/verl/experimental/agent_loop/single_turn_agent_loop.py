"""Stand-in of verl.experimental.agent_loop.single_turn_agent_loop (verl v0.7.0 interface, tests only).

SingleTurnAgentLoop.run(sampling_params, **kwargs): renders kwargs["raw_prompt"] (the row's chat
messages) through self.apply_chat_template, asks self.server_manager.generate(request_id=...,
prompt_ids=..., sampling_params=..., image_data=..., video_data=...) for one completion (an object
with token_ids and log_probs), and returns an AgentLoopOutput whose response is cut to
actor_rollout_ref.rollout.response_length, every response token trainable (mask 1).
"""

import uuid

from verl.experimental.agent_loop.agent_loop import AgentLoopBase, AgentLoopOutput


class SingleTurnAgentLoop(AgentLoopBase):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rollout = self.config["actor_rollout_ref"]["rollout"]
        self.prompt_length = rollout["prompt_length"]
        self.response_length = rollout["response_length"]

    async def run(self, sampling_params, **kwargs):
        messages = list(kwargs["raw_prompt"])
        prompt_ids = await self.apply_chat_template(messages, images=None, videos=None)
        out = await self.server_manager.generate(
            request_id=uuid.uuid4().hex, prompt_ids=prompt_ids, sampling_params=sampling_params, image_data=None, video_data=None
        )
        n = self.response_length
        return AgentLoopOutput(
            prompt_ids=prompt_ids,
            response_ids=list(out.token_ids)[:n],
            response_mask=[1] * min(len(out.token_ids), n),
            response_logprobs=list(out.log_probs)[:n] if out.log_probs else None,
            num_turns=2,
        )
