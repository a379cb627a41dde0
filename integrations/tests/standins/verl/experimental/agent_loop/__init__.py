"""Stand-in of verl.experimental.agent_loop (tests only; see ../../../README.md)."""
