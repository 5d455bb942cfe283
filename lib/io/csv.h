/* CSV (RFC 4180): comma separated, optional double quotes with "" escapes, quoted fields may
 * hold commas and newlines, CRLF or LF line ends, a header row naming the columns. The whole
 * table is held in memory (label tables are small). Errors name the file, line and column. */
#ifndef CX_IO_CSV_H
#define CX_IO_CSV_H

#include <stddef.h>

typedef struct {
    char *name;          /* file name, for messages */
    size_t ncols, nrows;
    char **header;       /* ncols names */
    char **cells;        /* nrows * ncols, row-major; "" for empty */
    size_t *lines;       /* line number (1-based) where each row starts */
    struct cx_csv_index *index;   /* built by cx_csv_find */
} cx_csv;

/* "-" is stdin. On error *csv is left zeroed, so cx_csv_free on it is harmless. */
int cx_csv_read(const char *path, cx_csv *csv);
int cx_csv_parse(const char *text, size_t len, const char *name, cx_csv *csv);
void cx_csv_free(cx_csv *csv);
/* Column index, or -1 (and EX_DATAERR recorded naming the file and column) when absent. */
long cx_csv_col(const cx_csv *csv, const char *column);
static inline const char *cx_csv_cell(const cx_csv *csv, size_t row, size_t col) {
    return csv->cells[row * csv->ncols + col];
}
/* Row whose key column equals key; -1 when absent; -2 on error (EX_DATAERR recorded): a key
 * that occurs twice in the column (naming both lines), or key_col out of range. Builds a hash
 * index on first use. */
long cx_csv_find(cx_csv *csv, size_t key_col, const char *key);

#endif
