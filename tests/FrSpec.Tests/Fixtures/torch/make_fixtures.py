#!/usr/bin/env python3
"""Generates the torch.save fixtures used by tests/FrSpec.Tests/Formats/Torch*.

Run with Debian bookworm's python3-torch (torch 1.13.1):  python3 make_fixtures.py
The outputs are committed; the tests never need torch. Everything is deterministic (fixed values, no RNG).
"""
import collections
import io
import os

import torch

here = os.path.dirname(os.path.abspath(__file__))
print("torch", torch.__version__)


def save_fileobj(obj, name):
    # As FR-Spec's fr/fr.py does: torch.save to an open file object => archive prefix "archive/".
    with open(os.path.join(here, name), "wb") as f:
        torch.save(obj, f)


def save_path(obj, name):
    # Saved to a path => archive prefix is the file stem.
    torch.save(obj, os.path.join(here, name))


# A freq list as fr.py writes it: python ints, ranks in frequency order, values spanning
# BININT1 (<256), BININT2 (<65536) and BININT (>65535) encodings; 3000 items => 3 APPENDS batches.
freq = [(i * 7919 + 13) % 150000 for i in range(2999)] + [128009]
save_fileobj(freq, "freq_list_3000.pt")
save_path(freq, "freq_list_path.pt")

# Small edge cases for the writer: empty list, single item (APPEND), 1001 items (last batch of one).
save_fileobj([], "freq_list_empty.pt")
save_fileobj([65536], "freq_list_one.pt")
save_fileobj(list(range(1001)), "freq_list_1001.pt")

# A tuple of ints and a 1-D LongTensor (SGLang token maps are loaded through torch.tensor, so both occur).
save_fileobj((5, 300, 70000, 128009), "tuple_ints.pt")
save_fileobj(torch.tensor([3, 1, 128009, 70000, 2], dtype=torch.int64), "long_tensor.pt")
save_fileobj(torch.tensor([7, 65536, 9], dtype=torch.int32), "int_tensor.pt")

# A tiny state dict of independent contiguous tensors (what TorchCheckpointWriter.WriteStateDict must reproduce).
f32 = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8 - 0.5
f16 = (torch.arange(6, dtype=torch.float32) * 1.25 - 2).to(torch.float16).reshape(2, 3)
bf16 = (torch.arange(5, dtype=torch.float32) * 0.75 + 1).to(torch.bfloat16)
sd = collections.OrderedDict()
sd["fc.weight"] = f32
sd["layers.0.post_attention_layernorm.weight"] = f16
sd["norm.weight"] = bf16
sd["scalar"] = torch.tensor(2.5, dtype=torch.float32)
save_fileobj(sd, "state_dict_simple.pt")
save_path(sd, "state_dict_path.pt")

# A state dict with shared storage: a tied weight, a view with offset, a transposed (non-contiguous) view,
# a Parameter, and the _metadata BUILD that module.state_dict() adds.
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
model = torch.nn.Linear(3, 2)
with torch.no_grad():
    model.weight.copy_(torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    model.bias.copy_(torch.tensor([0.5, -0.5]))
shared = model.state_dict()  # OrderedDict with _metadata
shared["embed.weight"] = base
shared["lm_head.weight"] = base  # tied: same storage, same view
shared["row2"] = base[2]  # offset view
shared["transposed"] = base.t()  # non-contiguous
shared["cols"] = base[:, 1:5:2]  # strided view with offset
shared["param"] = torch.nn.Parameter(torch.tensor([1.5, 2.5], dtype=torch.float64))
shared["half_view"] = torch.arange(8, dtype=torch.float16)[2:6]
shared["ints"] = torch.tensor([[1, -2], [3, 4]], dtype=torch.int32)
shared["flags"] = torch.tensor([True, False, True])
save_fileobj(shared, "state_dict_shared.pt")

# Pickle protocol 4 (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL ...), as newer code may write.
with open(os.path.join(here, "state_dict_proto4.pt"), "wb") as f:
    torch.save(shared, f, pickle_protocol=4)
with open(os.path.join(here, "freq_list_proto4.pt"), "wb") as f:
    torch.save(freq, f, pickle_protocol=4)

# Legacy (non-zip) serialisation: must be rejected with a clear message.
with open(os.path.join(here, "legacy.pt"), "wb") as f:
    torch.save([1, 2, 3], f, _use_new_zipfile_serialization=False)

# Expected contents for the reader tests (plain JSON, so the tests need no torch).
import json

def describe(t):
    return {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
            "values": t.detach().double().flatten().tolist()}

expected = {
    "freq_list_3000.pt": freq,
    "tuple_ints.pt": [5, 300, 70000, 128009],
    "long_tensor.pt": [3, 1, 128009, 70000, 2],
    "int_tensor.pt": [7, 65536, 9],
    "state_dict_simple.pt": {k: describe(v) for k, v in sd.items()},
    "state_dict_shared.pt": {k: describe(v) for k, v in shared.items()},
}
with open(os.path.join(here, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)

for name in sorted(os.listdir(here)):
    if name.endswith(".pt"):
        print(name, os.path.getsize(os.path.join(here, name)))
