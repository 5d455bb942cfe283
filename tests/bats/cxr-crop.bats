load helpers
load streams

# Python checks read streams with cxstream (tests/ref) and compute the expected geometry with
# numpy and scipy.ndimage, independently of lib/image.

# mkimages OUT SPEC...: a stream of u8 images with masks; SPEC is ID:H:W:KIND with KIND
#   lungs   two rectangles of lung in a textured image
#   black   an all-zero image (mask as lungs)
#   empty   texture with an all-zero mask
#   nomask  texture without a mask tensor
#   badmask texture with a mask of the transposed shape
mkimages() {
    py "$@" <<'EOF'
import sys
import numpy as np
import cxstream
out, specs = sys.argv[1], sys.argv[2:]
rng = np.random.default_rng(3)
with open(out, "wb") as f:
    w = cxstream.Writer(f, cxstream.header("image", tool="cxr-crop.bats"))
    for spec in specs:
        rid, h, wd, kind = spec.split(":")
        h, wd = int(h), int(wd)
        img = rng.integers(1, 256, size=(h, wd)).astype(np.uint8)
        mask = np.zeros((h, wd), dtype=np.uint8)
        mask[h // 5: h - h // 6, wd // 8: wd * 4 // 9] = 1
        mask[h // 4: h - h // 6, wd * 5 // 9: wd - wd // 7] = 1
        if kind == "black":
            img[:] = 0
        if kind == "empty":
            mask[:] = 0
        tensors = {"image": img}
        if kind == "badmask":
            tensors["mask"] = np.zeros((wd, h), dtype=np.uint8)
        elif kind != "nomask":
            tensors["mask"] = mask
        w.put(rid, {"n": 1}, tensors)
    w.close()
EOF
}

@test "cxr-crop --help, --version and unknown options" {
    assert_help cxr-crop
    assert_version cxr-crop
    assert_unknown_option cxr-crop -o out.cxs
    [ ! -e out.cxs ]
}

@test "cxr-crop refuses bad streams and then leaves no output file" {
    assert_bad_streams cxr-crop -o out.cxs
    [ ! -e out.cxs ]
}

@test "cxr-crop refuses bad option values" {
    mkimages s.cxs a:40:50:lungs
    run cxr-crop -n imagenette s.cxs
    assert_fails 64 "^cxr-crop: --normalize: 'imagenette' is not imagenet, zscore, minmax or xrv"
    run cxr-crop -c 2 s.cxs
    assert_fails 64 "^cxr-crop: --channels: '2' is not 1 or 3"
    run cxr-crop --clip 98,2 s.cxs
    assert_fails 64 "^cxr-crop: --clip: LO must be below HI"
    run cxr-crop --clip 2 s.cxs
    assert_fails 64 "^cxr-crop: --clip: '2' is not LO,HI"
    run cxr-crop --box lungs s.cxs
    assert_fails 64 "^cxr-crop: --box: 'lungs' is not mask or meta"
    run cxr-crop --size 0 s.cxs
    assert_fails 64 "^cxr-crop: --size"
    run cxr-crop --no-mask skip s.cxs
    assert_fails 64 "^cxr-crop: --no-mask: 'skip' is not error or full"
    run cxr-crop s.cxs s.cxs
    assert_fails 64 "^cxr-crop: one input stream at most"
}

@test "cxr-crop on phantoms: the box from the mask matches lung_bbox, contains it once squared" {
    cxr-phantom --seed 7 --size 128 --patients 6 -o xr.cxs
    cxr-crop -s 64 xr.cxs -o crops.cxs
    [ "$(cxr-inspect -c crops.cxs)" = "$(cxr-inspect -c xr.cxs)" ]
    py xr.cxs crops.cxs <<'EOF'
import sys
import numpy as np
import scipy.ndimage as ndi
import cxstream

def records(path):
    with open(path, "rb") as f:
        it = cxstream.read(f)
        hdr = next(it)[0]
        for rec, tensors in it:
            yield hdr, rec, tensors

def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])
    return ix / (area(a) + area(b) - ix)

def expected_box(mask):
    labels, n = ndi.label(mask, structure=np.ones((3, 3)))
    areas = ndi.sum(mask > 0, labels, range(1, n + 1))
    top = sorted(range(n), key=lambda i: (-areas[i], i))[:2]
    ys, xs = np.nonzero(np.isin(labels, [i + 1 for i in top]))
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]

