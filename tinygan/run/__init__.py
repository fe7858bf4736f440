"""The run plumbing: the command line, the run folder, atomic writes, checkpoints."""
