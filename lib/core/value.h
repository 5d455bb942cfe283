/* Metadata values: the msgpack data model less bin and ext (nil, bool, int, float, string,
 * array, map with string keys). Record metadata and stream headers are cx_value maps.
 * A value owns everything below it. Maps keep insertion order and unique keys. */
#ifndef CX_CORE_VALUE_H
#define CX_CORE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { CX_NIL, CX_BOOL, CX_INT, CX_FLOAT, CX_STR, CX_ARRAY, CX_MAP } cx_kind;

typedef struct cx_value cx_value;
struct cx_value {
    cx_kind kind;
    union {
        bool b;
        int64_t i;
        double f;
        char *s;
        struct { cx_value *items; size_t n, cap; } arr;
        struct { char **keys; cx_value *vals; size_t n, cap; } map;
    } u;
};

static inline cx_value cx_nil(void) { cx_value v = {.kind = CX_NIL}; return v; }
static inline cx_value cx_bool(bool b) { cx_value v = {.kind = CX_BOOL}; v.u.b = b; return v; }
static inline cx_value cx_int(int64_t i) { cx_value v = {.kind = CX_INT}; v.u.i = i; return v; }
static inline cx_value cx_float(double f) { cx_value v = {.kind = CX_FLOAT}; v.u.f = f; return v; }
cx_value cx_str(const char *s);          /* copies s */
cx_value cx_str_own(char *s);            /* takes s (malloc'd) */
cx_value cx_array(void);
cx_value cx_map(void);

void cx_value_free(cx_value *v);         /* leaves v as nil */
cx_value cx_value_copy(const cx_value *v);
bool cx_value_equal(const cx_value *a, const cx_value *b);

/* Arrays and maps take ownership of the value passed in. */
void cx_array_push(cx_value *arr, cx_value item);
void cx_map_set(cx_value *map, const char *key, cx_value val);   /* replaces an existing key */
cx_value *cx_map_get(const cx_value *map, const char *key);      /* NULL when absent or map is not a map */
bool cx_map_del(cx_value *map, const char *key);

/* Convenience getters for maps; they return def when the key is absent or of another kind.
 * Numbers: int, float and bool convert; a string that is a whole decimal number does too. */
const char *cx_map_str(const cx_value *map, const char *key, const char *def);
bool cx_value_number(const cx_value *v, double *out);  /* false when not numeric (nil, array, ...) */

/* Parse a CSV/command-line text into the most specific scalar: "" -> nil, integer, float,
 * "true"/"false" -> bool, otherwise a string. */
cx_value cx_value_parse_scalar(const char *text);

/* Text forms. JSON follows RFC 8259 (non-finite floats become null). The plain form prints
 * strings unquoted, for TSV cells and messages. */
void cx_value_write_json(FILE *f, const cx_value *v);
void cx_value_write_plain(FILE *f, const cx_value *v);
/* The plain form as a new string (malloc'd): a meta field in a message, a key or a file name. */
char *cx_value_plain_text(const cx_value *v);
void cx_json_string(FILE *f, const char *s);

#endif
