load helpers
load streams

# Peak resident memory (KiB) of each stage of
#   mk write N | cxr-select --where fold!=1 | cxr-select --drop-tensors mask | cxr-inspect -c
# on N records of 64x64 u8 image + mask, as "select select inspect"; the count goes to count.txt.
pipe_peaks() {
    local t="/usr/bin/time -f %M -o"
    mk write - --records "$1" --shape 64,64 | $t peak1 cxr-select --where 'fold!=1' |
        $t peak2 cxr-select --drop-tensors mask | $t peak3 cxr-inspect -c > count.txt
    echo "$(cat peak1) $(cat peak2) $(cat peak3)"
}

@test "a three-tool pipe over 10 000 records runs in flat memory" {
    [ -z "${CXR_SANITIZED:-}" ] || skip "peak memory means nothing under AddressSanitizer (its quarantine keeps freed blocks)"
    [ -x /usr/bin/time ] || skip "GNU time (/usr/bin/time) is not installed"
    # Each tool holds one record at a time, so its peak must not grow with the stream: 10 000
    # records (about 80 MiB) may use at most 6 MiB more than 100 records. A leak of one 64x64
    # image per record would add 40 MiB.
    local bound=6144
    read -r -a small <<< "$(pipe_peaks 100)"
    [ "$(cat count.txt)" = 67 ]
    read -r -a large <<< "$(pipe_peaks 10000)"
    [ "$(cat count.txt)" = 6667 ]
    echo "# peak RSS KiB (cxr-select, cxr-select, cxr-inspect): 100 records: ${small[*]}; 10000 records: ${large[*]}; bound +$bound" >&3
    for i in 0 1 2; do
        [ "${large[$i]}" -le $((small[i] + bound)) ]
    done
}

# dicom16 RAW ROWS COLUMNS PHOTOMETRIC OUT: a 16-bit (all bits stored) one-frame DICOM image of
# the little-endian samples in RAW, written with dcmtk's dump2dcm.
dicom16() {
    cat > image.dump <<EOF
(0008,0016) UI =SecondaryCaptureImageStorage
(0008,0018) UI [1.2.826.0.1.3680043.2.1143.1]
(0008,0060) CS [OT]
(0020,000d) UI [1.2.826.0.1.3680043.2.1143.2]
(0020,000e) UI [1.2.826.0.1.3680043.2.1143.3]
(0028,0002) US 1
(0028,0004) CS [$4]
(0028,0010) US $2
(0028,0011) US $3
(0028,0100) US 16
(0028,0101) US 16
(0028,0102) US 15
(0028,0103) US 0
(7fe0,0010) OW =$1
EOF
    dump2dcm +te image.dump "$5"
}

need_dcmtk() {
    for tool in img2dcm dcm2pnm dump2dcm; do
        command -v $tool >/dev/null || skip "dcmtk is not installed ($tool is missing)"
    done
}

@test "DICOM route, 8 bits: BMP -> img2dcm -> dcm2pnm -> cxr-ingest keeps the pixels" {
    need_dcmtk
    phantom --count 1 -o s.cxs
    id=$(cxr-inspect --csv n s.cxs | tail -1 | cut -d, -f1)
    mk bmp s.cxs "$id" image.bmp
    img2dcm -i BMP image.bmp image.dcm
    mkdir 8 16
    dcm2pnm +on image.dcm "8/$id.png"
    dcm2pnm +on2 image.dcm "16/$id.png"
    # +on: the 8-bit values as stored
    diff <(mk digest s.cxs) <(mk digest <(cxr-ingest "8/$id.png"))
    # +on2: a 16-bit PNG that cxr-ingest keeps at 16 bits; dcm2pnm spreads the 8 stored bits
    # over 16 without windowing, as value * 256
    cxr-ingest "16/$id.png" -o 16.cxs
    py s.cxs 16.cxs <<'EOF'
import sys, numpy as np, mkstream
(_, src), = mkstream.read_records(sys.argv[1])
(_, got), = mkstream.read_records(sys.argv[2])
assert got["image"].dtype == np.uint16
assert (got["image"] == src["image"].astype(np.uint16) * 256).all()
EOF
}

@test "DICOM route, 16 bits: dcm2pnm +on2 -> cxr-ingest keeps every bit; MONOCHROME1 comes inverted" {
    need_dcmtk
    phantom --bits 16 --count 1 -o s.cxs
    id=$(cxr-inspect --csv n s.cxs | tail -1 | cut -d, -f1)
    mk raw s.cxs "$id" pixels.raw
    dicom16 pixels.raw 64 64 MONOCHROME2 mono2.dcm
    dicom16 pixels.raw 64 64 MONOCHROME1 mono1.dcm
    mkdir 2 1
    dcm2pnm +on2 mono2.dcm "2/$id.png"
    dcm2pnm +on2 mono1.dcm "1/$id.png"
    diff <(mk digest s.cxs) <(mk digest <(cxr-ingest "2/$id.png"))
    # MONOCHROME1 (minimum = white) is written as it is displayed: 65535 - stored value (dcmtk
    # 3.6.7 rounds the upper half of the range one level up)
    cxr-ingest "1/$id.png" -o 1.cxs
    py s.cxs 1.cxs <<'EOF'
import sys, numpy as np, mkstream
(_, src), = mkstream.read_records(sys.argv[1])
(_, got), = mkstream.read_records(sys.argv[2])
inverted = 65535 - src["image"].astype(np.int64)
assert got["image"].dtype == np.uint16 and np.abs(got["image"] - inverted).max() <= 1
EOF
}
