"""Public building blocks for architecture plugins.

What many GAN papers share, so a new architecture need not copy it:
DCGAN's sizing and networks (:mod:`ganbench.blocks.dcgan`), MLP and maxout
stacks (:mod:`ganbench.blocks.mlp`), the gradient penalty
(:mod:`ganbench.blocks.penalties`) and D-input packing
(:mod:`ganbench.blocks.packing`). Each module cites the paper its defaults
come from.
"""
