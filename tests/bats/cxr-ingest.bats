load helpers
load streams

# 'mk png' writes PNGs with a PNG encoder of its own; 'mk pngdigest' decodes PNGs the same way
# and prints the gray levels cxr-ingest promises, in the form 'mk digest' prints a stream's.

@test "cxr-ingest --help, --version and unknown options" {
    assert_help cxr-ingest
    assert_version cxr-ingest
    mk png a.png
    assert_unknown_option cxr-ingest a.png
}

@test "cxr-ingest refuses a missing or corrupt PNG, naming it, and writes nothing" {
    mk png good.png --size 40,50
    head -c 100 good.png > cut.png
    printf 'GIF89a and not a PNG at all' > fake.png
    run cxr-ingest good.png missing.png -o out.cxs
    assert_fails 66 "^cxr-ingest: missing.png: cannot open"
    run cxr-ingest good.png cut.png -o out.cxs
    assert_fails 65 "^cxr-ingest: cut.png: corrupt PNG"
    run cxr-ingest fake.png -o out.cxs
    assert_fails 65 "^cxr-ingest: fake.png: corrupt PNG"
    [ ! -e out.cxs ]
    no_partial_files .
}

@test "cxr-ingest then cxr-topng gives back the pixels of 8- and 16-bit gray PNGs" {
    mkdir in
    mk png in/a8.png --bits 8 --size 31,17 --seed 1
    mk png in/b16.png --bits 16 --size 12,40 --seed 2
    cxr-ingest in/a8.png in/b16.png -o s.cxs
    diff <(mk pngdigest in/a8.png in/b16.png) <(mk digest s.cxs)
    [[ "$(mk digest s.cxs | cut -d' ' -f2 | tr '\n' ' ')" == "u8 u16 " ]]
    cxr-topng -d out s.cxs
    diff <(mk pngdigest in/*.png) <(mk pngdigest out/*.png)
}

@test "cxr-ingest turns palette, colour and alpha PNGs into gray by ITU-R 601 luma" {
    for mode in palette ga rgb rgba; do mk png $mode-8.png --mode $mode --bits 8 --seed 3; done
    for mode in ga rgb rgba; do mk png $mode-16.png --mode $mode --bits 16 --seed 4; done
    cxr-ingest *.png -o s.cxs
    diff <(mk pngdigest *.png) <(mk digest s.cxs)
}

@test "cxr-ingest -d and --dir take every *.png of a directory in name order" {
    mkdir d
    for n in c a B; do mk png d/$n.png --seed 5; done
    mk png d/upper.PNG --seed 6
    mk png d/.hidden.png
    touch d/notes.txt
    mk png first.png
    cxr-ingest -d d first.png -o s.cxs
    [ "$(cxr-inspect --csv source s.cxs | tail -n +2 | tr '\n' ' ')" = \
      "first,first.png B,d/B.png a,d/a.png c,d/c.png upper,d/upper.PNG " ]
    cxr-ingest --dir d -o t.cxs
    [ "$(cxr-inspect -c t.cxs)" = 4 ]
    run cxr-ingest --dir nodir
    assert_fails 66 "^cxr-ingest: nodir: cannot open directory"
}

@test "cxr-ingest --list reads PNG paths from a file or standard input" {
    mk png a.png --seed 1
    mk png b.png --seed 2
    printf 'b.png\n\na.png\r\n' > list.txt
    cxr-ingest --list list.txt -o s.cxs
    [ "$(cxr-inspect --csv n s.cxs | tail -n +2 | cut -d, -f1 | tr '\n' ' ')" = "b a " ]
    printf 'a.png\n' | cxr-ingest --list - -o t.cxs
    diff <(mk pngdigest a.png) <(mk digest t.cxs)
    # listed paths come before the PNG arguments
    cxr-ingest a.png --list list.txt -o u.cxs
    [ "$(cxr-inspect --csv n u.cxs | tail -n +2 | cut -d, -f1 | tr '\n' ' ')" = "b a a " ]
    run cxr-ingest --list missing.txt
    assert_fails 66 "^cxr-ingest: missing.txt: cannot open"
}

@test "cxr-ingest -l, --labels, --id-column and --columns join a CSV on the id" {
    for n in p1 p2 p3; do mk png $n.png; done
    printf 'age,name,note,score,empty\r\n52,p1,"cough, fever",0.5,\r\n61,p2,"say ""ah""",-3,true\r\n' > labels.csv
    cxr-ingest -l labels.csv --id-column name p1.png p2.png p3.png -o s.cxs 2>err.txt
    grep -qx 'cxr-ingest: warning: labels.csv: no row for id "p3"; record kept without labels' err.txt
    py s.cxs <<'EOF'
import sys, mkstream
meta = {rec["id"]: rec["meta"] for rec, _ in mkstream.read_records(sys.argv[1])}
assert meta["p1"] == {"source": "p1.png", "age": 52, "note": "cough, fever", "score": 0.5, "empty": None}, meta["p1"]
assert meta["p2"] == {"source": "p2.png", "age": 61, "note": 'say "ah"', "score": -3, "empty": True}, meta["p2"]
assert meta["p3"] == {"source": "p3.png"}, meta["p3"]
EOF
    [[ "$(cxr-inspect -H s.cxs)" == *"labels: labels.csv"* ]]
    cxr-ingest --labels labels.csv --id-column name --columns score,age p1.png -o t.cxs
    [ "$(cxr-inspect --csv source,age,score,note t.cxs | tail -1)" = "p1,p1.png,52,0.5," ]
}

@test "cxr-ingest joins several CSVs given with -l, each on the id" {
    for n in p1 p2; do mk png $n.png; done
    printf 'id,age,score\np1,52,1\np2,61,2\n' > labels.csv
    printf 'id,note,score\np2,"dry cough",20\np1,fever,10\n' > notes.csv
    cxr-ingest -l labels.csv -l notes.csv p1.png p2.png -o s.cxs
    [ "$(cxr-inspect --csv age,note,score s.cxs)" = "$(printf 'id,age,note,score\np1,52,fever,10\np2,61,dry cough,20')" ]
    [[ "$(cxr-inspect -H s.cxs)" == *'labels: ["labels.csv", "notes.csv"]'* ]]
    cxr-ingest -l labels.csv -l notes.csv --columns age,note p1.png -o t.cxs
    [ "$(cxr-inspect --csv age,note,score t.cxs | tail -1)" = "p1,52,fever," ]
    run cxr-ingest -l labels.csv -l notes.csv --columns age,weight p1.png -o u.cxs
    assert_fails 65 "^cxr-ingest: --columns: no CSV given with -l has a column 'weight'"
    printf 'id,note\np1,fever\n' > short.csv
    run cxr-ingest -l labels.csv -l short.csv --require-labels p1.png p2.png -o v.cxs
    assert_fails 65 '^cxr-ingest: short.csv: no row for id "p2"'
    [ ! -e v.cxs ] && no_partial_files
}

@test "cxr-ingest refuses a label column that does not exist, naming it" {
    mk png p1.png
    printf 'id,age\np1,50\n' > labels.csv
    run cxr-ingest -l labels.csv --columns age,weight p1.png -o s.cxs
    assert_fails 65 "^cxr-ingest: labels.csv: .*'weight'"
    run cxr-ingest -l labels.csv --id-column name p1.png -o s.cxs
    assert_fails 65 "^cxr-ingest: labels.csv: .*'name'"
    run cxr-ingest -l missing.csv p1.png -o s.cxs
    assert_fails 66 "^cxr-ingest: missing.csv: cannot open"
    [ ! -e s.cxs ]
}

@test "cxr-ingest --require-labels makes an image without a CSV row an error" {
    mk png p1.png
    mk png p2.png
    printf 'id,age\np1,50\n' > labels.csv
    run cxr-ingest -l labels.csv --require-labels p1.png p2.png -o s.cxs
    assert_fails 65 '^cxr-ingest: labels.csv: no row for id "p2"'
    [ ! -e s.cxs ]
    cxr-ingest -l labels.csv --require-labels p1.png -o s.cxs
    [ "$(cxr-inspect -c s.cxs)" = 1 ]
}

@test "cxr-ingest -m and --mask-dir add DIR/<id>.png as a 0/1 u8 mask where it exists" {
    mkdir masks
    mk png a.png --size 5,7 --seed 1
    mk png b.png --size 5,7 --seed 2
    mk png masks/a.png --size 5,7 --bits 16 --seed 3
    cxr-ingest -m masks a.png b.png -o s.cxs
    py s.cxs masks/a.png <<'EOF'
import sys, mkstream
records = {rec["id"]: t for rec, t in mkstream.read_records(sys.argv[1])}
want = (mkstream.gray_levels(sys.argv[2]) > 0).astype("u1")
assert records["a"]["mask"].dtype == want.dtype and (records["a"]["mask"] == want).all()
assert "mask" not in records["b"]
EOF
    mk png masks/b.png --size 7,5
    run cxr-ingest --mask-dir masks b.png -o t.cxs
    assert_fails 65 "^cxr-ingest: masks/b.png: mask size differs from its image b.png"
    [ ! -e t.cxs ]
}

@test "cxr-ingest --set adds fields to every record; the source path is kept" {
    mk png a.png
    mk png b.png --seed 2
    cxr-ingest --set dataset=brixia --set center=7 a.png b.png -o s.cxs
    [ "$(cxr-inspect --csv source,dataset,center s.cxs | tr '\n' ' ')" = \
      "id,source,dataset,center a,a.png,brixia,7 b,b.png,brixia,7 " ]
    run cxr-ingest --set dataset a.png
    assert_fails 64 "^cxr-ingest: --set: 'dataset' is not FIELD=VALUE"
}

@test "cxr-ingest writes an image stream to -o, --output or standard output" {
    mk png a.png
    cxr-ingest a.png > one.cxs
    cxr-ingest --output two.cxs a.png
    diff <(mk digest one.cxs) <(mk digest two.cxs)
    [[ "$(cxr-inspect -H one.cxs)" == "one.cxs: image stream from cxr-ingest 0.1.0: cxr-ingest a.png" ]]
}

@test "cxr-ingest needs images, and fails cleanly when it cannot write" {
    run cxr-ingest -o s.cxs
    assert_fails 64 "^cxr-ingest: no images"
    mk png a.png
    run cxr-ingest a.png -o no/such/dir/s.cxs
    assert_fails 73 "^cxr-ingest: no/such/dir/s.cxs: cannot create"
}
