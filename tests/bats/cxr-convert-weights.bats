load helpers
load streams

# cxr-convert-weights is a Python script in tools/ (not built into $CXR_BIN); it runs here with
# $PY, the Python that has PyTorch, through a function of the tool's name. Its files are
# checked by an independent reader of the safetensors format below, against the tensors torch
# saved, and loaded by the C side with cxr-model.

CONVERTER="$BATS_TEST_DIRNAME/../../tools/cxr-convert-weights"

cxr-convert-weights() {
    "$PY" "$CONVERTER" "$@"
}

# Once per file: torchvision's densenet121 state_dict with the legacy dense-layer names of its
# pretrained files ("norm.1" for "norm1"), without the counters those files predate; the same
# as a DataParallel checkpoint ("module." prefixes, under "state_dict", beside an epoch); the
# state_dict as torchvision writes it now (with counters); and the whole model pickled. Without
# PyTorch the tests that convert are skipped (needs_torch).
setup_file() {
    if ! "$PY" -c 'import torch, torchvision' 2>/dev/null; then
        export NO_TORCH="python3-torch and python3-torchvision are not installed for $PY"
        return 0
    fi
    "$PY" - "$BATS_FILE_TMPDIR" <<'EOF'
import os, re, sys
import torch, torchvision
torch.manual_seed(0)
out = sys.argv[1]
model = torchvision.models.densenet121()
modern = re.compile(r"^(.*denselayer\d+\.(?:norm|conv))([12])\.(weight|bias|running_mean|running_var)$")
legacy = {modern.sub(r"\1.\2.\3", k): v for k, v in model.state_dict().items()
          if not k.endswith("num_batches_tracked")}
assert sum(".norm.1." in k for k in legacy) == 58 * 4
torch.save(legacy, os.path.join(out, "legacy.pth"))
torch.save({"epoch": 7, "state_dict": {"module." + k: v for k, v in legacy.items()}}, os.path.join(out, "ckpt.pth"))
torch.save(model.state_dict(), os.path.join(out, "modern.pth"))
torch.save(model, os.path.join(out, "whole.pth"))
EOF
}

# check_densenet121 FILE.safetensors: FILE, read by the format's specification, holds exactly
# torchvision's densenet121 keys (no num_batches_tracked), as F32 with their shapes and the
# values of legacy.pth.
check_densenet121() {
    "$PY" - "$1" "$BATS_FILE_TMPDIR/legacy.pth" <<'EOF'
import json, re, struct, sys
import numpy as np
import torch, torchvision
path, legacy_path = sys.argv[1], sys.argv[2]
raw = open(path, "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
assert n % 8 == 0 and raw[8] == ord("{"), "header of %d bytes" % n
header = json.loads(raw[8:8 + n].decode("utf-8"))
header.pop("__metadata__")
buffer = raw[8 + n:]
spans = sorted(e["data_offsets"] for e in header.values())
assert spans[0][0] == 0 and spans[-1][1] == len(buffer), "the tensors do not fill the buffer"
assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), "gaps or overlaps"
want = {k: v for k, v in torchvision.models.densenet121().state_dict().items()
        if not k.endswith("num_batches_tracked")}
assert set(header) == set(want), "unexpected %s, missing %s" % (sorted(set(header) - set(want))[:2],
                                                            sorted(set(want) - set(header))[:2])
legacy = torch.load(legacy_path)
for key, entry in header.items():
    begin, end = entry["data_offsets"]
    assert entry["dtype"] == "F32" and entry["shape"] == list(want[key].shape), key
    old = re.sub(r"(denselayer\d+\.(?:norm|conv))([12])\.", r"\1.\2.", key)
    assert np.array_equal(np.frombuffer(buffer[begin:end], "<f4"), legacy[old].numpy().ravel()), key
EOF
}

needs_torch() {
    [ -z "${NO_TORCH:-}" ] || skip "$NO_TORCH: cxr-convert-weights needs them"
}

@test "cxr-convert-weights --help, --version, unknown options" {
    assert_help cxr-convert-weights
    assert_version cxr-convert-weights
    assert_unknown_option cxr-convert-weights legacy.pth -o out.safetensors
    [ ! -e out.safetensors ]
}

@test "cxr-convert-weights gives a legacy densenet121 torchvision's names, F32, the same values" {
    needs_torch
    run cxr-convert-weights "$BATS_FILE_TMPDIR/legacy.pth" -o dn.safetensors
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    check_densenet121 dn.safetensors
    no_partial_files .
}

@test "cxr-convert-weights: the C side loads the file into densenet121, strictly, and not into densenet169" {
    needs_torch
    command -v cxr-model >/dev/null || skip "cxr-model is not built in $CXR_BIN"
    cxr-convert-weights "$BATS_FILE_TMPDIR/legacy.pth" -o dn.safetensors
    run cxr-model -b densenet121 --classes 1000 -w dn.safetensors
    [ "$status" -eq 0 ]
    [[ "$output" == *"7978856 parameters, weights from dn.safetensors"* ]]
    run cxr-model -b densenet169 --classes 1000 -w dn.safetensors
    assert_fails 65 "features.denseblock3.denselayer25"
}

