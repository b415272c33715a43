"""Regenerates the torch.save test inputs of StateDictTest (and FuzzTest) (run at development time only; CI needs no
Python). Tested with Debian's python3-torch 1.13:  /usr/bin/python3 generate.py

Expected values are formulas in the Java test, not read back from torch, so keep the two in step. Legacy files
differ from run to run (their storage keys are memory addresses); commit them only when their content changes.
"""
import collections
import torch

torch.manual_seed(0)


def state_dict():
    sd = collections.OrderedDict()
    sd["weight"] = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 4          # contiguous float32
    sd["index"] = torch.tensor([0, -1, 2**40, -(2**62), 7], dtype=torch.int64)      # int64
    sd["mask"] = torch.tensor([[True, False, True], [False, False, True]])           # bool
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    sd["transposed"] = base.t()[1:4]                                                 # non-contiguous view [3, 4]
    shared = torch.arange(10, dtype=torch.float64)
    sd["shared_a"] = shared[2:5]                                                     # offset 2, [3]
    sd["shared_b"] = shared[6:].view(2, 2)                                           # offset 6, [2, 2]
    sd["param"] = torch.nn.Parameter(torch.full((2, 2), 0.5))                        # nn.Parameter
    sd["half"] = torch.tensor([1.0, -2.5, 65504.0, 1e-4], dtype=torch.float16)
    sd["bf16"] = torch.tensor([1.0, -3.0, 256.0], dtype=torch.bfloat16)
    sd["i32"] = torch.tensor([-7, 0, 2**31 - 1], dtype=torch.int32)
    sd["u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    sd["scalar"] = torch.tensor(3.25)                                                # 0-d
    sd["empty"] = torch.zeros(0, 3)
    sd["expanded"] = torch.tensor([1.5]).expand(2, 3)                                # stride (0, 0)
    sd["nested"] = {"epoch": 7, "arch": "resnet50", "lr": 0.25, "big": 2**70, "neg": -5,
                    "tuple": (1, "x", None, True), "list": [1, 2.5], "bytes": b"\x00\xff",
                    "device": torch.device("cpu"), "dtype": torch.float32,
                    "inner": torch.arange(3, dtype=torch.int64)}
    sd._metadata = collections.OrderedDict({"": {"version": 1}})                     # BUILD on the OrderedDict
    return sd


torch.save(state_dict(), "state_dict_zip.pt")
torch.save(state_dict(), "state_dict_legacy.pt", _use_new_zipfile_serialization=False)
torch.save(state_dict(), "state_dict_p4.pt", pickle_protocol=4)                   # FRAME, MEMOIZE, STACK_GLOBAL
torch.save({"s": {3, "a"}, "f": frozenset([1]), "t": torch.ones(2, dtype=torch.float32)},
           "protocol4_misc.pt", pickle_protocol=4)
torch.save(torch.arange(6, dtype=torch.float32).reshape(2, 3), "single_legacy_p2.pt",
           _use_new_zipfile_serialization=False)
torch.save({"p": torch.nn.Parameter(torch.arange(4.0).reshape(2, 2))}, "param_legacy_p1.pt", pickle_protocol=1,
           _use_new_zipfile_serialization=False)                                 # legacy at protocol 1 (no PROTO)
