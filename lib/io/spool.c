#include "io/spool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"

int cx_spool_fd(int in, const char *name) {
    const char *dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[4096];
    snprintf(path, sizeof path, "%s/cxr-spool-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        cx_err(EX_CANTCREAT, "%s: cannot create a temporary file for %s: %s", path, name, strerror(errno));
        return -1;
    }
    unlink(path);
    char buf[1 << 16];
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            cx_err(EX_IOERR, "%s: read error: %s", name, strerror(errno));
            close(fd);
            return -1;
        }
        if (n == 0) break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(fd, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                cx_err(EX_IOERR, "%s: cannot write the temporary copy: %s", name, strerror(errno));
                close(fd);
                return -1;
            }
            done += w;
        }
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        cx_err(EX_IOERR, "%s: cannot seek the temporary copy: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
