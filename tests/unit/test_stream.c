/* The stream format: round trips, and every way a stream can be bad. */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "io/stream.h"
#include "test.h"

static void fill_record(cx_record *r, int i) {
    char id[32];
    snprintf(id, sizeof id, "rec-%d", i);
    cx_record_set_id(r, id);
    cx_map_set(&r->meta, "patient", cx_str("p1"));
    cx_map_set(&r->meta, "fold", cx_int(i % 5));
    cx_map_set(&r->meta, "age", cx_float(61.5));
    cx_map_set(&r->meta, "missing", cx_nil());
    cx_value box = cx_array();
    for (int k = 0; k < 4; k++) cx_array_push(&box, cx_int(k * 10));
    cx_map_set(&r->meta, "lung_bbox", box);
    int64_t s2[] = {3, 5}, s1[] = {4};
    cx_tensor *img = cx_record_add_tensor(r, "image", CX_U16, 2, s2);
    for (int k = 0; k < 15; k++) ((uint16_t *)img->data)[k] = (uint16_t)(k * 4000 + i);
    cx_tensor *emb = cx_record_add_tensor(r, "embedding", CX_F32, 1, s1);
    for (int k = 0; k < 4; k++) ((float *)emb->data)[k] = 0.5f * (float)k - (float)i;
    for (cx_dtype dt = CX_U8; dt < CX_NDTYPES; dt++) {
        char name[16];
        snprintf(name, sizeof name, "t_%s", cx_dtype_name(dt));
        cx_tensor *t = cx_record_add_tensor(r, name, dt, 1, s1);
        for (int k = 0; k < 4; k++) cx_tensor_set(t, k, k + i);
    }
}

static bool records_equal(const cx_record *a, const cx_record *b) {
    if (strcmp(a->id, b->id) || !cx_value_equal(&a->meta, &b->meta) || a->ntensors != b->ntensors) return false;
    for (size_t i = 0; i < a->ntensors; i++) {
        const cx_tensor *x = &a->tensors[i], *y = cx_record_tensor(b, x->name);
        if (!y || x->dtype != y->dtype || !cx_tensor_same_shape(x, y) || memcmp(x->data, y->data, x->nbytes)) return false;
    }
    return true;
}

static void write_stream(const char *path, int n) {
    cx_value h = cx_header_new("test");
    cx_map_set(&h, "note", cx_str("unit test"));
    cx_writer *w = cx_writer_open(path, &h);
    CHECK(w != NULL);
    for (int i = 0; i < n; i++) {
        cx_record r;
        cx_record_init(&r);
        fill_record(&r, i);
        CHECK_EQ(cx_writer_put(w, &r), 0);
        cx_record_free(&r);
    }
    CHECK_EQ(cx_writer_close(w), 0);
    cx_value_free(&h);
}

TEST(stream_round_trip) {
    const char *path = cx_test_tmp("rt.cxs");
    write_stream(path, 7);
    cx_reader *rd = cx_reader_open(path);
    CHECK(rd != NULL);
    if (!rd) return;
    CHECK(!strcmp(cx_header_kind(cx_reader_header(rd)), "test"));
    CHECK(!strcmp(cx_map_str(cx_reader_header(rd), "note", ""), "unit test"));
    cx_record got, want;
    cx_record_init(&got);
    int n = 0, rc;
    while ((rc = cx_reader_next(rd, &got)) == 1) {
        cx_record_init(&want);
        fill_record(&want, n);
        CHECK(records_equal(&got, &want));
        CHECK_EQ(got.index, n);
        cx_record_free(&want);
        n++;
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(n, 7);
    CHECK_EQ(cx_reader_next(rd, &got), 0);   /* stays at the end */
    cx_record_free(&got);
    cx_reader_close(rd);
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    char *buf = malloc(*len);
    CHECK(fread(buf, 1, *len, f) == *len);
    fclose(f);
    return buf;
}

static void spit(const char *path, const void *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    if (len) CHECK(fwrite(buf, 1, len, f) == len);
    fclose(f);
}

/* Read a whole stream; return the error code (0 when it reads cleanly). */
static int read_all(const char *path) {
    cx_err_clear();
    cx_reader *rd = cx_reader_open(path);
    if (!rd) return cx_errcode();
    cx_record r;
    cx_record_init(&r);
    int rc;
    while ((rc = cx_reader_next(rd, &r)) == 1) {}
    cx_record_free(&r);
    cx_reader_close(rd);
    return rc < 0 ? cx_errcode() : 0;
}

TEST(stream_truncated_anywhere_is_an_error) {
    const char *path = cx_test_tmp("full.cxs"), *cut = cx_test_tmp("cut.cxs");
    write_stream(path, 3);
    size_t len;
    char *buf = slurp(path, &len);
    int missed = 0;
    for (size_t k = 0; k < len; k++) {
        spit(cut, buf, k);
        if (read_all(cut) != EX_DATAERR || !strstr(cx_errmsg(), cut)) missed++;
    }
    CHECK_EQ(missed, 0);
    spit(cut, buf, len - 1);   /* the end marker cut: names the record count */
    CHECK_EQ(read_all(cut), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "truncated") != NULL);
    free(buf);
}

