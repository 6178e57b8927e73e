#!/usr/bin/env python3
"""Export a torchvision classifier as a TorchScript file that actatlas can read.

The file follows actatlas's model contract (docs/models.md):
  forward(x) takes float32 [B,3,H,W] RGB in [0,1], normalises it itself, and returns
  Dict[str, Tensor] with "logits" [B,C] and each exposed layer [B,D,h,w] (a vision
  transformer's: [B,T,D] tokens; a Swin's: [B,h,w,D] channels last);
  the archive carries actatlas.json (input size, class names, layers and channels; for
  transformers each layer's layout, leading tokens and patch grid, and whether the input
  size is fixed);
  features(x, layers) returns only the asked layers and runs the network no further than
  the deepest of them (feature inversion calls it at every step).

Example (the MobileNetV2 of ../shared/realdata, whose input is mean 0.5, std 0.5):
  python3 tools/export_torchvision.py --model mobilenet_v2 \
      --weights mobilenet_v2_imagenet_torchvision.pth --mean 0.5 0.5 0.5 --std 0.5 0.5 0.5 \
      --layers features.7 features.13 features.17 --classes imagenet_classes.txt --out mobilenet_v2.pt

Vision transformers (vit_b_16, vit_b_32, vit_l_16, ...; swin_t, swin_s, swin_b) are wrapped
block by block instead of through torch.fx, whose tracing cannot follow their input checks;
their layers are the encoder blocks and the final norm:
  python3 tools/export_torchvision.py --model vit_b_16 \
      --layers encoder.layers.encoder_layer_5 encoder.layers.encoder_layer_9 --out vit_b_16.pt
Without --weights the model keeps torchvision's random initialisation (for ViTs that
includes a zero classification head: all logits, hence all attributions, are 0).

Needs PyTorch and torchvision (>= 0.11, for create_feature_extractor; >= 0.13 for ViTs
and Swins as wrapped here).
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


class Blocks(torch.nn.Module):
    """[0,1] RGB in, a dictionary out, for networks that are an embedding, a chain of named
    blocks and a head (a ViT's encoder layers, a Swin's stages): the exposed layers are
    block outputs, taken as the blocks make them (tokens [B,T,D], channels-last maps).
    `features` runs the chain no further than the deepest asked block."""

    def __init__(self, embed, blocks, names: List[str], head, exposed: List[str], mean, std):
        super().__init__()
        self.embed = embed
        self.blocks = torch.nn.ModuleList(blocks)
        self.names = names
        self.head = head
        self.order = [n for n in names if n in exposed]
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    def run(self, x: torch.Tensor, wanted: List[str], stop: int, logits: bool) -> Dict[str, torch.Tensor]:
        out: Dict[str, torch.Tensor] = {}
        x = self.embed((x - self.mean) / self.std)
        i = 0
        for block in self.blocks:
            if i <= stop:
                x = block(x)
                if self.names[i] in wanted:
                    out[self.names[i]] = x
            i += 1
        if logits:
            out["logits"] = self.head(x)
        return out

    def forward(self, x: torch.Tensor):
        return self.run(x, self.order, len(self.names), True)

    @torch.jit.export
    def features(self, x: torch.Tensor, layers: List[str]) -> Dict[str, torch.Tensor]:
        deepest = -1
        for name in layers:
            found = -1
            for i in range(len(self.names)):
                if self.names[i] == name and name in self.order:
                    found = i
            if found < 0:
                raise RuntimeError("no exposed layer named " + name)
            deepest = max(deepest, found)
        if deepest < 0:
            return {}
        return self.run(x, layers, deepest, False)


class ViTEmbedding(torch.nn.Module):
    """torchvision's VisionTransformer up to its encoder blocks: patches, class token,
    position embeddings (the parameters are the model's own)."""

    def __init__(self, vit):
        super().__init__()
        self.conv_proj = vit.conv_proj
        self.class_token = vit.class_token
        self.pos_embedding = vit.encoder.pos_embedding
        self.dropout = vit.encoder.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        return self.dropout(x + self.pos_embedding)


class ClassTokenHead(torch.nn.Module):
    def __init__(self, heads):
        super().__init__()
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads(x[:, 0])


def transformer_blocks(model):
    """(embedding, [(name, block)], head, layout) for a torchvision ViT or Swin; None for
    other models (they go through create_feature_extractor)."""
    vit = getattr(torchvision.models, "VisionTransformer", None)
    swin = getattr(torchvision.models, "SwinTransformer", None)
    if vit is not None and isinstance(model, vit):
        blocks = [("encoder.layers." + n, m) for n, m in model.encoder.layers.named_children()]
        blocks.append(("encoder.ln", model.encoder.ln))
        return ViTEmbedding(model), blocks, ClassTokenHead(model.heads), "tokens"
    if swin is not None and isinstance(model, swin):
        blocks = [("features." + n, m) for n, m in model.features.named_children()]
        blocks.append(("norm", model.norm))
        head = torch.nn.Sequential(model.permute, model.avgpool, model.flatten, model.head)
        return torch.nn.Identity(), blocks, head, "channels_last"
    return None


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
    p.add_argument("--layers", nargs="+", help="graph node names (transformers: block names) to expose; see --list-layers")
    p.add_argument("--classes", help="text file, one class name per line (line i = logit i)")
    p.add_argument("--input-size", type=int, nargs="+",
                   help="H [W] (default: a ViT's own image size, else 224)")
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
    if args.list_layers:
        blocks = transformer_blocks(model)
        print("\n".join(n for n, _ in blocks[1]) if blocks else "\n".join(get_graph_node_names(model)[1]))
        return 0
    if not args.out or not args.layers:
        p.error("--out and --layers are required")
    class_names = None
    if args.classes:
        with open(args.classes, encoding="utf-8") as f:
            class_names = [line.rstrip("\n") for line in f if line.strip()]
    try:
        export_model(model, args.model, args.layers, args.out, mean=args.mean, std=args.std, class_names=class_names,
                     input_size=args.input_size, fold=not args.no_fold_batchnorm, class_file=args.classes)
    except ExportError as e:
        p.error(str(e))
    return 0


class ExportError(Exception):
    """A request the model cannot satisfy (unknown layer, wrong input size, class names)."""


def export_model(model, source, layers, out, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), class_names=None,
                 input_size=None, fold=True, class_file="class names"):
    """Wraps `model` (a torchvision classifier in eval mode) for the actatlas contract and
    writes it to `out` with its actatlas.json; returns that metadata. `source` names the
    constructor for people. Importable, so that tests can export models they build."""
    layers = list(layers)
    model.eval()
    # In-place activations would overwrite an exposed layer's tensor after it is returned
    # (and break the gradients attribution needs): make them out of place.
    for m in model.modules():
        if hasattr(m, "inplace"):
            m.inplace = False
    blocks = transformer_blocks(model)
    fixed = blocks is not None and blocks[3] == "tokens"  # a ViT's position embeddings fix its input size
    if input_size is None:
        input_size = [model.image_size] if fixed else [224]
    h = input_size[0]
    w = input_size[1] if len(input_size) > 1 else h
    if fixed and (h, w) != (model.image_size, model.image_size):
        raise ExportError("%s takes %dx%d images only (its position embeddings), not %dx%d" %
                          (source, model.image_size, model.image_size, h, w))

    folded = 0
    if blocks is not None:
        embed, named, head, layout = blocks
        names = [n for n, _ in named]
        unknown = [l for l in layers if l not in names]
        if unknown:
            raise ExportError("unknown layer(s) %s; the layers are: %s" % (", ".join(unknown), ", ".join(names)))
        wrapped = Blocks(embed, [m for _, m in named], names, head, layers, mean, std).eval()
    else:
        layout = "channels_first"
        folded = fold_batchnorm(model, layers) if fold else 0
        _, nodes = get_graph_node_names(model)
        # A module's name (features.13) stands for the output of its last node, as in
        # create_feature_extractor itself.
        unknown = [l for l in layers if l not in nodes and not any(n.startswith(l + ".") for n in nodes)]
        if unknown:
            raise ExportError("unknown layer(s) %s; see --list-layers" % ", ".join(unknown))
        logits_node = nodes[-1]
        extractor = create_feature_extractor(model, return_nodes={n: n for n in layers + [logits_node]})
        order = graph_order(layers, nodes)
        cuts = [create_feature_extractor(model, return_nodes={n: n for n in order[: i + 1]}) for i in range(len(order))]
        wrapped = Normalised(extractor, cuts, order, mean, std, logits_node).eval()

    with torch.no_grad():
        probe = wrapped(torch.full((1, 3, h, w), 0.5))
    described = []
    for name in layers:
        t = probe[name]
        if layout == "tokens":
            grid = [h // model.patch_size, w // model.patch_size]
            leading = int(t.shape[1]) - grid[0] * grid[1]
            described.append({"name": name, "channels": int(t.shape[2]), "layout": "tokens", "leading_tokens": leading,
                              "patch_grid": grid, "map_size": grid})
        elif layout == "channels_last":
            grid = [int(t.shape[1]), int(t.shape[2])]
            described.append({"name": name, "channels": int(t.shape[3]), "layout": "channels_last", "patch_grid": grid,
                              "map_size": grid})
        else:
            if t.dim() != 4:
                raise ExportError("layer %s is not a [B,D,h,w] map (shape %s)" % (name, list(t.shape)))
            described.append({"name": name, "channels": int(t.shape[1]), "map_size": [int(t.shape[2]), int(t.shape[3])]})
    classes = int(probe["logits"].shape[1])
    names = class_names if class_names is not None else [str(i) for i in range(classes)]
    if len(names) != classes:
        raise ExportError("%s has %d names but the model has %d logits" % (class_file, len(names), classes))

    scripted = torch.jit.script(wrapped)
    # Only keys the loader knows (torchscript_metadata_keys and torchscript_layer_keys in
    # include/actatlas/torch/torchscript_model.hpp): any other key is refused at load time.
    meta = {
        "format": "actatlas-torchscript/1",
        "source": "torchvision.models.%s" % source,
        "input_size": [h, w],
        "input": "float32 [B,3,H,W] RGB in [0,1]; normalised inside with mean %s std %s" % (list(mean), list(std)),
        "class_names": names,
        "layers": described,
    }
    if fixed:
        meta["fixed_input_size"] = True
    torch.jit.save(scripted, out, _extra_files={"actatlas.json": json.dumps(meta)})
    print("wrote %s: %d classes, layers %s; %d batch norms folded into their convolutions" % (out, classes,
          ", ".join("%s (%d)" % (l["name"], l["channels"]) for l in described), folded))
    return meta


if __name__ == "__main__":
    sys.exit(main())
