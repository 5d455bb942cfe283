load helpers
load streams

mtdata() {
    "$PY" "$BATS_TEST_DIRNAME/mtdata.py" "$@"
}

@test "embed --help, --version and unknown options" {
    assert_help embed
    assert_version embed
    assert_unknown_option embed -b shufflenet_v2_x0_5 -o out.cxs in.cxs
}

@test "embed refuses bad streams and then leaves no output file" {
    # assert_bad_streams's records are no crops: the same cases on a crop stream
    mtdata crop good.cxs --records 3
    truncated good.cxs >cut.cxs
    mk write other.cxs --format other-format
    run embed -b shufflenet_v2_x0_5 -o out.cxs missing.cxs
    assert_fails 66 "^embed: missing.cxs: cannot open"
    run embed -b shufflenet_v2_x0_5 -o out.cxs cut.cxs
    assert_fails 65 "^embed: cut.cxs: .*truncated"
    run embed -b shufflenet_v2_x0_5 -o out.cxs other.cxs
    assert_fails 65 "^embed: other.cxs: header: format: not a cxr-mtl stream"
    [ ! -e out.cxs ]
    no_partial_files .
}

@test "embed usage errors and bad crops" {
    mtdata crop c.cxs --records 3
    run embed -o out.cxs c.cxs
    assert_fails 64 "^embed: give --backbone NAME or --model CKPT"
    run embed -b resnet99 -o out.cxs c.cxs
    assert_fails 64 '^embed: unknown backbone "resnet99"'
    run embed -b shufflenet_v2_x0_5 --layer no/such#1 -o out.cxs c.cxs
    assert_fails 64 '^embed: shufflenet_v2_x0_5 has no layer "no/such#1"'
    mtdata embedding e.cxs --records 3
    run embed -b shufflenet_v2_x0_5 -o out.cxs e.cxs
    assert_fails 65 '^embed: e.cxs: record 0 \(id "r0000"\): tensors.image: missing or not a crop'
    # a later record of another size
    mtdata crop big.cxs --records 2 --size 40
    cxr-cat c.cxs big.cxs -o mixed.cxs
    run embed -b shufflenet_v2_x0_5 --batch 2 -o out.cxs mixed.cxs
    assert_fails 65 '^embed: mixed.cxs: record 3 \(id "r0000"\): tensors.image: missing or not \[1, 32, 32\]'
    [ ! -e out.cxs ]
    no_partial_files .
}

@test "embed writes one embedding per record, meta kept, and does not depend on the batch" {
    mtdata crop c.cxs --records 7 --channels 3
    embed -b shufflenet_v2_x0_5 --threads 1 --batch 3 -o e3.cxs c.cxs
    embed -b shufflenet_v2_x0_5 --threads 1 --batch 7 -o e7.cxs c.cxs
    run cxr-inspect -H e3.cxs
    [[ "$output" == *"embedding_model: shufflenet_v2_x0_5"* ]]
    py c.cxs e3.cxs e7.cxs <<'EOF'
import sys, numpy as np, cxstream
crops, e3, e7 = ([r for r in cxstream.read(open(p, "rb"))][1:] for p in sys.argv[1:])
assert len(e3) == len(crops) == len(e7) == 7
for (c, _), (a, ta), (b, tb) in zip(crops, e3, e7):
    assert a["id"] == c["id"] and list(ta) == ["embedding"], a
    assert a["meta"] == dict(c["meta"], embedding_model="shufflenet_v2_x0_5"), a["meta"]
    assert ta["embedding"].shape == (1024,) and ta["embedding"].dtype == np.float32
    assert np.allclose(ta["embedding"], tb["embedding"], rtol=1e-5, atol=1e-6)
EOF
}

@test "embed --layer pools an intermediate activation; -m takes the backbone of a checkpoint" {
    mtdata crop c.cxs --records 8
    embed -b shufflenet_v2_x0_5 --threads 1 --layer 'stage2.0/channel_shuffle#18' -o mid.cxs c.cxs
    run cxr-inspect mid.cxs
    [[ "$output" == *"embedding        f32  [48]"* ]]
    mt-train --task prognosis:binary:prognosis -b shufflenet_v2_x0_5 --epochs 1 --batch 4 --threads 1 -o m.cxs c.cxs
    embed -m m.cxs --threads 1 -o fromckpt.cxs c.cxs
    [ "$(cxr-inspect -c fromckpt.cxs)" = 8 ]
    # the trained backbone differs from the initial one
    embed -b shufflenet_v2_x0_5 --threads 1 -o init.cxs c.cxs
    ! diff -q <(mk digest --tensor embedding init.cxs) <(mk digest --tensor embedding fromckpt.cxs)
    run embed -m m.cxs -b resnet18 -o x.cxs c.cxs
    assert_fails 64 "^embed: m.cxs holds a shufflenet_v2_x0_5 backbone, not resnet18"
    # the embeddings train a heads-only model
    mt-train --task prognosis:binary:prognosis --input embedding --epochs 1 --batch 4 --threads 1 -o heads.cxs fromckpt.cxs
}
