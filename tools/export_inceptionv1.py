#!/usr/bin/env python3
"""Write the weights of lucid's InceptionV1 as a .safetensors file for actatlas.

actatlas runs the Activation Atlas article's model (lucid's "InceptionV1", TensorFlow's
inception5h graph) natively in C++ (include/actatlas/torch/inception_v1.hpp). It reads the
weights from a .safetensors file whose tensor names are those of the public PyTorch port,
lucent's `lucent.modelzoo.inceptionv1` (converted from lucid by ProGamerGov): 116 float32
tensors such as `conv2d0_pre_relu_conv.weight` [64, 3, 7, 7] and
`softmax2_pre_activation_matmul.weight` [1008, 1024].

This script makes that file once, on a machine with PyTorch; actatlas itself never needs
Python or the network.

    # from lucent (pip install torch-lucent); downloads inception5h.pth once
    python tools/export_inceptionv1.py --lucent inceptionv1.safetensors

    # from the .pth state dict, already downloaded (e.g. ProGamerGov's inception5h.pth,
    # the file lucent loads)
    python tools/export_inceptionv1.py --pth inception5h.pth inceptionv1.safetensors

    # optional: 1008 class names, one per line (lucid's labels, line 0 is "dummy")
    python tools/export_inceptionv1.py --pth inception5h.pth --labels labels.txt inceptionv1.safetensors

    # check an existing file's names, shapes and layout (needs no PyTorch)
    python tools/export_inceptionv1.py --check inceptionv1.safetensors

    # write seeded random weights in the same layout (no PyTorch; to test a toolchain)
    python tools/export_inceptionv1.py --random 0 random.safetensors

Then:  actatlas collect --model inceptionv1.safetensors --layer mixed4c ...

The file is written to a temporary name and renamed, so a failed export leaves nothing
half-written. Only the standard library is needed to write; numpy is used when present
to make it faster.
"""

import argparse
import json
import math
import os
import random
import struct
import sys

# Branch widths of lucid's InceptionV1 mixed blocks:
# (name, in, 1x1, 3x3_bottleneck, 3x3, 5x5_bottleneck, 5x5, pool_reduce)
MIXED = [
    ("mixed3a", 192, 64, 96, 128, 16, 32, 32),
    ("mixed3b", 256, 128, 128, 192, 32, 96, 64),
    ("mixed4a", 480, 192, 96, 204, 16, 48, 64),
    ("mixed4b", 508, 160, 112, 224, 24, 64, 64),
    ("mixed4c", 512, 128, 128, 256, 24, 64, 64),
    ("mixed4d", 512, 112, 144, 288, 32, 64, 64),
    ("mixed4e", 528, 256, 160, 320, 32, 128, 128),
    ("mixed5a", 832, 256, 160, 320, 48, 128, 128),
    ("mixed5b", 832, 384, 192, 384, 48, 128, 128),
]


def expected_shapes():
    """{name: shape} of lucent's InceptionV1 state dict, in its order."""
    shapes = {}

    def conv(name, cin, cout, k):
        shapes[name + "_pre_relu_conv.weight"] = [cout, cin, k, k]
        shapes[name + "_pre_relu_conv.bias"] = [cout]

    conv("conv2d0", 3, 64, 7)
    conv("conv2d1", 64, 64, 1)
    conv("conv2d2", 64, 192, 3)
    for name, cin, b1, b3r, b3, b5r, b5, pr in MIXED:
        conv(name + "_1x1", cin, b1, 1)
        conv(name + "_3x3_bottleneck", cin, b3r, 1)
        conv(name + "_5x5_bottleneck", cin, b5r, 1)
        conv(name + "_pool_reduce", cin, pr, 1)
        conv(name + "_3x3", b3r, b3, 3)
        conv(name + "_5x5", b5r, b5, 5)
    shapes["softmax2_pre_activation_matmul.weight"] = [1008, 1024]
    shapes["softmax2_pre_activation_matmul.bias"] = [1008]
    return shapes


def fail(message):
    sys.exit("export_inceptionv1: " + message)


def check_names(shapes_by_name, where):
    """The tensors must be exactly lucent's, with lucent's shapes."""
    expected = expected_shapes()
    missing = [n for n in expected if n not in shapes_by_name]
    extra = [n for n in shapes_by_name if n not in expected]
    if missing:
        fail(f"{where}: missing tensor '{missing[0]}' ({len(missing)} missing; is this lucent's InceptionV1?)")
    if extra:
        fail(f"{where}: unexpected tensor '{extra[0]}' ({len(extra)} extra)")
    for name, shape in expected.items():
        if list(shapes_by_name[name]) != shape:
            fail(f"{where}: tensor '{name}' has shape {list(shapes_by_name[name])}, expected {shape}")


def float32_bytes(values):
    """Little-endian float32 bytes of a flat sequence of numbers."""
    return struct.pack("<%df" % len(values), *values)


