"""Source rules (issue 10 §2.3) see through the ways around a ban.

The rules run in the judge on the submitted text; these call them directly, as the judge
does. Every "evasion" here passed the rules before they learned to resolve names.
"""

from __future__ import annotations

import pytest

from sandbox.judging.compare import CheckFailed
from sandbox.judging.checks import judge_source  # the judge's entry point (sandbox/judging/source_rules.py)

SOFTMAX_BAN = {"kind": "source", "forbid": {"calls": ["torch.softmax", "F.log_softmax", "nn.Softmax"]}}
NO_LOOPS = {"kind": "source", "forbid": {"loops": True}, "scope": "f"}


def fails(spec: dict, source: str) -> str:
    with pytest.raises(CheckFailed) as info:
        judge_source(spec, source)
    return str(info.value)


@pytest.mark.parametrize("source", [
    # module and import aliases
    "import torch as tt\ndef f(x):\n    return tt.softmax(x, 0)\n",
    "import torch.nn.functional as G\ndef f(x):\n    return G.log_softmax(x, 0)\n",
    "from torch.nn import functional as G\ndef f(x):\n    return G.log_softmax(x, 0)\n",
    # a function bound to another name, in the file or in the function
    "import torch\nsm = torch.softmax\ndef f(x):\n    return sm(x, 0)\n",
    "import torch\ndef f(x):\n    t = torch\n    g = t\n    return g.softmax(x, 0)\n",
    # star imports
    "from torch import *\ndef f(x):\n    return softmax(x, 0)\n",
    "from torch.nn.functional import *\ndef f(x):\n    return log_softmax(x, 0)\n",
    # lookups by a name the checker can work out
    "import torch\ndef f(x):\n    return getattr(torch, 'soft' + 'max')(x, 0)\n",
    "import torch\nNAME = 'softmax'\ndef f(x):\n    return getattr(torch, NAME)(x, 0)\n",
    "import torch\ndef f(x):\n    return vars(torch)['softmax'](x, 0)\n",
    "import torch\ndef f(x):\n    return torch.__dict__['softmax'](x, 0)\n",
    "import torch\ndef f(x):\n    return getattr(torch, f\"{'soft'}max\")(x, 0)\n",
    "import torch\ndef f(x):\n    return getattr(torch, ''.join(['soft', 'max']))(x, 0)\n",
    "import operator\ndef f(x):\n    return operator.methodcaller('softmax', 0)(x)\n",
    "import importlib\nF2 = importlib.import_module('torch.nn.functional')\ndef f(x):\n    return F2.log_softmax(x, 0)\n",
    # private twins
    "import torch\ndef f(x):\n    return torch._softmax(x, 0, False)\n",
    "import torch\ndef f(x):\n    return torch._C._nn.log_softmax(x, 0)\n",
    "import torch\ndef f(x):\n    return torch.ops.aten._softmax.default(x, 0, False)\n",
    "import torch\ndef f(x):\n    return torch.special.softmax(x, 0)\n",
    "import torch.nn as N\ndef f(x):\n    return N.modules.activation.Softmax(0)(x)\n",
])
def test_a_banned_function_is_found_however_it_is_reached(source):
    message = fails(SOFTMAX_BAN, source)
    assert "line " in message and ("softmax" in message.lower()), message


@pytest.mark.parametrize("source", [
    "import torch\ndef f(x, name):\n    return getattr(torch, name)(x, 0)\n",
    "import torch\ndef f(x, name):\n    return vars(torch)[name](x, 0)\n",
    "import torch.nn.functional as F\ndef f(x, parts):\n    return getattr(F, ''.join(parts))(x, 0)\n",
    "def f(x):\n    return eval('x.softmax(0)')\n",
    "import importlib\ndef f(x, m):\n    return importlib.import_module(m).act(x, 0)\n",
])
def test_a_lookup_the_checker_cannot_resolve_is_reported_as_such(source):
    message = fails(SOFTMAX_BAN, source)
    assert "computed name" in message or "cannot read" in message, message


@pytest.mark.parametrize("source", [
    # the learner's own softmax, built from allowed operations
    "import torch\ndef softmax(x, dim):\n    e = (x - x.amax(dim, keepdim=True)).exp()\n    return e / e.sum(dim, keepdim=True)\n",
    # a dynamic lookup on the learner's own object is not a lookup on torch
    "def f(obj, name):\n    return getattr(obj, name)\n",
    # an unrelated attribute that shares a last name with nothing banned
    "import torch\ndef f(x):\n    return torch.logsumexp(x, 0)\n",
    "import torch\ndef f(x):\n    return torch.exp(x) / torch.exp(x).sum()\n",
])
def test_allowed_code_still_passes(source):
    judge_source(SOFTMAX_BAN, source)


@pytest.mark.parametrize("source,word", [
    ("def f(x):\n    return list(map(lambda v: v * 2, x))\n", "map"),
    ("def f(x):\n    return list(filter(None, x))\n", "filter"),
    ("from functools import reduce\ndef f(x):\n    return reduce(lambda a, b: a + b, x)\n", "reduce"),
    ("import itertools\ndef f(x):\n    return list(itertools.accumulate(x))\n", "itertools.accumulate"),
    ("def f(x, n=3):\n    if n == 0:\n        return x\n    return f(x * 2, n - 1)\n", "recursion"),
    ("def g(x, n):\n    return x if n == 0 else h(x, n)\ndef h(x, n):\n    return g(x + 1, n - 1)\ndef f(x):\n    return g(x, 3)\n", "recursion"),
    ("def helper(x):\n    out = 0\n    for v in x:\n        out = out + v\n    return out\ndef f(x):\n    return helper(x)\n", "helper"),
    ("def helper(x):\n    return [v for v in x]\nclass K:\n    def run(self, x):\n        return helper(x)\ndef f(x):\n    return K().run(x)\n", "helper"),
    ("def f(x):\n    return x.apply_(lambda v: v * 2)\n", "apply_"),
    ("def f(x):\n    exec('for i in range(3): pass')\n    return x\n", "cannot read"),
])
def test_loops_in_disguise_and_in_helpers_count(source, word):
    message = fails(NO_LOOPS, source)
    assert word in message, message


def test_loops_outside_what_the_scope_reaches_are_fine():
    judge_source(NO_LOOPS, "def unrelated(x):\n    return [v for v in x]\n\ndef f(x):\n    return x * 2\n")


def test_banned_imports_are_found_through_importlib_and_attributes():
    spec = {"kind": "source", "forbid": {"imports": ["torch.func"]}}
    assert "torch.func" in fails(spec, "import importlib\nm = importlib.import_module('torch.func')\n")
    assert "torch.func" in fails(spec, "import torch\ndef f(g, x):\n    return torch.func.grad(g)(x)\n")
    judge_source(spec, "import torch\ndef f(x):\n    return torch.autograd.grad(x.sum(), x)\n")


def test_the_rules_read_the_submitted_text_not_a_file():
    # A source rule never opens a file: the text is an argument (the judge's copy).
    judge_source(SOFTMAX_BAN, "x = 1\n")
    assert "line 2" in fails(SOFTMAX_BAN, "import torch\ny = torch.softmax(torch.ones(2), 0)\n")
