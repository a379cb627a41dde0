"""verl agent loop that sends RECAP's prefilled prompts to the policy as they are.

Tested in integrations/tests/ against stand-ins of verl's classes; written against verl's agent loop API
(verl.experimental.agent_loop) as of verl 0.7, where the single-turn loop renders through
AgentLoopBase.apply_chat_template. verl 0.6's loop calls the tokenizer directly, so this override
would have no effect there: the import below refuses such a version instead. The API is marked
experimental and may move.

Why: verl renders each row's `prompt` messages with the policy's chat template and
add_generation_prompt=True. That cannot express a prefilled assistant turn (the prompt must end
inside the thinking, after `<think>\\n` and the counter-aligned prefill), so a prefilled row would
silently train as a clean one. `recap data build` therefore stores the exact rendered prompt in
extra_info.prompt_text and sets agent_name "recap_prefill" on every row; this loop tokenizes that
text (no special tokens added: the text already holds the template's BOS) instead of rendering.
Generation, response masks and log-probs are the single-turn loop's own, so only the tokens after
the prefill are trained.

Register it with integrations/verl_agent_loops.yaml:

    actor_rollout_ref.rollout.mode=async \
    actor_rollout_ref.rollout.agent.agent_loop_config_path="$RECAP/integrations/verl_agent_loops.yaml"

run from the verl root with the recap checkout on PYTHONPATH (PYTHONPATH="$RECAP"), so that the
yaml's _target_ integrations.verl_prefill_agent_loop imports (docs/SCALING.md). If the loop is not
registered, verl stops with "Agent loop recap_prefill not registered" rather than dropping the
prefills. verl versions without agent loops ignore agent_name: use OpenRLHF there.
"""

from verl.experimental.agent_loop.agent_loop import AgentLoopBase
from verl.experimental.agent_loop.single_turn_agent_loop import SingleTurnAgentLoop

if not hasattr(AgentLoopBase, "apply_chat_template"):
    raise ImportError("RecapPrefillAgentLoop needs verl >= 0.7 (AgentLoopBase.apply_chat_template); use OpenRLHF with older verl")


class RecapPrefillAgentLoop(SingleTurnAgentLoop):
    async def run(self, sampling_params, **kwargs):
        extra = kwargs.get("extra_info") or {}
        self._prompt_text = extra.get("prompt_text")
        return await super().run(sampling_params, **kwargs)

    async def apply_chat_template(self, messages, *args, **kwargs):
        if not self._prompt_text:
            return await super().apply_chat_template(messages, *args, **kwargs)
        return self.tokenizer.encode(self._prompt_text, add_special_tokens=False)
