"""One appearance-CNN ONNX file from several trained ones: the mean of their logits.

fau's appearance model is one ONNX graph (``image`` ``[N, 1, 48, 48]`` raw grey 0–255 →
``fer2013_logits`` ``[N, 7]``, ``ferplus_logits`` ``[N, 8]``; docs/cnn.md). This script
combines member graphs of that interface (written by ``train_cnn.py train --onnx-out``)
into one graph of the same interface, so fau's runtime code does not change:

    fer2013_logits = mean_m fer2013_logits_m,   ferplus_logits = mean_m ferplus_logits_m

``--no-flip`` first removes each member's built-in test-time mirror (the graph runs the
batch and its mirror, then averages the halves): the member then costs one pass instead of
two. Two different networks without the mirror cost what one network with it costs, and
score higher on PublicTest (docs/cnn.md, *Ensemble*).

``--split DIR`` does the reverse for one ensemble file: it writes each member
(``m0_`` ... ``m<k>_`` of `combine`) as ``<stem>_m<i>.onnx`` with the same interface, so
fau can run the members at the same time (`fau.expression.appearance`, ``members``):
their mean is the ensemble's output, bit for bit (a member's logits are the ensemble's
``m<i>_`` values; the mean is their sum times ``1/k``).

Needs the ``onnx`` package (benchmark tooling only; fau itself runs the result with
onnxruntime)::

    python benchmarks/cnn_ensemble.py --no-flip --out cache/ens/e2.onnx \\
        fau/models/appearance_cnn.onnx cache/mn_onnx/mn_r1aug.onnx
    python benchmarks/cnn_ensemble.py --split /tmp/members fau/models/appearance_cnn.onnx
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

OUTPUTS = ("fer2013_logits", "ferplus_logits")
INPUT = "image"
#: Gemm (fully connected) output of each head inside a ``train_cnn.py`` export: the
#: head's logits before the mirror average.
HEAD_TAG = {"fer2013_logits": "/fer2013/", "ferplus_logits": "/ferplus/"}


def _prune(graph) -> None:
    """Drop nodes no graph output depends on."""
    need = {o.name for o in graph.output}
    alive = []
    for node in reversed(list(graph.node)):
        if set(node.output) & need:
            alive.append(node)
            need |= set(node.input)
    del graph.node[:]
    graph.node.extend(reversed(alive))


def prune_opsets(model) -> None:
    """Keep only the opset imports that the graph's nodes use (the default domain always).

    onnxruntime's quantisation pre-processing stamps every domain it knows (``ai.onnx.ml``
    version 5 among them), and onnxruntime 1.17, the oldest version fau supports, refuses to
    load a file that imports a domain version newer than it knows, used or not.
    """
    used = {n.domain for n in model.graph.node} | {""}
    keep = [o for o in model.opset_import if o.domain in used]
    del model.opset_import[:]
    model.opset_import.extend(keep)


def mirror_concats(model) -> list:
    """The graph's Concat nodes of the input with its flip (its mirror pass; one or none)."""
    return [n for n in model.graph.node if n.op_type == "Concat" and INPUT in n.input]


def has_flip(model) -> bool:
    """Whether the graph still runs its mirror pass."""
    return bool(mirror_concats(model))


def strip_flip(model):
    """The member without its mirror pass: heads read straight from their Gemm nodes."""
    from onnx import helper

    g = model.graph
    concat = mirror_concats(model)
    if len(concat) != 1:
        raise SystemExit("no mirror Concat on the input: is flip-TTA in this graph?")
    cat = concat[0].output[0]
    for node in g.node:
        for i, x in enumerate(node.input):
            if x == cat:
                node.input[i] = INPUT
    heads = {}
    for out, tag in HEAD_TAG.items():
        gemm = [n.output[0] for n in g.node if n.op_type == "Gemm" and tag in n.output[0]]
        if len(gemm) != 1:
            raise SystemExit(f"cannot find the {out} head's Gemm node")
        heads[out] = gemm[0]
    keep = [n for n in g.node if not set(n.output) & set(OUTPUTS)]
    del g.node[:]
    g.node.extend(keep)
    for out, src in heads.items():
        g.node.append(helper.make_node("Identity", [src], [out]))
    _prune(g)
    return model


def combine(members: list):
    """One graph: every member on the shared input, the logits averaged."""
    import onnx
    from onnx import compose, helper, numpy_helper
    import numpy as np

    parts = []
    for i, m in enumerate(members):
        p = compose.add_prefix(m, prefix=f"m{i}_")
        for node in p.graph.node:  # the shared input keeps its name
            for j, x in enumerate(node.input):
                if x == f"m{i}_{INPUT}":
                    node.input[j] = INPUT
        parts.append(p)
    nodes, inits = [], []
    for p in parts:
        nodes += list(p.graph.node)
        inits += list(p.graph.initializer)
    scale = numpy_helper.from_array(np.array(1.0 / len(parts), np.float32), "ens_scale")
    for out in OUTPUTS:
        nodes.append(helper.make_node("Sum", [f"m{i}_{out}" for i in range(len(parts))],
                                      [f"{out}_sum"]))
        nodes.append(helper.make_node("Mul", [f"{out}_sum", "ens_scale"], [out]))
    inp = [x for x in members[0].graph.input if x.name == INPUT]
    outs = list(members[0].graph.output)
    graph = helper.make_graph(nodes, "fau_appearance_ensemble", inp, outs,
                              initializer=inits + [scale])
    model = helper.make_model(graph, opset_imports=list(members[0].opset_import),
                              producer_name="fau benchmarks/cnn_ensemble.py")
    model.ir_version = members[0].ir_version
    onnx.checker.check_model(model)
    return model


