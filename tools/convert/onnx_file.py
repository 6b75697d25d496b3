"""Passes an ONNX model that an npm package ships as it is (manifest["source"]["files"][0]),
after checking that it loads and has the input and output the manifest names.
Returns the onnx.ModelProto; its serialisation is the package's file re-serialised."""

import os

import onnx


def convert(package_dir, manifest):
    path = os.path.join(package_dir, manifest["source"]["files"][0])
    model = onnx.load(path)
    onnx.checker.check_model(model)
    inputs = [i.name for i in model.graph.input]
    outputs = [o.name for o in model.graph.output]
    if manifest["input"]["name"] not in inputs:
        raise ValueError(f"{path}: no input {manifest['input']['name']} (has {inputs})")
    for output in manifest["outputs"]:
        if output["name"] not in outputs:
            raise ValueError(f"{path}: no output {output['name']} (has {outputs})")
    return model
