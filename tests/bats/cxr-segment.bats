load helpers
load streams

# A tiny model (one epoch, width 4, 64 x 64) for the tests about input handling, made once;
# the quality test trains its own.
setup_file() {
    PATH="$CXR_BIN:$PATH"
    export OMP_WAIT_POLICY=passive
    cd "$BATS_FILE_TMPDIR" || return 1
    cxr-phantom --size 64 --patients 2 --seed 5 -o tiny-train.cxs
    cxr-segment fit --threads 2 --size 64 --base 4 --epochs 1 -o tiny.cxs tiny-train.cxs 2>/dev/null
}

TINY() { echo "$BATS_FILE_TMPDIR/tiny.cxs"; }

# check_masks STREAM TENSOR: every record's TENSOR is u8 0/255 of its image's shape, and
# meta.lung_fraction is its share of 255s (computed here in numpy).
check_masks() {
    py "$1" "$2" <<'EOF'
import sys, cxstream, numpy as np
recs = list(cxstream.read(open(sys.argv[1], "rb")))[1:]
assert recs, "no records"
for rec, t in recs:
    m, img = t[sys.argv[2]], t["image"]
    assert m.dtype == np.uint8 and m.shape == img.shape[-2:], (rec["id"], m.dtype, m.shape, img.shape)
    assert set(np.unique(m)) <= {0, 255}, rec["id"]
    assert abs(rec["meta"]["lung_fraction"] - (m == 255).mean()) < 1e-12, rec["id"]
    assert isinstance(rec["meta"]["lung_components"], int)
    assert rec["meta"]["lung_qc"] in ("ok", "no_lung", "fraction", "components")
EOF
}

@test "cxr-segment --help, --version and unknown options" {
    assert_help cxr-segment
    assert_version cxr-segment
    assert_unknown_option cxr-segment -m "$(TINY)"
    run cxr-segment fit --no-such-option -o m.cxs x.cxs
    assert_fails 64 "^cxr-segment: unknown option '--no-such-option'"
    # each subcommand knows only its own options
    run cxr-segment fit --truth mask -o m.cxs x.cxs
    assert_fails 64 "^cxr-segment: unknown option '--truth'"
    run cxr-segment -m "$(TINY)" --epochs 3 x.cxs
    assert_fails 64 "^cxr-segment: unknown option '--epochs'"
}

@test "cxr-segment refuses bad streams and then leaves no output file" {
    # -q: the random test images make suspicious masks; the one line is the stream's error
    assert_bad_streams cxr-segment -m "$(TINY)" -q -o out.cxs
    [ ! -e out.cxs ]
}

@test "cxr-segment fit: usage errors" {
    run cxr-segment fit tiny.cxs
    assert_fails 64 "^cxr-segment: fit: --output MODEL is required"
    run cxr-segment fit -o m.cxs
    assert_fails 64 "^cxr-segment: fit: no training stream given"
    run cxr-segment fit --resume -o m.cxs x.cxs
    assert_fails 64 "^cxr-segment: --resume needs --state FILE"
    run cxr-segment fit --size 100 -o m.cxs x.cxs
    assert_fails 64 "^cxr-segment: --size: 100 is not a multiple of 16"
    run cxr-segment fit --preset nope -o m.cxs x.cxs
    assert_fails 64 "^cxr-segment: --preset: unknown U-Net preset \"nope\""
    run cxr-segment -o out.cxs x.cxs
    assert_fails 64 "^cxr-segment: --model MODEL is required"
    [ ! -e m.cxs ] && [ ! -e out.cxs ]
}

