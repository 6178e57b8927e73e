#!/usr/bin/env python3
"""Export a torchvision classifier as a TorchScript file that actatlas can read.

The file follows actatlas's model contract (docs/models.md):
  forward(x) takes float32 [B,3,H,W] RGB in [0,1], normalises it itself, and returns
  Dict[str, Tensor] with "logits" [B,C] and each exposed layer [B,D,h,w];
  the archive carries actatlas.json (input size, class names, layers and channels);
  features(x, layers) returns only the asked layers and runs the network no further than
  the deepest of them (feature inversion calls it at every step).

Example (the MobileNetV2 of ../shared/realdata, whose input is mean 0.5, std 0.5):
  python3 tools/export_torchvision.py --model mobilenet_v2 \
      --weights mobilenet_v2_imagenet_torchvision.pth --mean 0.5 0.5 0.5 --std 0.5 0.5 0.5 \
      --layers features.7 features.13 features.17 --classes imagenet_classes.txt --out mobilenet_v2.pt

Needs PyTorch and torchvision (>= 0.11, for create_feature_extractor).
"""
import argparse
import json
import sys
from typing import Dict, List

import torch
import torchvision
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names


class Normalised(torch.nn.Module):
    """[0,1] RGB in, the extractor's dictionary out, with "logits" as the last node's output.

    `cuts[i]` is an extractor of the exposed layers order[0..i] only: tracing prunes every
    node those do not need, so it stops at order[i]. The cuts share the model's parameters
    (one copy in the file)."""

    def __init__(self, extractor, cuts, order: List[str], mean, std, logits_node: str):
        super().__init__()
        self.extractor = extractor
        self.cuts = torch.nn.ModuleDict({"upto_%d" % i: c for i, c in enumerate(cuts)})
        self.order = order
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        self.logits_node = logits_node

    def forward(self, x: torch.Tensor):
        out = self.extractor((x - self.mean) / self.std)
        result = {"logits": out[self.logits_node]}
        for k, v in out.items():
            if k != self.logits_node:
                result[k] = v
        return result

    @torch.jit.export
    def features(self, x: torch.Tensor, layers: List[str]) -> Dict[str, torch.Tensor]:
        deepest = -1
        for name in layers:
            found = -1
            for i in range(len(self.order)):
                if self.order[i] == name:
                    found = i
            if found < 0:
                raise RuntimeError("no exposed layer named " + name)
            deepest = max(deepest, found)
        result: Dict[str, torch.Tensor] = {}
        if deepest < 0:
            return result
        key = "upto_" + str(deepest)
        x = (x - self.mean) / self.std
        for k, cut in self.cuts.items():
            if k == key:
                out = cut(x)
                for name in layers:
                    result[name] = out[name]
        return result


