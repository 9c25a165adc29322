"""The built-in module zoo: plain PyTorch modules, grouped by the signal kind they take.

Nothing here is registered by hand: evo-lacer's miner reads these files as text (AST), exactly
as it reads a user's folder. Each module declares, as literal class attributes, the signal
kinds it `accepts` and `emits` and the `search_space` of its constructor arguments.
Constructor arguments named `in_dim`, `in_channels`, `seq_len`, `in_height`, `in_width`,
`vocab_size`, `in_dims` and `sources` are filled by the compiler from the input signal.
"""