@test "cxr-segment fit refuses truncated input and streams without masks, writing nothing" {
    cxr-phantom --size 64 --patients 1 -o p.cxs
    truncated p.cxs >cut.cxs
    run cxr-segment fit --threads 2 --size 64 --base 4 --epochs 1 -o m.cxs cut.cxs
    assert_fails 65 "^cxr-segment: cut.cxs: .*truncated"
    cxr-select --drop-tensors mask -o nomask.cxs p.cxs
    run cxr-segment fit --threads 2 --size 64 --base 4 --epochs 1 -o m.cxs nomask.cxs
    [ "$status" -eq 65 ]
    [[ "${lines[-1]}" =~ ^cxr-segment:\ no\ training\ record\ carries\ a\ tensor\ \"mask\"$ ]]
    [ ! -e m.cxs ]
    no_partial_files .
}

@test "cxr-segment refuses a model file that is not a segmentation model" {
    cxr-phantom --size 64 --patients 1 --count 2 -o p.cxs
    run cxr-segment -m p.cxs -o out.cxs p.cxs
    assert_fails 65 "^cxr-segment: p.cxs: a image stream, not a checkpoint"
    run cxr-segment -m missing.cxs -o out.cxs p.cxs
    assert_fails 66 "^cxr-segment: missing.cxs: cannot open"
    truncated "$(TINY)" 20 >cut-model.cxs
    run cxr-segment -m cut-model.cxs -o out.cxs p.cxs
    assert_fails 65 "^cxr-segment: cut-model.cxs: "
    [ ! -e out.cxs ]
    no_partial_files .
}

@test "cxr-segment adds a 0/255 mask of each image's size, and its quality fields" {
    cxr-phantom --size 64 --patients 1 --seed 9 -o p.cxs
    cxr-segment -m "$(TINY)" --output-tensor lung_mask -o out.cxs p.cxs 2>/dev/null
    check_masks out.cxs lung_mask
    # the input's tensors and meta stay
    [ "$(cxr-inspect -c out.cxs)" = "$(cxr-inspect -c p.cxs)" ]
    cxr-inspect out.cxs | grep -q "^  mask "
    run cxr-inspect -H out.cxs
    [[ "$output" == *"segmentation:"* ]]
}

@test "cxr-segment: an all-black image is segmented without a crash; a suspicious mask warns naming it" {
    py <<'EOF'
import cxstream, numpy as np
w = cxstream.Writer(open("black.cxs", "wb"), cxstream.header("image"))
w.put("black-1", {"patient": "p1"}, {"image": np.zeros((80, 100), np.uint8)})
w.close()
EOF
    run cxr-segment -m "$(TINY)" -o out.cxs black.cxs
    [ "$status" -eq 0 ]
    check_masks out.cxs mask
    # what a one-epoch model sees in black is anybody's guess; whatever is not "ok" is said
    if [ "$(cxr-select --where lung_qc=ok out.cxs | cxr-inspect -c)" = 0 ]; then
        [[ "$output" == *'cxr-segment: warning: black.cxs: record 0 (id "black-1"): suspicious lung mask: '* ]]
    fi
}

@test "cxr-segment: no lung found is a warning and an empty mask, or an error with --strict" {
    cxr-phantom --size 64 --patients 1 --count 2 -o p.cxs
    # no probability reaches 1: nothing is lung
    run cxr-segment -m "$(TINY)" --threshold 1 -o out.cxs p.cxs
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    [[ "${lines[0]}" == 'cxr-segment: warning: p.cxs: record 0 (id "pg-0001-1"): suspicious lung mask: no lung found' ]]
    check_masks out.cxs mask
    [ "$(cxr-select --where lung_qc=no_lung --where lung_fraction=0 out.cxs | cxr-inspect -c)" = 2 ]
    rm out.cxs
    run cxr-segment --strict --threshold 1 -m "$(TINY)" -o out.cxs p.cxs
    assert_fails 65 '^cxr-segment: p.cxs: record 0 \(id "pg-0001-1"\): suspicious lung mask: no lung found$'
    [ ! -e out.cxs ]
    no_partial_files .
}

@test "cxr-segment takes 16-bit, float and odd-sized images and maps the mask back to each size" {
    cxr-phantom --size 64 --patients 1 --count 2 -o p.cxs
    py <<'EOF'
import cxstream, numpy as np
recs = list(cxstream.read(open("p.cxs", "rb")))[1:]
w = cxstream.Writer(open("odd.cxs", "wb"), cxstream.header("image"))
for rec, t in recs:
    img = t["image"]
    w.put(rec["id"] + "-u16", rec["meta"], {"image": img.astype(np.uint16) * 257})
    w.put(rec["id"] + "-f32", rec["meta"], {"image": img.astype(np.float32) / 255})
    w.put(rec["id"] + "-tall", rec["meta"], {"image": np.repeat(img[:, 5:42], 3, axis=0)})   # 192 x 37
    w.put(rec["id"] + "-chw", rec["meta"], {"image": img[None, 3:60, :]})                    # [1, 57, 64]
    w.put(rec["id"] + "-u8", rec["meta"], {"image": img})
w.close()
EOF
    cxr-segment -m "$(TINY)" -o out.cxs odd.cxs 2>/dev/null
    check_masks out.cxs mask
    # 16-bit and float copies of an 8-bit image give (nearly) its mask: the normalisation is by percentiles
    py <<'EOF'
import cxstream, numpy as np
m = {rec["id"]: t["mask"] for rec, t in list(cxstream.read(open("out.cxs", "rb")))[1:]}
for rid in [k[:-2] for k in m if k.endswith("-u8")]:
    for other in ("u16", "f32"):
        differ = (m[rid + other] != m[rid + "u8"]).mean()
        assert differ < 0.002, (rid, other, differ)
EOF
}

@test "cxr-segment fit: a small U-Net on phantom X-rays reaches Dice >= 0.95 on held-out records" {
    # Full run: 49 training images of 128 x 128, width 8, 8 epochs of batch 4 (about 100 steps),
    # under a minute on 2 cores. Under AddressSanitizer (CXR_SANITIZED=1, about 5x slower) the
    # same code runs 2 epochs on 17 images: the bar is then only that training improved on an
    # untrained model's Dice, since 10 steps cannot reach 0.95.
    export OMP_WAIT_POLICY=passive
    if [ -n "${CXR_SANITIZED:-}" ]; then patients=6 epochs=2 bar=0.5; else patients=16 epochs=8 bar=0.95; fi
    cxr-phantom --size 128 --patients $patients --seed 3 -o train.cxs
    cxr-phantom --size 128 --patients 2 --seed 99 -o test.cxs
    cxr-segment fit --threads 2 --base 8 --batch 4 --lr 5e-3 --epochs $epochs --state state.cxs --log log.cxs \
        -o model.cxs train.cxs 2>fit.txt
    [ "$(grep -c '^cxr-segment: epoch ' fit.txt)" = "$epochs" ]
    [ "$(cxr-inspect -c log.cxs)" = "$epochs" ]
    cxr-segment --threads 2 -m model.cxs --truth mask --truth-box lung_bbox --output-tensor lung_mask \
        --report report.json -o seg.cxs test.cxs 2>eval.txt
    grep -q "^cxr-segment: dice over 11 images: mean " eval.txt
    check_masks seg.cxs lung_mask
    # Dice and IoU recomputed here from the masks: they match meta, and the mean reaches the bar
    py "$bar" <<'EOF'
import json, sys, cxstream, numpy as np
bar = float(sys.argv[1])
dices = []
for rec, t in list(cxstream.read(open("seg.cxs", "rb")))[1:]:
    a, b = t["lung_mask"] > 0, t["mask"] > 0
    inter = (a & b).sum()
    dice, iou = 2 * inter / (a.sum() + b.sum()), inter / (a | b).sum()
    assert abs(rec["meta"]["dice"] - dice) < 1e-9 and abs(rec["meta"]["iou"] - iou) < 1e-9, rec["id"]
    assert 0 <= rec["meta"]["box_iou"] <= 1
    dices.append(dice)
report = json.load(open("report.json"))
assert report["dice"]["n"] == len(dices) == 11
assert abs(report["dice"]["mean"] - np.mean(dices)) < 1e-6
assert abs(report["dice"]["median"] - np.median(dices)) < 1e-6
assert abs(report["dice"]["p5"] - np.percentile(dices, 5)) < 1e-6
print("mean Dice %.4f" % np.mean(dices), file=sys.stderr)
assert np.mean(dices) >= bar, np.mean(dices)
EOF
}

@test "cxr-segment fit --resume continues from --state; --val-fraction holds out patients" {
    export OMP_WAIT_POLICY=passive
    cxr-phantom --size 64 --patients 4 --seed 2 -o p.cxs
    cxr-segment fit --threads 2 --size 64 --base 4 --epochs 1 --val-fraction 0.3 --state s.cxs -o m.cxs p.cxs 2>fit.txt
    grep -q "^cxr-segment: .* training and [1-9][0-9]* validation images" fit.txt
    grep -q "val_dice" fit.txt
    cxr-segment fit --threads 2 --size 64 --base 4 --epochs 2 --val-fraction 0.3 --state s.cxs --resume -o m.cxs p.cxs 2>resumed.txt
    # only the second epoch ran
    [ "$(grep -c '^cxr-segment: epoch ' resumed.txt)" = 1 ]
    grep -q "^cxr-segment: epoch 2/2 " resumed.txt
    run cxr-segment fit --threads 2 --size 64 --base 8 --epochs 3 --state s.cxs --resume -o m.cxs p.cxs
    [ "$status" -ne 0 ]
    no_partial_files .
}
