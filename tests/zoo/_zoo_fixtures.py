"""Source folders written into tmp_path for the miner and probe tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import torch

TORCH_NN_MODULES = Path(torch.nn.__file__).parent / "modules"

BASE = '''
import torch.nn as tnn
from abc import ABCMeta, abstractmethod
from typing import Generic, TypeVar

T = TypeVar("T")


class Base(tnn.Module):
    """A base with its own constructor."""

    def __init__(self, in_dim: int, width: int = 8) -> None:
        super().__init__()

    def forward(self, x):
        return x


class GenericBase(tnn.Module, Generic[T]):
    def forward(self, x):
        return x


class WithMeta(tnn.Module, metaclass=ABCMeta):
    @abstractmethod
    def forward(self, x): ...


class ModeBase(tnn.Module):
    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1) -> None:
        super().__init__()

    def forward(self, x, hx=None):
        return x, hx
'''

LAYERS = '''
import contextlib
import dataclasses
import functools
import sys
from typing import ClassVar

import torch
from torch import nn
from torch.nn import *

from .base import Base, GenericBase, ModeBase


def register(name):
    def wrap(cls):
        return cls
    return wrap


@register("decorated")
@functools.total_ordering
class Decorated(Module):
    """Decorated twice."""

    @functools.wraps(print)
    def __init__(self, in_features: int, out_features: int = 4) -> None:
        super().__init__()

    def forward(self, x):
        return x


class Outer(Module):
    class Inner(Module):
        def forward(self, x):
            return x

    def forward(self, x):
        return x


class Forwarding(Base):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)


class MyGRU(ModeBase):
    def __init__(self, *args, **kwargs):
        super().__init__("GRU", *args, **kwargs)


class Varargs(Module):
    def __init__(self, *layers, scale: float = 1.0, **options) -> None:
        super().__init__()

    def forward(self, x, *rest, **kw):
        return x


if sys.version_info >= (3, 0):
    class IfDefined(Module):
        def forward(self, x):
            return x
else:
    class IfDefined(Module):
        def forward(self, x, y):
            return x

try:
    class TryDefined(Module):
        def forward(self, x):
            return x
except ImportError:
    pass

with contextlib.suppress(Exception):
    class WithDefined(Module):
        def forward(self, x):
            return x


class Specialized(GenericBase[int]):
    pass


class MyLinear(nn.Linear):
    """Subclass of a torch.nn class that is not among the mined files."""


class MyEncoderLayer(torch.nn.TransformerEncoderLayer):
    pass


@dataclasses.dataclass(eq=False)
class DataModule(Module):
    width: int = 4
    name: str = "x"
    scale: ClassVar[float] = 1.0

    def __post_init__(self) -> None:
        super().__init__()

    def forward(self, x):
        return x


class NotAModule:
    pass


class AlsoNot(object):
    def forward(self, x):
        return x
'''

SUB = '''
from pkg.base import Base


class Sub(Base):
    """Subclass of a base mined from another folder."""
'''


def sentinel_source(sentinel: Path) -> str:
    return textwrap.dedent(f'''
        import pathlib
        import torch

        pathlib.Path({str(sentinel)!r}).write_text("imported")
        raise SystemExit("mined code was executed")


        class Trap(torch.nn.Module):
            def forward(self, x):
                return x
    ''')


def deep_classes(depth: int) -> str:
    lines = ["import torch", ""]
    for i in range(depth):
        lines.append("    " * i + f"class Level{i}(torch.nn.Module):")
    lines.append("    " * depth + "pass")
    return "\n".join(lines) + "\n"


def write_fixture(root: Path) -> Path:
    """A folder exercising the miner's hard cases; returns it."""
    pkg = root / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "base.py").write_text(BASE)
    (pkg / "layers.py").write_text(LAYERS)
    other = root / "other"
    other.mkdir()
    (other / "sub.py").write_text(SUB)
    (root / "broken.py").write_text("import torch\n\nclass Broken(torch.nn.Module:\n    pass\n")
    (root / "binary.py").write_bytes(b"\x7fELF\x00\x01\x02\x00\xff\xfe" * 20)
    latin = "# -*- coding: latin-1 -*-\nimport torch\n\n"
    latin += "class Caf\xe9Free(torch.nn.Module):\n    '''Caf\xe9.'''\n"
    (root / "latin.py").write_bytes(latin.encode("latin-1"))
    (root / "deep_expr.py").write_text("y = 1" + " + 1" * 100_000 + "\n")
    (root / "deep_classes.py").write_text(deep_classes(40))
    (root / "sentinel_mod.py").write_text(sentinel_source(root / "SENTINEL"))
    (root / "flax_like.py").write_text("from flax import linen as nn\n\nclass Dense(nn.Module):\n    pass\n")
    return root


PROBE_MODULES = '''
import os
import time

import torch
from torch import nn


class Good(nn.Module):
    def __init__(self, in_features: int, out_features: int = 4) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x):
        return self.linear(x)


class Raiser(nn.Module):
    def __init__(self, in_features: int) -> None:
        super().__init__()
        raise RuntimeError("boom")

    def forward(self, x):
        return x


class Crasher(nn.Module):
    def __init__(self, in_features: int) -> None:
        super().__init__()
        os._exit(3)

    def forward(self, x):
        return x


class Chatty(nn.Module):
    def forward(self, x):
        print("chatty output on stdout", flush=True)
        return torch.relu(x)


class Pair(nn.Module):
    def __init__(self, in_channels: int, out_channels: int = 5) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        return y, y.mean()


class Sleeper(nn.Module):
    def __init__(self, in_features: int) -> None:
        super().__init__()
        time.sleep(3600)

    def forward(self, x):
        return x
'''
