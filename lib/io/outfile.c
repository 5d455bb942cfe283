#include "io/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"

struct cx_outfile {
    char *path, *tmp;   /* tmp NULL for standard output */
    FILE *fp;
    int slot;           /* index in pending[], -1 for stdout */
};

/* Temporaries not yet committed, removed at exit or on a fatal signal. A fixed table of
 * plain char arrays: the signal handler may only call async-signal-safe unlink(). */
#define MAX_PENDING 1024
static char pending[MAX_PENDING][4096];
static volatile sig_atomic_t pending_used[MAX_PENDING];
static int cleanup_installed;

static void remove_pending(void) {
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending_used[i]) { unlink(pending[i]); pending_used[i] = 0; }
}

static void on_signal(int sig) {
    remove_pending();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_cleanup(void) {
    if (cleanup_installed) return;
    cleanup_installed = 1;
    cx_atexit(remove_pending);
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa, old;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        /* keep an inherited "ignore" (e.g. nohup) */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(sigs[i], &sa, NULL);
    }
}

cx_outfile *cx_outfile_open(const char *path) {
    cx_outfile *o = cx_calloc(1, sizeof *o);
    o->path = cx_strdup(path);
    o->slot = -1;
    if (!strcmp(path, "-")) {
        o->fp = stdout;
        return o;
    }
    install_cleanup();
    for (int i = 0; i < MAX_PENDING; i++)
        if (!pending_used[i]) { o->slot = i; break; }
    if (o->slot < 0) {
        cx_err(EX_SOFTWARE, "%s: too many output files open at once", path);
        free(o->path);
        free(o);
        return NULL;
    }
    /* Same directory as the target, so the final rename stays on one filesystem. */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    static unsigned counter;
    size_t n = strlen(path) + 64;
    o->tmp = cx_malloc(n);
    snprintf(o->tmp, n, "%.*s.%s.tmp-%ld-%u", (int)dirlen, path, path + dirlen, (long)getpid(), counter++);
    if (strlen(o->tmp) >= sizeof pending[0]) {
        cx_err(EX_CANTCREAT, "%s: path too long", path);
        goto fail;
    }
    int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        cx_err(EX_CANTCREAT, "%s: cannot create: %s", path, strerror(errno));
        goto fail;
    }
    strcpy(pending[o->slot], o->tmp);
    pending_used[o->slot] = 1;
    o->fp = fdopen(fd, "wb");
    if (!o->fp) {
        close(fd);
        cx_err(EX_IOERR, "%s: %s", path, strerror(errno));
        cx_outfile_abort(o);
        return NULL;
    }
    setvbuf(o->fp, NULL, _IOFBF, 1 << 20);
    return o;
fail:
    free(o->tmp);
    free(o->path);
    free(o);
    return NULL;
}

FILE *cx_outfile_fp(cx_outfile *o) { return o->fp; }
const char *cx_outfile_path(const cx_outfile *o) { return o->path; }

static void release(cx_outfile *o) {
    if (o->slot >= 0 && pending_used[o->slot]) pending_used[o->slot] = 0;
    free(o->tmp);
    free(o->path);
    free(o);
}

int cx_outfile_commit(cx_outfile *o) {
    int rc = 0;
    if (!o->tmp) {
        if (fflush(o->fp) != 0 || ferror(o->fp)) rc = cx_err(EX_IOERR, "standard output: %s", strerror(errno));
        release(o);
        return rc;
    }
    if (fflush(o->fp) != 0 || ferror(o->fp) || fsync(fileno(o->fp)) != 0)
        rc = cx_err(EX_IOERR, "%s: write failed: %s", o->path, strerror(errno));
    if (fclose(o->fp) != 0 && !rc) rc = cx_err(EX_IOERR, "%s: write failed: %s", o->path, strerror(errno));
    if (!rc && rename(o->tmp, o->path) != 0) rc = cx_err(EX_CANTCREAT, "%s: cannot rename into place: %s", o->path, strerror(errno));
    if (rc) unlink(o->tmp);
    release(o);
    return rc;
}

void cx_outfile_abort(cx_outfile *o) {
    if (!o) return;
    if (o->tmp) {
        if (o->fp) fclose(o->fp);
        unlink(o->tmp);
    }
    release(o);
}