/* Build streams by hand for the malformed cases. */
typedef struct { msgpack_sbuffer sb; msgpack_packer pk; } raw;
static void raw_init(raw *r) { msgpack_sbuffer_init(&r->sb); msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write); }
static void raw_str(raw *r, const char *s) { msgpack_pack_str(&r->pk, strlen(s)); msgpack_pack_str_body(&r->pk, s, strlen(s)); }
static void raw_header(raw *r, const char *format, int version) {
    msgpack_pack_map(&r->pk, 3);
    raw_str(r, "format"); raw_str(r, format);
    raw_str(r, "version"); msgpack_pack_int(&r->pk, version);
    raw_str(r, "kind"); raw_str(r, "test");
}
/* A record with one u8 tensor named tname of shape [d0] carrying nbytes bytes. */
static void raw_record(raw *r, const char *id, const char *tname, const char *tname2, int d0, size_t nbytes) {
    static const char zeros[64];
    msgpack_pack_map(&r->pk, 3);
    raw_str(r, "id"); raw_str(r, id);
    raw_str(r, "meta"); msgpack_pack_map(&r->pk, 0);
    raw_str(r, "tensors"); msgpack_pack_map(&r->pk, tname2 ? 2 : 1);
    for (int k = 0; k < (tname2 ? 2 : 1); k++) {
        raw_str(r, k ? tname2 : tname);
        msgpack_pack_map(&r->pk, 3);
        raw_str(r, "dtype"); raw_str(r, "u8");
        raw_str(r, "shape"); msgpack_pack_array(&r->pk, 1); msgpack_pack_int(&r->pk, d0);
        raw_str(r, "data"); msgpack_pack_bin(&r->pk, nbytes); msgpack_pack_bin_body(&r->pk, zeros, nbytes);
    }
}
static void raw_end(raw *r, int count) { msgpack_pack_map(&r->pk, 1); raw_str(r, "end"); msgpack_pack_int(&r->pk, count); }
static int raw_read(raw *r, const char *name) {
    const char *path = cx_test_tmp(name);
    spit(path, r->sb.data, r->sb.size);
    msgpack_sbuffer_destroy(&r->sb);
    return read_all(path);
}

TEST(stream_bad_inputs_name_file_record_and_field) {
    raw r;
    raw_init(&r); raw_header(&r, "cxr-mtl-stream", 1); raw_record(&r, "a", "x", NULL, 4, 4); raw_end(&r, 1);
    CHECK_EQ(raw_read(&r, "good.cxs"), 0);

    raw_init(&r); raw_header(&r, "other-format", 1); raw_end(&r, 0);
    CHECK_EQ(raw_read(&r, "fmt.cxs"), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "fmt.cxs: header: format: not a cxr-mtl stream") != NULL);

    raw_init(&r); raw_header(&r, "cxr-mtl-stream", 2); raw_end(&r, 0);
    CHECK_EQ(raw_read(&r, "ver.cxs"), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "unsupported format version") != NULL);

    raw_init(&r); raw_header(&r, "cxr-mtl-stream", 1); raw_record(&r, "a", "x", NULL, 4, 4);
    raw_record(&r, "bad-one", "img", NULL, 5, 4); raw_end(&r, 2);
    CHECK_EQ(raw_read(&r, "len.cxs"), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "len.cxs: record 1 (id \"bad-one\"): tensors.img: 4 data bytes disagree with dtype u8 and shape [5]") != NULL);

    raw_init(&r); raw_header(&r, "cxr-mtl-stream", 1); raw_record(&r, "dup", "x", "x", 4, 4); raw_end(&r, 1);
    CHECK_EQ(raw_read(&r, "dup.cxs"), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "tensors.x: duplicate tensor name") != NULL);

    raw_init(&r); raw_header(&r, "cxr-mtl-stream", 1); raw_record(&r, "a", "x", NULL, 4, 4); raw_end(&r, 5);
    CHECK_EQ(raw_read(&r, "count.cxs"), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "end marker counts 5 records") != NULL);

    raw_init(&r); raw_header(&r, "cxr-mtl-stream", 1); raw_end(&r, 0); raw_end(&r, 0);
    CHECK_EQ(raw_read(&r, "after.cxs"), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "data after the end marker") != NULL);

    raw_init(&r); raw_header(&r, "cxr-mtl-stream", 1); raw_record(&r, "a", "x", NULL, 4, 4);
    CHECK_EQ(raw_read(&r, "noend.cxs"), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "no end marker after 1 records") != NULL);

    raw_init(&r);
    CHECK_EQ(raw_read(&r, "empty.cxs"), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "empty input") != NULL);

    CHECK_EQ(read_all(cx_test_tmp("does-not-exist.cxs")), EX_NOINPUT);
}

