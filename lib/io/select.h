/* Choosing records of a stream: by id, by position, by metadata. Shared by the tools that
 * take --id, --index, --has and --where. Within one kind the choices are alternatives
 * (any listed id; any range); across kinds all must hold; invert negates the result. */
#ifndef CX_IO_SELECT_H
#define CX_IO_SELECT_H

#include <stdbool.h>
#include <stdint.h>

#include "io/stream.h"

typedef enum { CX_WHERE_HAS, CX_WHERE_EQ, CX_WHERE_NE } cx_where_op;

typedef struct {
    char **ids;
    size_t nids, capids;
    bool ids_sorted;
    bool ids_given;   /* an id list was given, possibly empty */
    struct cx_index_range { int64_t lo, hi; } *ranges;   /* inclusive; hi = INT64_MAX for "A-" */
    size_t nranges;
    struct cx_where { char *field; cx_where_op op; cx_value value; } *conds;
    size_t nconds;
    bool invert;
} cx_selection;

void cx_selection_init(cx_selection *s);
void cx_selection_free(cx_selection *s);
void cx_selection_add_id(cx_selection *s, const char *id);
/* Every non-empty line of a file (or "-") is an id. */
int cx_selection_add_ids_from(cx_selection *s, const char *path);
/* "N", "A-B" or "A-" (0-based, inclusive). EX_USAGE recorded on a bad range. */
int cx_selection_add_index(cx_selection *s, const char *range);
/* "FIELD=VALUE" or "FIELD!=VALUE"; VALUE as cx_value_parse_scalar reads it, so "3" matches 3
 * and 3.0, and an empty VALUE matches an absent or nil field. */
int cx_selection_add_where(cx_selection *s, const char *expr);
void cx_selection_add_has(cx_selection *s, const char *field);   /* present and not nil */
bool cx_selection_active(const cx_selection *s);
bool cx_selection_match(cx_selection *s, const cx_record *r);

#endif
