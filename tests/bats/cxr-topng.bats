load helpers
load streams

# 'mk pngdigest' decodes PNGs with a decoder of its own (not libpng) and prints lines in the
# form 'mk digest' prints a stream's tensors, so the two compare with diff.

@test "cxr-topng --help, --version and unknown options" {
    assert_help cxr-topng
    assert_version cxr-topng
    assert_unknown_option cxr-topng -d out
}

@test "cxr-topng refuses bad streams with one line and leaves no temporaries" {
    assert_bad_streams cxr-topng -d out
}

@test "cxr-topng writes u8 and u16 tensors unchanged as 8- and 16-bit PNGs" {
    mk write a.cxs --records 3 --shape 7,9 --dtype u8
    mk write b.cxs --records 2 --shape 5,4 --dtype u16 --seed 2
    cxr-topng -d out8 a.cxs
    cxr-topng --dir out16 < b.cxs
    diff <(mk digest a.cxs) <(mk pngdigest out8/*.png)
    diff <(mk digest b.cxs) <(mk pngdigest out16/*.png)
    [ "$(ls out8 | tr '\n' ' ')" = "r00000.png r00001.png r00002.png " ]
}

@test "cxr-topng round trip: ingest(topng(S)) has the image tensors of S" {
    phantom -o s.cxs
    phantom --bits 16 -o s16.cxs
    cxr-topng -d png s.cxs
    cxr-topng -d png16 s16.cxs
    # --dir reads in file name order
    diff <(mk digest s.cxs | LC_ALL=C sort) <(mk digest <(cxr-ingest -d png))
    diff <(mk digest s16.cxs | LC_ALL=C sort) <(mk digest <(cxr-ingest -d png16))
}

@test "cxr-topng -t and --tensor choose the tensor; a missing one is an error" {
    mk write s.cxs --records 2
    cxr-topng -d m -t mask s.cxs
    diff <(mk digest --tensor mask s.cxs) <(mk pngdigest m/*.png)
    cxr-topng -d m2 --tensor mask s.cxs
    diff <(mk pngdigest m/*.png) <(mk pngdigest m2/*.png)
    run cxr-topng -d x --tensor nosuch s.cxs
    assert_fails 65 '^cxr-topng: s.cxs: record 0 \(id "r00000"\): no tensor "nosuch"'
}

@test "cxr-topng --channel takes one plane of [C,H,W] and [1,C,H,W] tensors" {
    mk write chw.cxs --records 2 --shape 3,4,5
    mk write nchw.cxs --records 2 --shape 1,3,4,5
    cxr-topng -d c0 chw.cxs
    cxr-topng -d c2 --channel 2 chw.cxs
    cxr-topng -d n2 --channel 2 nchw.cxs
    py chw.cxs c0 c2 <<'EOF'
import sys, mkstream
for rec, t in mkstream.read_records(sys.argv[1]):
    for k, d in ((0, sys.argv[2]), (2, sys.argv[3])):
        assert (mkstream.gray_levels("%s/%s.png" % (d, rec["id"])) == t["image"][k]).all()
EOF
    diff <(mk pngdigest c2/*.png) <(mk pngdigest n2/*.png)
    run cxr-topng -d x --channel 3 chw.cxs
    assert_fails 65 '^cxr-topng: chw.cxs: record 0 \(id "r00000"\): tensor "image" has 3 channels, --channel 3'
    run cxr-topng -d x --channel x chw.cxs
    assert_fails 64 "^cxr-topng: --channel: 'x' is not an integer"
    mk write five.cxs --records 1 --shape 2,3,4,5
    run cxr-topng -d x five.cxs
    assert_fails 65 '^cxr-topng: five.cxs: record 0 \(id "r00000"\): tensor "image" has 4 dims'
}

@test "cxr-topng maps float tensors to 8 bits: own min..max, or --range LO:HI" {
    mk write f.cxs --records 2 --shape 6,7 --dtype f32 --nonfinite
    cxr-topng -d auto f.cxs
    cxr-topng -d fixed --range -1:1.5 f.cxs
    py f.cxs auto fixed <<'EOF'
import sys, numpy as np, mkstream
def expect(x, lo, hi):
    v = (x.astype(np.float64) - lo) * (255.0 / (hi - lo))
    v = np.where(v > 0, v, 0)           # NaN and -inf go to 0 too
    return np.floor(np.minimum(v, 255) + 0.5).astype(np.uint8)
for rec, t in mkstream.read_records(sys.argv[1]):
    x = t["image"]
    finite = x[np.isfinite(x)].astype(np.float64)
    for d, lo, hi in ((sys.argv[2], finite.min(), finite.max()), (sys.argv[3], -1.0, 1.5)):
        got = mkstream.gray_levels("%s/%s.png" % (d, rec["id"]))
        assert got.dtype == np.uint8 and (got == expect(x, lo, hi)).all(), (d, got, expect(x, lo, hi))
EOF
    run cxr-topng -d x --range 2:1 f.cxs
    assert_fails 64 "^cxr-topng: --range: HI must exceed LO"
    run cxr-topng -d x --range 5 f.cxs
    assert_fails 64 "^cxr-topng: --range: '5' is not LO:HI"
}

@test "cxr-topng --overlay tints the mask and draws its edge over the gray image" {
    mk write s.cxs --records 2 --shape 9,11
    cxr-topng -d ov --overlay mask s.cxs
    py s.cxs ov <<'EOF'
import sys, numpy as np, mkstream
for rec, t in mkstream.read_records(sys.argv[1]):
    rgb, bits, color_type = mkstream.decode_png("%s/%s.png" % (sys.argv[2], rec["id"]))
    assert (bits, color_type) == (8, 2), "an 8-bit RGB PNG"
    level, inside = t["image"].astype(np.float64), t["mask"] > 0
    padded = np.pad(inside, 1)       # outside the image counts as outside the mask
    all_neighbours_in = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    edge = inside & ~all_neighbours_in
    want = np.repeat(level[:, :, None], 3, axis=2)
    tint = np.array([255.0, 0, 0])
    want[inside] += 0.35 * (tint - want[inside])
    want[edge] = [255, 255, 0]
    assert (rgb == np.floor(want + 0.5)).all(), rec["id"]
EOF
    run cxr-topng -d x --overlay nosuch s.cxs
    assert_fails 65 '^cxr-topng: s.cxs: record 0 \(id "r00000"\): no tensor "nosuch"'
}

@test "cxr-topng writes no PNG at all when its input turns out truncated" {
    mk write s.cxs --records 5
    truncated s.cxs > cut.cxs
    run cxr-topng -d out cut.cxs
    assert_fails 65 "^cxr-topng: cut.cxs: .*truncated"
    [ -z "$(ls out 2>/dev/null)" ]
}

@test "cxr-topng --suffix, and ids made safe as file names" {
    py ids.cxs <<'EOF'
import sys, numpy as np, cxstream
w = cxstream.Writer(open(sys.argv[1], "wb"), cxstream.header("image"))
for rid in ("a b/c", "x.y_z-1", "é"):
    w.put(rid, {}, {"image": np.zeros((2, 3), np.uint8)})
w.close()
EOF
    cxr-topng -d out --suffix -image ids.cxs
    # each byte of a UTF-8 character counts
    [ "$(ls out | LC_ALL=C sort | tr '\n' ' ')" = "__-image.png a_b_c-image.png x.y_z-1-image.png " ]
}

@test "cxr-topng --id, --index and --where choose the records written" {
    mk write s.cxs --records 6
    cxr-topng -d a --id r00004 --id r00001 s.cxs
    cxr-topng -d b --index 0 --index 3- s.cxs
    cxr-topng -d c --where fold=2 s.cxs
    [ "$(ls a | tr '\n' ' ')" = "r00001.png r00004.png " ]
    [ "$(ls b | tr '\n' ' ')" = "r00000.png r00003.png r00004.png r00005.png " ]
    [ "$(ls c | tr '\n' ' ')" = "r00002.png r00005.png " ]
    run cxr-topng -d x --where fold s.cxs
    assert_fails 64 "^cxr-topng: --where: bad condition 'fold'"
}

@test "cxr-topng needs -d, creates it, and fails cleanly when it cannot" {
    mk write s.cxs
    run cxr-topng s.cxs
    assert_fails 64 "^cxr-topng: --dir DIR is required"
    run cxr-topng -d out s.cxs s.cxs
    assert_fails 64 "^cxr-topng: one input stream at most"
    run cxr-topng -d no/such/dir s.cxs
    assert_fails 73 "^cxr-topng: no/such/dir: cannot create directory"
    touch file
    run cxr-topng -d file s.cxs
    assert_fails 73 "^cxr-topng: file/r00000.png: cannot create"
    no_partial_files .
}
