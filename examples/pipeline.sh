#!/bin/sh
# A pipeline composed by hand: phantom X-rays -> only the Brixia data set from two centers
# -> drop the masks -> a CSV of labels, and PNG files of the first three images.
# Run from anywhere with the tools on PATH (make puts them in bin/):
#   PATH=$PWD/bin:$PATH sh examples/pipeline.sh [OUTDIR]
set -eu
out=${1:-example-out}
mkdir -p "$out"

cxr-phantom --seed 3 --size 128 --patients 10 \
  | cxr-select --where dataset=brixia \
  | cxr-select --where center!=center-A --where center!=center-B \
  | cxr-select --drop-tensors mask -o "$out/brixia.cxs"

cxr-inspect --csv patient,center,brixia_global,brixia_class "$out/brixia.cxs" > "$out/brixia.csv"
cxr-topng --index 0-2 -d "$out/png" "$out/brixia.cxs"
echo "$(cxr-inspect -c "$out/brixia.cxs") records; labels in $out/brixia.csv; images in $out/png"
