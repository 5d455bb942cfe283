/* Reading an input twice when it is a pipe or standard input: copy it once to a temporary
 * file that has no name (unlinked at once, so nothing is left behind whatever happens). */
#ifndef CX_IO_SPOOL_H
#define CX_IO_SPOOL_H

/* Copies everything readable from descriptor in (name for messages) to an unlinked file in
 * $TMPDIR (else /tmp). Returns its descriptor, at offset 0; the caller closes it. -1 on failure,
 * recorded: EX_CANTCREAT (no temporary file) or EX_IOERR (reading in, writing the copy). */
int cx_spool_fd(int in, const char *name);

#endif