@test "cxr-convert-weights reads a checkpoint's state_dict, strips a prefix, keeps counters on request" {
    needs_torch
    cxr-convert-weights "$BATS_FILE_TMPDIR/legacy.pth" -o plain.safetensors
    cxr-convert-weights --strip-prefix other. --strip-prefix module. "$BATS_FILE_TMPDIR/ckpt.pth" -o ckpt.safetensors
    cmp plain.safetensors ckpt.safetensors
    run cxr-convert-weights "$BATS_FILE_TMPDIR/ckpt.pth" -o prefixed.safetensors
    [ "$status" -eq 0 ]
    run check_densenet121 prefixed.safetensors
    [ "$status" -ne 0 ]
    [[ "$output" == *"unexpected ['module.classifier.bias', 'module.classifier.weight']"* ]]
    cxr-convert-weights --keep-counters "$BATS_FILE_TMPDIR/modern.pth" -o counters.safetensors
    cxr-convert-weights "$BATS_FILE_TMPDIR/modern.pth" -o nocounters.safetensors
    run grep -c num_batches_tracked nocounters.safetensors
    [ "$output" = 0 ]
    grep -q '"features.norm0.num_batches_tracked":{"dtype":"I64","shape":\[\]' counters.safetensors
}

@test "cxr-convert-weights takes a whole pickled model only with --trust-pickle" {
    needs_torch
    run cxr-convert-weights "$BATS_FILE_TMPDIR/whole.pth" -o whole.safetensors
    assert_fails 65 "whole.pth: holds Python objects besides tensors .*--trust-pickle"
    [ ! -e whole.safetensors ]
    run cxr-convert-weights --trust-pickle "$BATS_FILE_TMPDIR/whole.pth" -o whole.safetensors
    [ "$status" -eq 0 ]
    "$PY" - <<'EOF'
import json, struct
import torch, torchvision
raw = open("whole.safetensors", "rb").read()
header = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])
want = [k for k in torchvision.models.densenet121().state_dict() if not k.endswith("num_batches_tracked")]
assert [k for k in header if k != "__metadata__"] == want   # one dtype: the state_dict's order
EOF
}

@test "cxr-convert-weights --dtype: F32 by default for floating point, or every dtype kept" {
    needs_torch
    "$PY" - <<'EOF'
import torch
torch.save({"half": torch.tensor([1.5, -2.25], dtype=torch.float16),
            "brain": torch.tensor([0.1, 3.0e38], dtype=torch.bfloat16),
            "double": torch.tensor([[1 / 3]], dtype=torch.float64),
            "count": torch.tensor(12345678901, dtype=torch.int64),
            "mask": torch.tensor([True, False])}, "mixed.pth")
EOF
    cxr-convert-weights mixed.pth -o f32.safetensors
    cxr-convert-weights --dtype keep mixed.pth -o keep.safetensors
    "$PY" - <<'EOF'
import json, struct
import numpy as np
import torch
def read(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    assert n % 8 == 0
    header = json.loads(raw[8:8 + n])
    assert header.pop("__metadata__")["format"] == "pt"
    return {k: (e["dtype"], e["shape"], raw[8 + n + e["data_offsets"][0]:8 + n + e["data_offsets"][1]])
            for k, e in header.items()}
src = torch.load("mixed.pth")
f32, keep = read("f32.safetensors"), read("keep.safetensors")
for key in ("half", "brain", "double"):
    assert f32[key][0] == "F32" and f32[key][1] == list(src[key].shape)
    assert f32[key][2] == src[key].float().numpy().astype("<f4").tobytes(), key
assert f32["count"] == ("I64", [], np.int64(12345678901).astype("<i8").tobytes())
assert f32["mask"] == ("BOOL", [2], b"\x01\x00")
assert keep["half"] == ("F16", [2], src["half"].numpy().astype("<f2").tobytes())
assert keep["brain"] == ("BF16", [2], src["brain"].view(torch.int16).numpy().astype("<i2").tobytes())
assert keep["double"] == ("F64", [1, 1], np.float64(1 / 3).astype("<f8").tobytes())
assert keep["count"] == f32["count"] and keep["mask"] == f32["mask"]
EOF
}

@test "cxr-convert-weights errors: one line, sysexits codes, nothing half-written" {
    needs_torch
    echo old >out.safetensors
    run cxr-convert-weights missing.pth -o out.safetensors
    assert_fails 66 "^cxr-convert-weights: missing.pth: cannot open"
    echo "not a pickle" >junk.pth
    run cxr-convert-weights junk.pth -o out.safetensors
    assert_fails 65 "^cxr-convert-weights: junk.pth: not a PyTorch file"
    "$PY" -c 'import torch; torch.save([1, 2], "list.pth")'
    run cxr-convert-weights list.pth -o out.safetensors
    assert_fails 65 "list.pth: holds a list, not a state_dict"
    "$PY" -c 'import torch; t = torch.ones(2)
torch.save({"b.denselayer1.norm.1.weight": t, "b.denselayer1.norm1.weight": t}, "dup.pth")'
    run cxr-convert-weights dup.pth -o out.safetensors
    assert_fails 65 "dup.pth: keys 'b.denselayer1.norm.1.weight' and 'b.denselayer1.norm1.weight' both become"
    [ "$(cat out.safetensors)" = old ]
    run cxr-convert-weights "$BATS_FILE_TMPDIR/legacy.pth" -o no/such/dir/out.safetensors
    assert_fails 73 "no/such/dir/out.safetensors: cannot create"
    run cxr-convert-weights "$BATS_FILE_TMPDIR/legacy.pth"
    assert_fails 64 "no output file"
    run cxr-convert-weights --dtype f16 "$BATS_FILE_TMPDIR/legacy.pth" -o out.safetensors
    assert_fails 64 "--dtype: 'f16' is neither f32 nor keep"
    no_partial_files .
}

@test "cxr-convert-weights without PyTorch says so in one line (69)" {
    mkdir fake
    echo 'raise ImportError("no torch here")' >fake/torch.py
    run env PYTHONPATH="$PWD/fake" "$PY" "$CONVERTER" "$BATS_FILE_TMPDIR/legacy.pth" -o out.safetensors
    assert_fails 69 "^cxr-convert-weights: needs PyTorch.*no torch here"
    [ ! -e out.safetensors ]
}