def grow_and_square(box, w, h, margin=5):
    dx = int(np.floor(margin / 100 * (box[2] - box[0]) / 2 + 0.5))
    dy = int(np.floor(margin / 100 * (box[3] - box[1]) / 2 + 0.5))
    g = [max(box[0] - dx, 0), max(box[1] - dy, 0), min(box[2] + dx, w), min(box[3] + dy, h)]
    side = max(g[2] - g[0], g[3] - g[1])
    start = []
    for lo, hi, n in ((g[0], g[2], w), (g[1], g[3], h)):
        if side > n:
            start.append(-((side - n) // 2))
        else:
            start.append(min(max(lo - (side - (hi - lo)) // 2, 0), n - side))
    return [start[0], start[1], start[0] + side, start[1] + side]

ious = []
for (_, a, ta), (hdr, b, tb) in zip(records(sys.argv[1]), records(sys.argv[2])):
    assert hdr["kind"] == "crop" and a["id"] == b["id"]
    meta = b["meta"]
    for k, v in a["meta"].items():
        assert meta[k] == v, k
    img, mask = ta["image"], ta["mask"]
    h, w = img.shape
    lung = expected_box(mask)
    assert meta["crop_lung_box"] == lung, (meta["crop_lung_box"], lung)
    assert meta["crop_box"] == grow_and_square(lung, w, h), (meta["crop_box"], grow_and_square(lung, w, h))
    cb, ref = meta["crop_box"], a["meta"]["lung_bbox"]
    assert cb[2] - cb[0] == cb[3] - cb[1]
    assert cb[0] <= ref[0] and cb[1] <= ref[1] and cb[2] >= ref[2] and cb[3] >= ref[3], (cb, ref)
    ious.append(iou(meta["crop_lung_box"], ref))
    assert meta["clip"] == list(np.percentile(img, [2, 98])), (meta["clip"], np.percentile(img, [2, 98]))
    assert meta["normalization"] == "imagenet" and meta["crop_size"] == 64
    x = tb["image"]
    assert x.dtype == np.float32 and x.shape == (3, 64, 64) and set(tb) == {"image"}
print("IoU min %.3f" % min(ious))
assert min(ious) > 0.95
EOF
}

@test "cxr-crop: 16-bit phantoms are clipped at their own 16-bit percentiles" {
    cxr-phantom --seed 3 --size 96 --patients 2 --bits 16 -o xr16.cxs
    cxr-crop -s 48 -n minmax -c 1 xr16.cxs -o c16.cxs
    py xr16.cxs c16.cxs <<'EOF'
import sys
import numpy as np
import cxstream
def records(path):
    with open(path, "rb") as f:
        it = cxstream.read(f)
        next(it)
        yield from it
n = 0
for (a, ta), (b, tb) in zip(records(sys.argv[1]), records(sys.argv[2])):
    n += 1
    assert ta["image"].dtype == np.uint16
    lo, hi = np.percentile(ta["image"], [2, 98])
    assert b["meta"]["clip"] == [lo, hi] and hi > 255, (b["meta"]["clip"], lo, hi)
    x = tb["image"]
    assert x.shape == (1, 48, 48) and x.min() >= 0 and x.max() <= 1 and x.max() > 0.5
assert n == 6
EOF
}

@test "cxr-crop: odd sizes and aspect ratios give square outputs; values are the clipped pixels" {
    mkimages odd.cxs tall:101:37:lungs wide:37:101:lungs odd:63:65:lungs tiny:3:5:lungs
    cxr-crop -s 31 odd.cxs -o c31.cxs
    run cxr-inspect c31.cxs
    [ "$(grep -c 'image  *f32  *\[3, 31, 31\]' <<<"$output")" = 4 ]
    # at the crop's own side no resampling happens: the values are the clipped crop itself
    py odd.cxs <<'EOF'
import subprocess, sys
import numpy as np
import cxstream
def records(path):
    with open(path, "rb") as f:
        it = cxstream.read(f)
        next(it)
        yield from it
checked = []
for a, ta in records(sys.argv[1]):
    img, mask = ta["image"], ta["mask"]
    # the side of the square with no margin: the longer side of the mask's box
    ys, xs = np.nonzero(mask)
    side = max(xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min())
    subprocess.run(["cxr-crop", "--margin", "0", "-n", "minmax", "-c", "1", "-s", str(side), "--keep-mask",
                          "-o", "one.cxs", sys.argv[1]], check=True)
    for b, tb in records("one.cxs"):
        if b["id"] != a["id"]:
            continue
        x0, y0, x1, y1 = b["meta"]["crop_box"]
        lo, hi = b["meta"]["clip"]
        h, w = img.shape
        pad = np.zeros((y1 - y0, x1 - x0))
        padm = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        sy0, sx0 = max(y0, 0), max(x0, 0)
        sy1, sx1 = min(y1, h), min(x1, w)
        pad[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = (np.clip(img[sy0:sy1, sx0:sx1], lo, hi) - lo) / (hi - lo)
        padm[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = mask[sy0:sy1, sx0:sx1]
        got = tb["image"][0]
        assert got.shape == (side, side) and np.abs(got - pad).max() < 1e-6, (a["id"], np.abs(got - pad).max())
        assert np.array_equal(tb["mask"], padm), a["id"]
        checked.append(a["id"])
assert checked == ["tall", "wide", "odd", "tiny"], checked
EOF
}

@test "cxr-crop: each normalisation has its statistics" {
    cxr-phantom --seed 5 --size 128 --patients 3 -o xr.cxs
    for n in imagenet zscore minmax xrv; do
        cxr-crop -s 40 -n $n xr.cxs -o $n.cxs
        cxr-crop -s 40 -n $n -c 1 xr.cxs -o $n-1.cxs
    done
    py <<'EOF'
import numpy as np
import cxstream
def images(path):
    with open(path, "rb") as f:
        it = cxstream.read(f)
        next(it)
        for rec, t in it:
            assert rec["meta"]["normalization"] == path.split(".")[0].split("-")[0]
            yield t["image"].astype(np.float64)
mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
for x, x1, m in zip(images("imagenet.cxs"), images("imagenet-1.cxs"), images("minmax.cxs")):
    assert x.shape == (3, 40, 40) and x1.shape == (1, 40, 40)
    g = x * std[:, None, None] + mean[:, None, None]     # back to grey, per channel
    assert np.abs(g - m).max() < 1e-5 and np.abs(x1[0] * 0.226 + 0.449 - m[0]).max() < 1e-5
for z in images("zscore.cxs"):
    assert abs(z.mean()) < 1e-5 and abs(z.std() - 1) < 1e-4 and np.array_equal(z[0], z[2])
for m in images("minmax.cxs"):
    assert m.min() >= 0 and m.max() <= 1 and m.max() - m.min() > 0.1
for x, m in zip(images("xrv-1.cxs"), images("minmax.cxs")):
    assert x.shape == (1, 40, 40) and np.abs(x[0] - (2 * m[0] - 1) * 1024).max() < 1e-3
    assert x.min() >= -1024 and x.max() <= 1024
EOF
}

@test "cxr-crop: an all-black image is an error naming file, record and field; no output" {
    mkimages s.cxs a:40:50:lungs b:40:50:black
    run cxr-crop s.cxs -o out.cxs
    assert_fails 65 '^cxr-crop: s.cxs: record 1 \(id "b"\): image: no contrast: its 2 and 98 percentiles are both 0'
    [ ! -e out.cxs ]
    no_partial_files .
}

@test "cxr-crop: an empty mask is an error, or with --no-mask full the whole image and a warning" {
    mkimages s.cxs a:40:50:lungs e:40:60:empty
    run cxr-crop s.cxs -o out.cxs
    assert_fails 65 '^cxr-crop: s.cxs: record 1 \(id "e"\): mask: no lung pixels'
    [ ! -e out.cxs ]
    run cxr-crop --no-mask full s.cxs -o out.cxs
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^cxr-crop:\ warning:\ s.cxs:\ record\ 1\ \(id\ \"e\"\):\ no\ lung\ box ]]
    run cxr-inspect --id e out.cxs
    [[ "$output" == *"crop_box=[0, -10, 60, 50]"* ]]
    no_partial_files .
}

@test "cxr-crop: a missing mask, a mask of another shape, and --mask" {
    mkimages s.cxs a:40:50:lungs n:40:50:nomask
    run cxr-crop s.cxs -o out.cxs
    assert_fails 65 '^cxr-crop: s.cxs: record 1 \(id "n"\): mask: no such tensor'
    mkimages t.cxs a:40:50:badmask
    run cxr-crop t.cxs -o out.cxs
    assert_fails 65 '^cxr-crop: t.cxs: record 0 \(id "a"\): mask: shape \[50, 40\] differs from the image.s \[40, 50\]'
    run cxr-crop --mask lungs t.cxs -o out.cxs
    assert_fails 65 '^cxr-crop: t.cxs: record 0 \(id "a"\): lungs: no such tensor'
    [ ! -e out.cxs ]
    no_partial_files .
}

@test "cxr-crop --box meta uses lung_bbox, and refuses one outside the image" {
    cxr-phantom --seed 7 --size 128 --patients 2 -o xr.cxs
    cxr-crop --box meta -s 32 xr.cxs -o m.cxs
    py xr.cxs m.cxs <<'EOF'
import sys
import cxstream
def records(path):
    with open(path, "rb") as f:
        it = cxstream.read(f)
        next(it)
        yield from it
n = 0
for (a, _), (b, _) in zip(records(sys.argv[1]), records(sys.argv[2])):
    assert b["meta"]["crop_lung_box"] == a["meta"]["lung_bbox"]
    n += 1
assert n == 4
EOF
    cxr-select --index 1 --set 'lung_bbox=10 20 129 100' xr.cxs -o bad.cxs
    run cxr-crop --box meta bad.cxs -o out.cxs
    assert_fails 65 '^cxr-crop: bad.cxs: record 0 \(id "pg-0002-1"\): meta.lung_bbox: \[10, 20, 129, 100\] is outside the 128x128 image'
    cxr-select --index 1 --unset lung_bbox xr.cxs -o none.cxs
    run cxr-crop --box meta none.cxs -o out.cxs
    assert_fails 65 'meta.lung_bbox: no lung box'
    [ ! -e out.cxs ]
}

@test "cxr-crop streams through a pipe and keeps the mask only when asked" {
    cxr-phantom --seed 2 --size 64 --patients 2 | cxr-crop -s 16 --keep-mask | cxr-inspect >out.txt
    grep -q 'crop stream from cxr-crop' out.txt
    [ "$(grep -c 'mask  *u8  *\[16, 16\]' out.txt)" = 4 ]
    cxr-phantom --seed 2 --size 64 --patients 2 | cxr-crop -s 16 | cxr-inspect >out.txt
    ! grep -q 'mask  *u8' out.txt
}