def fold_batchnorm(model, layers):
    """Folds each BatchNorm2d into the Conv2d just before it in the same Sequential (in eval
    mode a batch norm is a per-channel affine map, so conv then norm is one conv with other
    weights) and leaves an Identity in its place: the module names, hence the layer names,
    stay. Pairs whose conv output is an exposed layer are left alone (folding would change
    it). Returns how many were folded. Feature inversion and attribution run backward
    through the network at every step, and a batch norm's backward costs about as much as
    a convolution's (docs/inversion.md)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    folded = 0
    for prefix, parent in list(model.named_modules()):
        if not isinstance(parent, torch.nn.Sequential):
            continue
        children = list(parent.named_children())
        for (conv_name, conv), (norm_name, norm) in zip(children, children[1:]):
            if not isinstance(conv, torch.nn.Conv2d) or type(norm) is not torch.nn.BatchNorm2d:
                continue
            conv_path = prefix + "." + conv_name if prefix else conv_name
            if any(layer == conv_path or layer.startswith(conv_path + ".") for layer in layers):
                continue
            setattr(parent, conv_name, fuse_conv_bn_eval(conv, norm))
            setattr(parent, norm_name, torch.nn.Identity())
            folded += 1
    return folded


def graph_order(layers, nodes):
    """The exposed layers sorted by where their output is made in the graph (a module's name
    stands for its last node)."""
    def position(layer):
        return max(i for i, n in enumerate(nodes) if n == layer or n.startswith(layer + "."))
    return sorted(dict.fromkeys(layers), key=position)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="torchvision.models constructor name, e.g. mobilenet_v2, resnet50")
    p.add_argument("--weights", help="state dict (.pth) to load; default: the model's random initialisation")
    p.add_argument("--num-classes", type=int, default=1000)
    p.add_argument("--mean", type=float, nargs=3, default=[0.485, 0.456, 0.406], help="input mean (default ImageNet)")
    p.add_argument("--std", type=float, nargs=3, default=[0.229, 0.224, 0.225], help="input std (default ImageNet)")
    p.add_argument("--layers", nargs="+", required=True, help="graph node names to expose (see --list-layers)")
    p.add_argument("--classes", help="text file, one class name per line (line i = logit i)")
    p.add_argument("--input-size", type=int, nargs="+", default=[224], help="H [W] (default 224)")
    p.add_argument("--list-layers", action="store_true", help="print the model's node names and exit")
    p.add_argument("--no-fold-batchnorm", action="store_true",
                   help="keep each batch norm as its own op (default: folded into the conv before it; same outputs "
                        "to float rounding, cheaper forward and backward passes)")
    p.add_argument("--out", help="the .pt file to write")
    args = p.parse_args(argv)

    model = getattr(torchvision.models, args.model)(num_classes=args.num_classes)
    if args.weights:
        state = torch.load(args.weights, map_location="cpu")
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        model.load_state_dict(state)
    model.eval()
    # In-place activations would overwrite an exposed layer's tensor after it is returned
    # (and break the gradients attribution needs): make them out of place.
    for m in model.modules():
        if hasattr(m, "inplace"):
            m.inplace = False

    folded = 0 if args.no_fold_batchnorm or args.list_layers else fold_batchnorm(model, args.layers)
    _, nodes = get_graph_node_names(model)
    if args.list_layers:
        print("\n".join(nodes))
        return 0
    if not args.out:
        p.error("--out is required")
    # A module's name (features.13) stands for the output of its last node, as in
    # create_feature_extractor itself.
    unknown = [l for l in args.layers if l not in nodes and not any(n.startswith(l + ".") for n in nodes)]
    if unknown:
        p.error("unknown layer(s) %s; see --list-layers" % ", ".join(unknown))
    logits_node = nodes[-1]
    extractor = create_feature_extractor(model, return_nodes={n: n for n in args.layers + [logits_node]})
    order = graph_order(args.layers, nodes)
    cuts = [create_feature_extractor(model, return_nodes={n: n for n in order[: i + 1]}) for i in range(len(order))]
    wrapped = Normalised(extractor, cuts, order, args.mean, args.std, logits_node).eval()

    h = args.input_size[0]
    w = args.input_size[1] if len(args.input_size) > 1 else h
    with torch.no_grad():
        probe = wrapped(torch.full((1, 3, h, w), 0.5))
    layers = []
    for name in args.layers:
        t = probe[name]
        if t.dim() != 4:
            p.error("layer %s is not a [B,D,h,w] map (shape %s)" % (name, list(t.shape)))
        layers.append({"name": name, "channels": int(t.shape[1]), "map_size": [int(t.shape[2]), int(t.shape[3])]})
    classes = int(probe["logits"].shape[1])
    names = [str(i) for i in range(classes)]
    if args.classes:
        with open(args.classes, encoding="utf-8") as f:
            names = [line.rstrip("\n") for line in f if line.strip()]
        if len(names) != classes:
            p.error("%s has %d names but the model has %d logits" % (args.classes, len(names), classes))

    scripted = torch.jit.script(wrapped)
    # Only keys the loader knows (torchscript_metadata_keys and torchscript_layer_keys in
    # include/actatlas/torch/torchscript_model.hpp): any other key is refused at load time.
    meta = {
        "format": "actatlas-torchscript/1",
        "source": "torchvision.models.%s" % args.model,
        "input_size": [h, w],
        "input": "float32 [B,3,H,W] RGB in [0,1]; normalised inside with mean %s std %s" % (args.mean, args.std),
        "class_names": names,
        "layers": layers,
    }
    torch.jit.save(scripted, args.out, _extra_files={"actatlas.json": json.dumps(meta)})
    print("wrote %s: %d classes, layers %s; %d batch norms folded into their convolutions" % (args.out, classes,
          ", ".join("%s (%d)" % (l["name"], l["channels"]) for l in layers), folded))
    return 0


if __name__ == "__main__":
    sys.exit(main())