def split(model) -> list:
    """The members of a `combine` graph, each a graph of the appearance interface."""
    import onnx
    from onnx.utils import Extractor

    sums = [n for n in model.graph.node if n.op_type == "Sum" and n.output[0] == f"{OUTPUTS[0]}_sum"]
    if not sums:
        raise ValueError("not an ensemble of benchmarks/cnn_ensemble.py (no logit Sum node)")
    k = len(sums[0].input)
    ex = Extractor(onnx.shape_inference.infer_shapes(model))
    out = []
    for i in range(k):
        sub = ex.extract_model([INPUT], [f"m{i}_{o}" for o in OUTPUTS])
        for o in sub.graph.output:
            o.name = o.name.removeprefix(f"m{i}_")
        for node in sub.graph.node:
            node.output[:] = [x.removeprefix(f"m{i}_") if x.removeprefix(f"m{i}_") in OUTPUTS
                              else x for x in node.output]
        del sub.graph.value_info[:]
        sub.ir_version = model.ir_version
        props = {p.key: p.value for p in model.metadata_props}
        members = json.loads(props.get("ensemble", "[]"))
        for key in ("classes", "flip_tta", "quantization"):
            if key in props:
                sub.metadata_props.add(key=key, value=props[key])
        if i < len(members):
            sub.metadata_props.add(key="ensemble_member", value=json.dumps(members[i]))
        prune_opsets(sub)
        onnx.checker.check_model(sub)
        out.append(sub)
    return out


def cmd_split(src: str, folder: str) -> None:
    import onnx

    model = onnx.load(src)
    dst = Path(folder)
    dst.mkdir(parents=True, exist_ok=True)
    for i, sub in enumerate(split(model)):
        path = dst / f"{Path(src).stem}_m{i}.onnx"
        onnx.save(sub, str(path))
        print(f"{path}: {path.stat().st_size:,} bytes")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("members", nargs="+", help="ONNX files with fau's appearance interface")
    ap.add_argument("--out")
    ap.add_argument("--split", metavar="DIR", help="write the members of one ensemble file")
    ap.add_argument("--no-flip", action="store_true", help="remove each member's mirror pass")
    ap.add_argument("--recipe", default="", help="text kept in the file's metadata")
    a = ap.parse_args(argv)
    try:
        import onnx
    except ImportError:
        sys.exit("this script needs the onnx package: pip install onnx")
    if a.split:
        if len(a.members) != 1:
            sys.exit("--split takes one ensemble file")
        return cmd_split(a.members[0], a.split)
    if not a.out:
        sys.exit("--out is needed (or --split DIR)")
    out = Path(a.out)
    if out.exists() and any(out.resolve() == Path(m).resolve() for m in a.members):
        sys.exit("--out must not be one of the members")
    members, meta = [], []
    for path in a.members:
        m = onnx.load(path)
        names = ([i.name for i in m.graph.input], sorted(o.name for o in m.graph.output))
        if names != ([INPUT], sorted(OUTPUTS)):
            sys.exit(f"{path}: inputs/outputs {names}, expected {INPUT} -> {OUTPUTS}")
        meta.append({"file": Path(path).name,
                     "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
                     "metadata": {p.key: p.value for p in m.metadata_props}})
        members.append(strip_flip(m) if a.no_flip else m)
    flips = {has_flip(m) for m in members}
    if len(flips) > 1:
        sys.exit("members differ in their mirror pass: all with it or all without (--no-flip)")
    model = combine(members)
    props = {"classes": meta[0]["metadata"].get("classes", ""),
             "flip_tta": "1" if flips.pop() else "0",
             "ensemble": json.dumps(meta), "recipe": a.recipe or "mean of member logits"}
    # The members' int8 settings, without their own source file (kept per member in `ensemble`).
    quant = {json.dumps({k: v for k, v in json.loads(m["metadata"]["quantization"]).items()
                         if not k.startswith("source")}) if "quantization" in m["metadata"] else ""
             for m in meta}
    if len(quant) > 1:
        sys.exit("members differ in their quantisation: all float32 or all int8 alike")
    if q := quant.pop():
        props["quantization"] = q
    for k, v in props.items():
        model.metadata_props.add(key=k, value=v)
    prune_opsets(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    print(f"{out}: {len(members)} members, flip {'on' if props['flip_tta'] == '1' else 'off'}, "
          f"{out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
