/* The cxr-mtl tensor stream, format v1 (schemas/stream.cddl, cxr-stream(5)).
 *
 * A stream is a sequence of msgpack maps: one header, then one map per record, then an end
 * marker {"end": <record count>} so that a stream cut short at a record boundary is still
 * known to be truncated. Readers hold one record at a time (memory bounded by the largest
 * record); writers never buffer more than one record either.
 *
 *   header: {"format": "cxr-mtl-stream", "version": 1, "kind": str,
 *            "producer": {"tool": str, "version": str, "argv": [str...]},
 *            "inputs": [header...], ...more fields a tool adds}
 *   record: {"id": str, "meta": {str: value}, "tensors": {name: {"dtype": str,
 *            "shape": [uint...], "data": bin}}}
 */
#ifndef CX_IO_STREAM_H
#define CX_IO_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"
#include "core/value.h"

#define CX_STREAM_FORMAT "cxr-mtl-stream"
#define CX_STREAM_VERSION 1
/* A record bigger than this is refused as corrupt (environment CXR_MAX_RECORD_MB overrides). */
#define CX_MAX_RECORD_BYTES ((size_t)4 << 30)

typedef struct {
    char *id;
    int64_t index;          /* position in its stream, 0-based (set by the reader) */
    cx_value meta;          /* a map */
    cx_tensor *tensors;
    size_t ntensors, cap;
} cx_record;

void cx_record_init(cx_record *r);
void cx_record_free(cx_record *r);       /* also leaves r ready for reuse (as after init) */
void cx_record_set_id(cx_record *r, const char *id);
int cx_record_copy(cx_record *dst, const cx_record *src);
/* Add a zero-filled tensor; NULL and EX_DATAERR recorded when the name exists or the shape is bad. */
cx_tensor *cx_record_add_tensor(cx_record *r, const char *name, cx_dtype dt, int ndim, const int64_t *shape);
/* Move a tensor in (the record takes t's storage; t is left empty). -1 when the name exists. */
int cx_record_take_tensor(cx_record *r, cx_tensor *t);
cx_tensor *cx_record_tensor(const cx_record *r, const char *name);   /* NULL when absent */
bool cx_record_remove_tensor(cx_record *r, const char *name);

/* Headers. cx_header_new makes {"format", "version", "kind", "producer" (this tool, from
 * cx_cli_init), "inputs": []}; add the headers of every input for provenance. */
cx_value cx_header_new(const char *kind);
void cx_header_add_input(cx_value *header, const cx_value *input_header);
const char *cx_header_kind(const cx_value *header);

/* ---- reading ---- */
typedef struct cx_reader cx_reader;

/* path "-" is standard input. NULL on failure (EX_NOINPUT for a missing file, EX_DATAERR for
 * a bad header; recorded, naming the file). */
cx_reader *cx_reader_open(const char *path);
cx_reader *cx_reader_open_fd(int fd, const char *name);   /* does not close fd */
const cx_value *cx_reader_header(const cx_reader *r);
const char *cx_reader_name(const cx_reader *r);
int64_t cx_reader_count(const cx_reader *r);               /* records read so far */
/* Read the next record into rec (its old contents are freed). Returns 1 for a record, 0 at
 * the end marker (after checking that nothing follows it), -1 on error (recorded: one line
 * naming file, record index and id, and field). */
int cx_reader_next(cx_reader *r, cx_record *rec);
void cx_reader_close(cx_reader *r);

/* Decode one record from a msgpack buffer (used by the reader and by fuzzing). */
int cx_record_decode(const void *buf, size_t len, cx_record *rec);

/* ---- writing ---- */
typedef struct cx_writer cx_writer;

/* path "-" is standard output; otherwise a temporary file renamed on cx_writer_close. */
cx_writer *cx_writer_open(const char *path, const cx_value *header);
int cx_writer_put(cx_writer *w, const cx_record *rec);     /* 0 or EX_IOERR / EX_DATAERR */
/* Write the end marker and commit. 0 or an error code; frees w either way. */
int cx_writer_close(cx_writer *w);
void cx_writer_abort(cx_writer *w);                         /* drop the output, free w */
int64_t cx_writer_count(const cx_writer *w);

#endif
