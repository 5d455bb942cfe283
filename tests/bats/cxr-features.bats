load helpers
load streams

FIELDS=age,sex,spo2,temperature,crp,ldh,lymphocytes,wbc,comorbidities

# Train on the prognosis data set, test on brixia (disjoint patients).
split_phantom() {
    phantom > all.cxs
    cxr-select --where dataset=prognosis all.cxs -o train.cxs
    cxr-select --where dataset=brixia all.cxs -o test.cxs
}

@test "cxr-features --help, --version and unknown options" {
    assert_help cxr-features
    assert_version cxr-features
    assert_unknown_option cxr-features
    run cxr-features fit --no-such-option --text note -o p.cxs
    assert_fails 64 "^cxr-features: unknown option '--no-such-option'"
    run cxr-features apply -Z -p p.cxs
    assert_fails 64 "^cxr-features: unknown option '-Z'"
}

@test "cxr-features needs a step, its fields and its files" {
    run cxr-features
    assert_fails 64 "^cxr-features: a step is required: fit or apply"
    run cxr-features transform -p p.cxs
    assert_fails 64 "^cxr-features: unknown step 'transform'"
    run cxr-features fit -o p.cxs
    assert_fails 64 "^cxr-features: fit: --tabular FIELDS or --text FIELD is required"
    run cxr-features fit --text note
    assert_fails 64 "^cxr-features: fit: --output PARAMS is required"
    run cxr-features fit --text note --vocabulary --text-dim 8 -o p.cxs
    assert_fails 64 "^cxr-features: fit: --vocabulary and --text-dim exclude each other"
    run cxr-features fit --tabular age,sex,age -o p.cxs
    assert_fails 64 "^cxr-features: fit: features: tabular field age named twice"
    run cxr-features fit --text note --text-dim 0 -o p.cxs
    assert_fails 64 "^cxr-features: --text-dim"
    run cxr-features apply
    assert_fails 64 "^cxr-features: apply: --params PARAMS is required"
    [ ! -e p.cxs ]
}

@test "cxr-features fit then apply adds tabular [19] and text [H] to every record" {
    split_phantom
    cxr-features fit --tabular $FIELDS --text note --text-dim 128 -o params.cxs train.cxs
    [[ "$(cxr-inspect -H params.cxs | head -1)" == "params.cxs: features stream from cxr-features "*" fit --tabular $FIELDS --text note --text-dim 128 -o params.cxs train.cxs" ]]
    cxr-features apply -p params.cxs test.cxs -o out.cxs
    [ "$(cxr-inspect -c out.cxs)" = "$(cxr-inspect -c test.cxs)" ]
    py out.cxs <<'PY'
import sys, numpy as np, cxstream
records = list(cxstream.read(open(sys.argv[1], "rb")))
hdr = records[0][0]
assert hdr["features"] == {"params": "params.cxs", "tabular": 19, "text": 128}, hdr["features"]
for rec, tensors in records[1:]:
    assert tensors["tabular"].shape == (19,) and tensors["text"].shape == (128,)
    assert "image" in tensors and "mask" in tensors          # everything else kept
    norm = np.linalg.norm(tensors["text"].astype(np.float64))
    assert abs(norm - (1.0 if rec["meta"].get("note") else 0.0)) < 1e-5, norm
PY
}

# The standardisation comes from the training stream only (numpy on the training records is the
# oracle), and applying never touches the parameters.
@test "cxr-features standardises with the training mean and std, imputes, and marks missing values" {
    split_phantom
    cxr-features fit --tabular age,spo2,sex,lymphocytes -o params.cxs train.cxs
    cp params.cxs before.cxs
    cxr-features apply -p params.cxs test.cxs > test-f.cxs
    cxr-features apply -p params.cxs all.cxs > all-f.cxs
    cmp params.cxs before.cxs
    py train.cxs test-f.cxs <<'PY'
import sys, numpy as np, cxstream
def records(path):
    return [(r, t) for r, t in cxstream.read(open(path, "rb")) if t is not None]
train = records(sys.argv[1])
test = records(sys.argv[2])
missing_seen = False
for k, name in enumerate(["age", "spo2"]):
    values = np.array([r["meta"][name] for r, _ in train if r["meta"].get(name) is not None], dtype=np.float64)
    mean, std = values.mean(), values.std()
    for r, t in test:
        x = r["meta"].get(name)
        want = [0.0, 1.0] if x is None else [(x - mean) / std, 0.0]
        missing_seen |= x is None
        assert np.allclose(t["tabular"][2 * k:2 * k + 2], want, rtol=1e-5, atol=1e-6), (r["id"], name)
levels = sorted({r["meta"]["sex"] for r, _ in train if r["meta"].get("sex") is not None})
assert levels == ["F", "M"], levels
for r, t in test:
    x = r["meta"].get("sex")
    want = [float(x == l) for l in levels] + [float(x is None)]
    assert list(t["tabular"][4:7]) == want, (r["id"], x, t["tabular"][4:7])
assert missing_seen, "the phantom test part should have a missing age or spo2"
PY
}