def write_safetensors(path, tensors, metadata):
    """tensors: {name: (shape, little-endian float32 bytes)}; written in name order,
    header padded with spaces to a multiple of 8, atomically."""
    header = {"__metadata__": metadata} if metadata else {}
    offset = 0
    names = sorted(tensors)
    for name in names:
        shape, data = tensors[name]
        if len(data) != 4 * math.prod(shape):
            fail(f"tensor '{name}': {len(data)} bytes for shape {shape}")
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as out:
            out.write(struct.pack("<Q", len(text)))
            out.write(text)
            for name in names:
                out.write(tensors[name][1])
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def read_header(path):
    """The JSON header of a .safetensors file, validated for layout."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            fail(f"{path}: too short to be a .safetensors file")
        (n,) = struct.unpack("<Q", raw)
        if n > size - 8:
            fail(f"{path}: header length {n} runs past the end of the file")
        header = json.loads(f.read(n))
    data_size = size - 8 - n
    ranges = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            fail(f"{path}: tensor '{name}' is {entry['dtype']}, this tool writes F32")
        begin, end = entry["data_offsets"]
        if end - begin != 4 * math.prod(entry["shape"]):
            fail(f"{path}: tensor '{name}': shape and byte range disagree")
        ranges.append((begin, end, name))
    ranges.sort()
    covered = 0
    for begin, end, name in ranges:
        if begin != covered:
            fail(f"{path}: tensor '{name}' does not start where the previous one ends")
        covered = end
    if covered != data_size:
        fail(f"{path}: {data_size - covered} bytes after the last tensor")
    return header


def state_dict_from_lucent():
    try:
        from lucent.modelzoo import inceptionv1
    except ImportError:
        fail("--lucent needs lucent (pip install torch-lucent); or pass --pth FILE")
    return inceptionv1(pretrained=True).state_dict()


def state_dict_from_pth(path):
    import torch

    obj = torch.load(path, map_location="cpu")
    if hasattr(obj, "state_dict"):
        obj = obj.state_dict()
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        fail(f"{path}: not a state dict")
    # Checkpoints saved from nn.DataParallel prefix every name with "module.".
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in obj.items()}


def tensors_from_state_dict(state):
    check_names({k: list(v.shape) for k, v in state.items()}, "state dict")
    try:
        import numpy  # noqa: F401

        def to_bytes(t):
            return t.detach().cpu().float().contiguous().numpy().astype("<f4").tobytes()
    except ImportError:
        def to_bytes(t):
            return float32_bytes(t.detach().cpu().float().contiguous().view(-1).tolist())
    return {k: (list(v.shape), to_bytes(v)) for k, v in state.items()}


def random_tensors(seed):
    """He-normal weights, small biases, from Python's own RNG (no PyTorch)."""
    rng = random.Random(seed)
    out = {}
    for name, shape in expected_shapes().items():
        n = math.prod(shape)
        std = math.sqrt(2.0 / (n // shape[0])) if len(shape) > 1 else 0.01
        out[name] = (shape, float32_bytes([rng.gauss(0.0, std) for _ in range(n)]))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--lucent", action="store_true", help="take the weights from lucent's inceptionv1(pretrained=True)")
    source.add_argument("--pth", metavar="FILE", help="a .pth file holding lucent's InceptionV1 state dict")
    source.add_argument("--random", metavar="SEED", type=int, help="seeded random weights (no PyTorch needed)")
    source.add_argument("--check", metavar="FILE", help="check FILE's tensors against lucent's InceptionV1 and exit")
    parser.add_argument("--labels", metavar="FILE", help="1008 class names, one per line, stored in the metadata")
    parser.add_argument("output", nargs="?", help="the .safetensors file to write")
    args = parser.parse_args()

    if args.check:
        header = read_header(args.check)
        check_names({k: v["shape"] for k, v in header.items() if k != "__metadata__"}, args.check)
        names = json.loads(header.get("__metadata__", {}).get("actatlas.class_names", "[]"))
        print(f"{args.check}: InceptionV1, {len(header) - ('__metadata__' in header)} tensors, "
              f"{len(names) or 'no'} class names")
        return
    if not args.output:
        parser.error("the output .safetensors path is required")

    # "actatlas." keys must be ones the loader knows (inception_v1_metadata_keys in
    # include/actatlas/torch/models.hpp): any other is refused at load time.
    metadata = {"format": "pt", "actatlas.model": "inception_v1"}
    if args.labels:
        with open(args.labels, encoding="utf-8") as f:
            names = [line.rstrip("\n") for line in f if line.strip()]
        if len(names) != 1008:
            fail(f"{args.labels}: {len(names)} names, InceptionV1 has 1008 classes")
        metadata["actatlas.class_names"] = json.dumps(names)

    if args.random is not None:
        tensors = random_tensors(args.random)
        metadata["actatlas.note"] = f"random weights, seed {args.random}"
    elif args.lucent:
        tensors = tensors_from_state_dict(state_dict_from_lucent())
    else:
        tensors = tensors_from_state_dict(state_dict_from_pth(args.pth))
    write_safetensors(args.output, tensors, metadata)
    print(f"wrote {args.output}: {len(tensors)} tensors, "
          f"{sum(math.prod(s) for s, _ in tensors.values())} parameters")


if __name__ == "__main__":
    main()
