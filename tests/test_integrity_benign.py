"""Tamper evidence lets through the replacements that well-known libraries make of torch's
functions, and only those (sandbox/judging/integrity.py, ``_benign``).

Importing PyTorch Geometric 2.7+ replaces ``torch.index_select`` and ``torch.select`` with
wrappers that call torch's own for plain tensors; a learner's file that imports it must be
judged, not refused. A lookalike written anywhere else is still a replacement.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = [pytest.mark.long]

RECORD_THEN = textwrap.dedent("""
    import json, sys, types
    import torch
    from sandbox.judging import integrity
    record = integrity.Record()
    {body}
    print(json.dumps(record.replaced()))
""")


def replaced_after(body: str) -> list[str]:
    code = RECORD_THEN.format(body=textwrap.dedent(body).strip())
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_torch_geometric_is_not_tampering() -> None:
    pytest.importorskip("torch_geometric")
    assert replaced_after("""
        import torch_geometric
        from torch_geometric.nn import GCNConv
        assert torch.index_select.__module__ == "torch_geometric.hash_tensor"  # it did replace it
    """) == []


def test_a_patch_after_torch_geometric_is_still_named() -> None:
    pytest.importorskip("torch_geometric")
    assert replaced_after("""
        import torch_geometric
        torch.index_select = lambda *args, **kwargs: torch.zeros(1)
    """) == ["torch.index_select"]


def test_a_lookalike_module_does_not_pass_for_torch_geometric() -> None:
    # A module registered under PyG's name whose wrapper is a function of somewhere else.
    assert replaced_after("""
        fake = types.ModuleType("torch_geometric.hash_tensor")
        fake._old_select = torch.select
        def _new_select(input, dim, index):
            return torch.zeros(1)
        fake._new_select = _new_select
        sys.modules["torch_geometric.hash_tensor"] = fake
        torch.select = _new_select
    """) == ["torch.select"]


def test_the_wrapper_must_wrap_torchs_own_function() -> None:
    # PyG's wrapper, but around a function that is not the one recorded.
    pytest.importorskip("torch_geometric")
    assert replaced_after("""
        torch.index_select = lambda *args, **kwargs: torch.zeros(1)
        import torch_geometric
    """) == ["torch.index_select"]