/* Five bytes claiming a map of 2^32 entries: refused as truncated, without asking for memory. */
TEST(stream_huge_container_claims_allocate_nothing) {
    raw r;
    raw_init(&r);
    raw_header(&r, "cxr-mtl-stream", 1);
    static const char claim[] = {(char)0xdf, (char)0xff, (char)0xff, (char)0xff, (char)0xff};
    msgpack_sbuffer_write(&r.sb, claim, sizeof claim);
    CHECK_EQ(raw_read(&r, "claim.cxs"), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "truncated") != NULL);
    cx_record rec;
    cx_record_init(&rec);
    CHECK_EQ(cx_record_decode(claim, sizeof claim, &rec), EX_DATAERR);
    static const char empty_id[] = {(char)0x81, (char)0xa2, 'i', 'd', (char)0xa0};   /* {"id": ""} */
    CHECK_EQ(cx_record_decode(empty_id, sizeof empty_id, &rec), 0);
    CHECK(rec.id && !rec.id[0]);
    cx_record_free(&rec);
}

TEST(stream_absurd_shape_is_refused_before_allocation) {
    raw r;
    raw_init(&r);
    raw_header(&r, "cxr-mtl-stream", 1);
    msgpack_pack_map(&r.pk, 2);
    raw_str(&r, "id"); raw_str(&r, "huge");
    raw_str(&r, "tensors"); msgpack_pack_map(&r.pk, 1);
    raw_str(&r, "t"); msgpack_pack_map(&r.pk, 3);
    raw_str(&r, "dtype"); raw_str(&r, "f64");
    raw_str(&r, "shape"); msgpack_pack_array(&r.pk, 3);
    for (int k = 0; k < 3; k++) msgpack_pack_uint64(&r.pk, 1ULL << 30);
    raw_str(&r, "data"); msgpack_pack_bin(&r.pk, 0);
    raw_end(&r, 1);
    CHECK_EQ(raw_read(&r, "huge.cxs"), EX_DATAERR);
    CHECK(strstr(cx_errmsg(), "absurd shape") != NULL);
}

TEST(writer_leaves_no_file_on_failure) {
    const char *path = cx_test_tmp("aborted.cxs");
    cx_value h = cx_header_new("test");
    cx_writer *w = cx_writer_open(path, &h);
    cx_record r;
    cx_record_init(&r);
    fill_record(&r, 0);
    cx_writer_put(w, &r);
    cx_writer_abort(w);
    struct stat st;
    CHECK(stat(path, &st) != 0);
    /* a process that dies with cx_die mid-stream leaves nothing either */
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(1);
        cx_writer *w2 = cx_writer_open(path, &h);
        cx_writer_put(w2, &r);
        cx_fatal(EX_DATAERR, "simulated failure");
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == EX_DATAERR);
    CHECK(stat(path, &st) != 0);
    char dir[512];
    snprintf(dir, sizeof dir, "ls -a %s | grep -c tmp- > /dev/null", cx_test_tmpdir());
    CHECK(system(dir) != 0);   /* no temporary left behind */
    cx_record_free(&r);
    cx_value_free(&h);
}
