#!/usr/bin/env python3
"""Cross-check actatlas's native InceptionV1 against a PyTorch forward pass.

The forward pass below follows lucent's `lucent.modelzoo.inceptionv1.InceptionV1`
(explicit F.pad SAME padding, −∞ padding for max-pools, LRN, 4-branch concatenation, 7×7
average pool, linear layer), written independently of the C++ code, with the LRN
parameters selectable: lucent's own (window 9, k 1) or the TF graph's (window 11, k 2,
α·11 in PyTorch's convention).

    python3 tools/inceptionv1_reference.py OUT_DIR [--weights W.safetensors|--pth W.pth] [--seed S]

writes OUT_DIR/weights.safetensors (via tools/export_inceptionv1.py; seeded random weights
unless --pth is given) and OUT_DIR/reference.json: for a fixed synthetic 224×224 input,
the logits and a few layer sums under both LRN forms. Then

    ACTATLAS_INCEPTIONV1=OUT_DIR/weights.safetensors \
    ACTATLAS_INCEPTIONV1_REFERENCE=OUT_DIR/reference.json \
    build/actatlas_tests_torch "[weights]"

checks the C++ model against them. Needs PyTorch (Debian: python3-torch).
"""

import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_inceptionv1 as export  # noqa: E402


def synthetic_input():
    """[1,3,224,224] in [0,1], a fixed pattern both sides can build without files."""
    c = torch.arange(3, dtype=torch.float64).view(3, 1, 1)
    i = torch.arange(224, dtype=torch.float64).view(1, 224, 1)
    j = torch.arange(224, dtype=torch.float64).view(1, 1, 224)
    return (((i * 7 + j * 13 + c * 29) % 256) / 255.0).float().unsqueeze(0)


def forward(p, x, lrn):
    def conv(h, name, pad):
        if pad:
            h = F.pad(h, pad)
        return F.relu(F.conv2d(h, p[name + "_pre_relu_conv.weight"], p[name + "_pre_relu_conv.bias"],
                               stride=2 if name == "conv2d0" else 1))

    def maxpool(h, stride):
        pad = (0, 1, 0, 1) if stride == 2 else (1, 1, 1, 1)
        return F.max_pool2d(F.pad(h, pad, value=float("-inf")), 3, stride)

    def norm(h):
        if lrn == "lucent":
            return F.local_response_norm(h, size=9, alpha=9.99999974738e-05, beta=0.5, k=1)
        return F.local_response_norm(h, size=11, alpha=9.999999747378752e-05 * 11, beta=0.5, k=2)

    def mixed(h, name):
        b1 = conv(h, name + "_1x1", None)
        b3 = conv(conv(h, name + "_3x3_bottleneck", None), name + "_3x3", (1, 1, 1, 1))
        b5 = conv(conv(h, name + "_5x5_bottleneck", None), name + "_5x5", (2, 2, 2, 2))
        bp = conv(maxpool(h, 1), name + "_pool_reduce", None)
        return torch.cat([b1, b3, b5, bp], 1)

    out = {}
    h = x * 255 - 117
    h = out["conv2d0"] = conv(h, "conv2d0", (2, 3, 2, 3))
    h = out["maxpool0"] = maxpool(h, 2)
    h = out["localresponsenorm0"] = norm(h)
    h = out["conv2d1"] = conv(h, "conv2d1", None)
    h = out["conv2d2"] = conv(h, "conv2d2", (1, 1, 1, 1))
    h = out["localresponsenorm1"] = norm(h)
    h = out["maxpool1"] = maxpool(h, 2)
    for name in ("mixed3a", "mixed3b"):
        h = out[name] = mixed(h, name)
    h = out["maxpool4"] = maxpool(h, 2)
    for name in ("mixed4a", "mixed4b", "mixed4c", "mixed4d", "mixed4e"):
        h = out[name] = mixed(h, name)
    h = out["maxpool10"] = maxpool(h, 2)
    for name in ("mixed5a", "mixed5b"):
        h = out[name] = mixed(h, name)
    h = F.avg_pool2d(h, 7, 1).reshape(-1, 1024)
    out["logits"] = F.linear(h, p["softmax2_pre_activation_matmul.weight"], p["softmax2_pre_activation_matmul.bias"])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("--pth", help="lucent's InceptionV1 state dict (default: seeded random weights)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    if args.pth:
        state = export.state_dict_from_pth(args.pth)
    else:
        gen = torch.Generator().manual_seed(args.seed)
        state = {}
        for name, shape in export.expected_shapes().items():
            std = (2.0 / (torch.Size(shape).numel() // shape[0])) ** 0.5 if len(shape) > 1 else 0.01
            state[name] = torch.randn(shape, generator=gen) * std
    weights = os.path.join(args.out_dir, "weights.safetensors")
    export.write_safetensors(weights, export.tensors_from_state_dict(state), {"format": "pt"})

    x = synthetic_input()
    reference = {"input": "((7i + 13j + 29c) mod 256) / 255", "forms": {}}
    with torch.no_grad():
        for lrn in ("tensorflow", "lucent"):
            out = forward(state, x, lrn)
            reference["forms"][lrn] = {
                "logits": out["logits"][0].tolist(),
                "sums": {k: float(v.double().sum()) for k, v in out.items() if k != "logits"},
            }
    with open(os.path.join(args.out_dir, "reference.json"), "w") as f:
        json.dump(reference, f)
    print(f"wrote {weights} and reference.json")


if __name__ == "__main__":
    main()
