#!/usr/bin/python3
"""Converts every model described in models/manifests/*.json from its TF.js (or dlib) form in
the unpacked npm packages to ONNX, and checks each result against the sha256 pinned in its
manifest. Run with Debian's python3 (python3-onnx, python3-numpy).

  convert_all.py --npm-dir CACHE/npm --out CACHE/models [--manifests models/manifests]
                 [--only NAME] [--update-hashes]

A model whose converted file already has the pinned sha256 is not converted again.

The manifest's "converter" field picks the converter:
  "faceapi:<net>"  -> faceapi_nets.convert(net, package_dir, manifest)
  "dlib:<net>"     -> dlib_nets.convert(net, package_dir, manifest)
  "graph"          -> graph_model.convert(package_dir, manifest)
  "onnx"           -> onnx_file.convert(package_dir, manifest): a shipped ONNX file as it is
A manifest without "converter" (a fusion of other models' "parts") has no file: it is only
copied beside the others.
Each returns an onnx.ModelProto; the bytes written must be deterministic.
"""

import argparse
import glob
import hashlib
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def package_dir(npm_dir, manifest):
    short = manifest["source"]["package"].split("/")[-1]
    return os.path.join(npm_dir, short, "package")


def build(manifest, npm_dir):
    kind = manifest["converter"]
    pkg = package_dir(npm_dir, manifest)
    if kind.startswith("faceapi:"):
        import faceapi_nets

        return faceapi_nets.convert(kind.split(":", 1)[1], pkg, manifest)
    if kind.startswith("dlib:"):
        import dlib_nets

        return dlib_nets.convert(kind.split(":", 1)[1], pkg, manifest)
    if kind == "graph":
        import graph_model

        return graph_model.convert(pkg, manifest)
    if kind == "onnx":
        import onnx_file

        return onnx_file.convert(pkg, manifest)
    raise SystemExit(f"unknown converter {kind}")


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def copy_manifest(path, out_dir):
    """The engine reads each manifest beside its converted model."""
    shutil.copyfile(path, os.path.join(out_dir, os.path.basename(path)))


def convert_one(path, args):
    with open(path) as f:
        manifest = json.load(f)
    name = manifest["name"]
    if "converter" not in manifest:
        copy_manifest(path, args.out)
        print(f"{name}: fusion of {', '.join(p['model'] for p in manifest['parts'])}")
        return
    out_path = os.path.join(args.out, manifest["file"])
    if not args.update_hashes and os.path.exists(out_path) and file_sha256(out_path) == manifest.get("sha256"):
        copy_manifest(path, args.out)
        print(f"{name}: {manifest['file']} up to date")
        return
    data = build(manifest, args.npm_dir).SerializeToString()
    digest = hashlib.sha256(data).hexdigest()
    if digest != manifest.get("sha256"):
        if not args.update_hashes:
            raise SystemExit(f"{name}: converted sha256 {digest} != manifest {manifest.get('sha256')}")
        manifest["sha256"] = digest
        with open(path, "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out_path)
    copy_manifest(path, args.out)
    print(f"{name}: {manifest['file']} sha256 {digest}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--npm-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--manifests", default=os.path.join(HERE, "..", "..", "models", "manifests"))
    parser.add_argument("--only", action="append")
    parser.add_argument("--update-hashes", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for path in sorted(glob.glob(os.path.join(args.manifests, "*.json"))):
        if args.only and os.path.basename(path)[:-5] not in args.only:
            continue
        convert_one(path, args)


if __name__ == "__main__":
    main()
