"""The standard train protocol: losses, the training step, the loop, checkpoints."""