@test "cxr-features --vocabulary keeps one column per training term" {
    split_phantom
    cxr-features fit --text note --vocabulary -o params.cxs train.cxs
    cxr-features apply -p params.cxs test.cxs > out.cxs
    py params.cxs out.cxs <<'PY'
import sys, cxstream
params = [r for r, t in cxstream.read(open(sys.argv[1], "rb")) if t is not None]
text = [r for r in params if r["id"] == "text"][0]["meta"]
assert text["mode"] == "vocabulary" and text["vocabulary"] == sorted(text["vocabulary"])
assert "productive cough" in text["vocabulary"] and text["dim"] == len(text["vocabulary"])
for rec, t in cxstream.read(open(sys.argv[2], "rb")):
    if t is not None:
        assert t["text"].shape == (text["dim"],) and "tabular" not in t
PY
}

@test "cxr-features refuses bad data with one line naming file, record and field" {
    split_phantom
    run cxr-features fit --tabular age,no_such_field -o p.cxs train.cxs
    assert_fails 65 "^cxr-features: train.cxs: meta.no_such_field: no value in the training stream"
    run cxr-features fit --text no_notes -o p.cxs train.cxs
    assert_fails 65 "^cxr-features: train.cxs: meta.no_notes: no note in the training stream"
    cxr-select --index 1 --set note=3 train.cxs -o bad-note.cxs
    run cxr-features fit --text note -o p.cxs bad-note.cxs
    assert_fails 65 "^cxr-features: bad-note.cxs: record 0 \(id \"[a-z0-9-]+\"\): meta.note: a note must be a string"
    cxr-features fit --tabular age -o params.cxs train.cxs
    cxr-select --index 2 --set age=old test.cxs -o bad-age.cxs
    run cxr-features apply -p params.cxs bad-age.cxs -o out.cxs
    assert_fails 65 "^cxr-features: bad-age.cxs: record 0 \(id \"[a-z0-9-]+\"\): meta.age: not a number"
    [ ! -e out.cxs ] && [ ! -e p.cxs ]
    no_partial_files .
}

@test "cxr-features refuses missing, truncated and wrong parameter and input streams" {
    split_phantom
    cxr-features fit --tabular age -o params.cxs train.cxs
    run cxr-features apply -p missing.cxs test.cxs -o out.cxs
    assert_fails 66 "^cxr-features: missing.cxs: cannot open"
    run cxr-features apply -p test.cxs test.cxs -o out.cxs
    assert_fails 65 "^cxr-features: test.cxs: a stream of kind \"image\", not \"features\""
    truncated params.cxs > cut-params.cxs
    run cxr-features apply -p cut-params.cxs test.cxs -o out.cxs
    assert_fails 65 "^cxr-features: cut-params.cxs: .*truncated"
    truncated test.cxs > cut.cxs
    run cxr-features apply -p params.cxs cut.cxs -o out.cxs
    assert_fails 65 "^cxr-features: cut.cxs: .*truncated"
    run cxr-features fit --tabular age -o p2.cxs cut.cxs
    assert_fails 65 "^cxr-features: cut.cxs: .*truncated"
    run cxr-features fit --tabular age -o nodir/p.cxs train.cxs
    [ "$status" -eq 73 ]
    [ ! -e out.cxs ] && [ ! -e p2.cxs ]
    no_partial_files .
}

@test "cxr-features reads standard input and writes standard output" {
    split_phantom
    cxr-features fit --tabular age,sex --text note --text-dim 32 -o params.cxs < train.cxs
    cxr-features apply -p params.cxs < test.cxs > a.cxs
    cxr-features apply -p params.cxs test.cxs -o b.cxs
    diff <(mk digest --full a.cxs) <(mk digest --full b.cxs)
}
