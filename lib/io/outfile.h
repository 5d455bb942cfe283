/* Output files that appear whole or not at all. cx_outfile_open writes to a temporary name
 * in the target's directory ("dir/.name.tmp-PID-N"); cx_outfile_commit flushes, fsyncs and
 * renames it into place. A temporary that was never committed is removed by
 * cx_outfile_abort, at exit (cx_die included) and on SIGINT/SIGTERM/SIGHUP/SIGPIPE, so make
 * never takes a failed stage's output for done. "-" means standard output (no renaming). */
#ifndef CX_IO_OUTFILE_H
#define CX_IO_OUTFILE_H

#include <stdio.h>

typedef struct cx_outfile cx_outfile;

/* Returns NULL and records EX_CANTCREAT (or EX_IOERR) on failure. */
cx_outfile *cx_outfile_open(const char *path);
FILE *cx_outfile_fp(cx_outfile *o);
const char *cx_outfile_path(const cx_outfile *o);   /* the final path, for messages */
/* 0 or EX_IOERR (recorded; the temporary is removed). Frees o either way. */
int cx_outfile_commit(cx_outfile *o);
void cx_outfile_abort(cx_outfile *o);               /* remove the temporary, free o */

#endif
