// rows.c — the formats' lower layer: data sets (lifetime, accessors,
// building from arrays, restricting to rows), the row builder the text
// readers fill, the prompt-id hash set, the checks the text readers share,
// number and string output, whole-file loading (memory maps), temporary
// output files renamed into place, and cleanup on signals.
//
// Layering (host/io/): data.c and writer.c (format dispatch, the streaming
// writer) call the per-format readers and writers io_jsonl.c, io_csv.c,
// io_npy.c, which call this file; this file calls none of them (only
// internal.h and the C library). Declared in rows.h.
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "rows.h"

#define STDOUT_NAME "standard output"

static void map_add(const void *base, size_t len, const char *path);
static void unmap(void *base, size_t len);

// ----------------------------------------------------------------------------
// growable arrays

// Grows *p geometrically to hold `need` elements; 0, or -1 on OOM with *p kept.
int srs_grow(void **p, int64_t *cap, int64_t need, size_t elem) {
    if (need <= *cap) return 0;
    int64_t c = *cap < 1024 ? 1024 : *cap;
    while (c < need) {
        if (c > INT64_MAX / 2) return -1;
        c *= 2;
    }
    if ((uint64_t)c > SIZE_MAX / elem) return -1;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

// ----------------------------------------------------------------------------
// whole-file input

// Maps (or reads) the whole file; SRS_ERR_IO/NOMEM with *f zeroed on failure.
srs_status_t srs_file_load(srs_ctx_t *ctx, const char *path, srs_file_t *f) {
    memset(f, 0, sizeof *f);
    int is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return srs_fail(ctx, SRS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        if (!is_stdin) close(fd);
        return srs_fail(ctx, SRS_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        if (!is_stdin) close(fd);
        return srs_fail(ctx, SRS_ERR_IO, "%s: is a directory", path);
    }
    if (S_ISREG(st.st_mode)) {
        if (st.st_size == 0) {
            if (!is_stdin) close(fd);
            f->data = "";   // never NULL: readers form data + len
            return SRS_OK;
        }
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            if (!is_stdin) close(fd);
            f->map = m;
            f->map_len = (size_t)st.st_size;
            map_add(m, f->map_len, path);
            f->data = m;
            f->len = (size_t)st.st_size;
            return SRS_OK;
        }
        // Fall through to read(): some file systems cannot map.
    }
    int64_t cap = 0, len = 0;
    char *buf = NULL;
    for (;;) {
        if (srs_grow((void **)&buf, &cap, len + 65536, 1) != 0) {
            free(buf);
            if (!is_stdin) close(fd);
            return srs_fail(ctx, SRS_ERR_NOMEM, "%s: out of memory reading the file", path);
        }
        ssize_t r = read(fd, buf + len, (size_t)(cap - len));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            if (!is_stdin) close(fd);
            return srs_fail(ctx, SRS_ERR_IO, "%s: read failed: %s", path, strerror(e));
        }
        if (r == 0) break;
        len += r;
    }
    if (!is_stdin) close(fd);
    if (len == 0) {
        free(buf);
        f->data = "";
        return SRS_OK;
    }
    f->buf = buf;
    f->data = buf;
    f->len = (size_t)len;
    return SRS_OK;
}

// Unmaps or frees f's bytes and zeroes it.
void srs_file_release(srs_file_t *f) {
    if (f->map) unmap(f->map, f->map_len);
    free(f->buf);
    memset(f, 0, sizeof *f);
}

// ----------------------------------------------------------------------------
// what a signal handler removes: temporaries and mapped inputs
//
// A fixed table of paths, written by the threads that create temporaries and
// read by a signal handler (host/cli.c) that may interrupt any of them. A
// slot is claimed with a compare-and-swap, filled, then published; the
// strings live in the table itself, so the handler never follows a pointer
// that another thread frees. The handler only reads, unlinks and rmdirs:
// async-signal-safe.

#define CLEAN_SLOTS 128
#define CLEAN_PATH 4096

static struct {
    _Atomic int state;        // 0 free, 1 being filled, 2 live
    int is_dir;
    unsigned seq;             // creation order: directories go newest first
    char path[CLEAN_PATH];
} clean_tab[CLEAN_SLOTS];
static _Atomic unsigned clean_seq;

int srs_cleanup_add(const char *path, int is_dir) {
    size_t n = strlen(path);
    if (n >= CLEAN_PATH) return 0;
    for (int i = 0; i < CLEAN_SLOTS; i++) {
        int want = 0;
        if (!atomic_compare_exchange_strong(&clean_tab[i].state, &want, 1)) continue;
        memcpy(clean_tab[i].path, path, n + 1);
        clean_tab[i].is_dir = is_dir;
        clean_tab[i].seq = atomic_fetch_add(&clean_seq, 1);
        atomic_store(&clean_tab[i].state, 2);
        return i + 1;
    }
    return 0;  // full: this one is not removed on a signal
}

void srs_cleanup_remove(int slot) {
    if (slot > 0 && slot <= CLEAN_SLOTS) atomic_store(&clean_tab[slot - 1].state, 0);
}

void srs_cleanup_run(void) {
    for (int i = 0; i < CLEAN_SLOTS; i++)
        if (atomic_load(&clean_tab[i].state) == 2 && !clean_tab[i].is_dir) unlink(clean_tab[i].path);
    // directories after their files, the newest (innermost) first
    int done[CLEAN_SLOTS] = {0};
    for (;;) {
        int best = -1;
        for (int i = 0; i < CLEAN_SLOTS; i++)
            if (!done[i] && atomic_load(&clean_tab[i].state) == 2 && clean_tab[i].is_dir &&
                (best < 0 || clean_tab[i].seq > clean_tab[best].seq))
                best = i;
        if (best < 0) break;
        done[best] = 1;
        rmdir(clean_tab[best].path);
    }
}

// Memory-mapped input files: a SIGBUS in one of them means the file shrank
// while it was read (host/cli.c turns that into an I/O error naming it).
#define MAP_SLOTS 64

static struct {
    _Atomic int state;        // as clean_tab
    uintptr_t base;
    size_t len;
    char path[CLEAN_PATH];
} map_tab[MAP_SLOTS];

static void map_add(const void *base, size_t len, const char *path) {
    size_t n = strlen(path);
    for (int i = 0; i < MAP_SLOTS; i++) {
        int want = 0;
        if (!atomic_compare_exchange_strong(&map_tab[i].state, &want, 1)) continue;
        map_tab[i].base = (uintptr_t)base;
        map_tab[i].len = len;
        memcpy(map_tab[i].path, path, n < CLEAN_PATH ? n + 1 : 1);
        if (n >= CLEAN_PATH) map_tab[i].path[0] = '\0';
        atomic_store(&map_tab[i].state, 2);
        return;
    }
}

static void map_remove(const void *base) {
    for (int i = 0; i < MAP_SLOTS; i++)
        if (atomic_load(&map_tab[i].state) == 2 && map_tab[i].base == (uintptr_t)base) {
            atomic_store(&map_tab[i].state, 0);
            return;
        }
}

// munmap, and forget the mapping.
static void unmap(void *base, size_t len) {
    map_remove(base);
    munmap(base, len);
}

const char *srs_mapped_file_at(const void *addr) {
    uintptr_t a = (uintptr_t)addr;
    for (int i = 0; i < MAP_SLOTS; i++)
        if (atomic_load(&map_tab[i].state) == 2 && a >= map_tab[i].base && a - map_tab[i].base < map_tab[i].len)
            return map_tab[i].path;
    return NULL;
}

// ----------------------------------------------------------------------------
// temporary output files
//
// Where the output goes decides how it is written:
//   "-"                     an anonymous file, copied to stdout on commit
//   a FIFO, a device        written through: an anonymous file, copied into
//                           the path (opened without O_CREAT or O_TRUNC) on
//                           commit; never replaced by a regular file
//   a symlink               followed: the temporary goes beside the final
//                           target, which is replaced; the link stays
//   a directory             refused at open
//   a regular file or none  a temporary in the same directory, renamed over
//                           it on commit: unnamed (O_TMPFILE) where the file
//                           system has it, linked to a name only for the
//                           rename, so that even SIGKILL leaves nothing;
//                           else "<path>.tmp.XXXXXX", removed on SIGINT,
//                           SIGTERM, SIGHUP, SIGPIPE (the registry above)

#define VBUF_SIZE (1 << 20)

// 0666 & ~umask without touching the process umask (which would race with
// other threads): read it from /proc, 022 when that is unavailable.
static mode_t file_mode(void) {
    mode_t mask = 022;
    FILE *s = fopen("/proc/self/status", "re");
    if (s) {
        char line[256];
        while (fgets(line, sizeof line, s))
            if (strncmp(line, "Umask:", 6) == 0) {
                mask = (mode_t)strtol(line + 6, NULL, 8);
                break;
            }
        fclose(s);
    }
    return 0666 & ~mask;
}

// A 1 MiB stdio buffer (glibc ignores the size when setvbuf gets no buffer).
// Without memory for it the default buffer stays: slower, still correct.
static void vbuf_attach(srs_tmp_t *t) {
    t->vbuf = malloc(VBUF_SIZE);
    if (t->vbuf) setvbuf(t->f, t->vbuf, _IOFBF, VBUF_SIZE);
}

// fclose, then free the buffer it used; returns fclose's result.
static int close_stream(srs_tmp_t *t) {
    int r = fclose(t->f);
    t->f = NULL;
    free(t->vbuf);
    t->vbuf = NULL;
    return r;
}

// The file a path finally names: symlinks followed (a dangling one to the
// file it would create), relative targets against the link's directory.
// malloc'd; NULL with errno set on failure (ELOOP after 40 links).
static char *final_path(const char *path) {
    char *p = strdup(path);
    for (int hops = 0; p && hops < 40; hops++) {
        struct stat st;
        if (lstat(p, &st) != 0 || !S_ISLNK(st.st_mode)) return p;
        char target[4096];
        ssize_t n = readlink(p, target, sizeof target - 1);
        if (n < 0) {
            free(p);
            return NULL;
        }
        target[n] = '\0';
        char *q;
        const char *slash = strrchr(p, '/');
        if (target[0] == '/' || !slash) {
            q = strdup(target);
        } else {
            size_t dl = (size_t)(slash - p) + 1;
            q = malloc(dl + (size_t)n + 1);
            if (q) {
                memcpy(q, p, dl);
                memcpy(q + dl, target, (size_t)n + 1);
            }
        }
        free(p);
        p = q;
    }
    if (p) {
        free(p);
        errno = ELOOP;
    }
    return NULL;
}

// The directory part of path ("." when none); malloc'd.
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

// An unnamed temporary in dir, or -1 (no O_TMPFILE here, or no /proc to link it by later).
static int open_unnamed(const char *dir) {
#ifdef O_TMPFILE
    static int proc_ok = -1;
    if (proc_ok < 0) proc_ok = access("/proc/self/fd", X_OK) == 0;
    if (!proc_ok) return -1;
    return open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);  // the umask applies
#else
    (void)dir;
    return -1;
#endif
}

// How srs_tmp_open_* treat path: 0 a regular file (or none), 1 written
// through, -1 refused (message on ctx).
static int classify(srs_ctx_t *ctx, const char *path, srs_status_t *st) {
    struct stat s;
    if (stat(path, &s) != 0) {
        if (errno == ENOENT) return 0;  // created (a dangling symlink: its target)
        *st = srs_fail(ctx, SRS_ERR_IO, "%s: cannot use as an output: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(s.st_mode)) {
        *st = srs_fail(ctx, SRS_ERR_IO, "%s: is a directory", path);
        return -1;
    }
    if (S_ISREG(s.st_mode)) return 0;
    if (access(path, W_OK) != 0) {
        *st = srs_fail(ctx, SRS_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    return 1;
}

// An anonymous temporary (stdout, write-through); its bytes are copied on commit.
static srs_status_t open_anonymous(srs_ctx_t *ctx, srs_tmp_t *t, const char *name) {
    t->f = tmpfile();
    if (!t->f)
        return srs_fail(ctx, SRS_ERR_IO, "cannot create a temporary file for %s: %s", name, strerror(errno));
    vbuf_attach(t);
    return SRS_OK;
}

// Opens t for path; unnamed != 0 allows an unnamed (O_TMPFILE) temporary,
// through != 0 allows writing through to a FIFO or a device.
static srs_status_t tmp_open(srs_ctx_t *ctx, srs_tmp_t *t, const char *path, int unnamed, int through) {
    memset(t, 0, sizeof *t);
    if (strcmp(path, "-") == 0) {
        t->to_stdout = 1;
        return open_anonymous(ctx, t, STDOUT_NAME);
    }
    srs_status_t st = SRS_OK;
    int kind = classify(ctx, path, &st);
    if (kind < 0) return st;
    if (kind == 1) {
        if (!through)
            return srs_fail(ctx, SRS_ERR_INVALID_ARG,
                            "%s is not a regular file: several processes cannot write it together", path);
        if (!(t->path = strdup(path))) return srs_fail(ctx, SRS_ERR_NOMEM, "%s: out of memory", path);
        t->through = 1;
        st = open_anonymous(ctx, t, path);
        if (st != SRS_OK) srs_tmp_abort(t);
        return st;
    }
    t->path = final_path(path);
    if (!t->path) {
        int e = errno;
        srs_tmp_abort(t);
        return srs_fail(ctx, e == ENOMEM ? SRS_ERR_NOMEM : SRS_ERR_IO, "%s: cannot follow the link: %s", path,
                        strerror(e));
    }
    size_t n = strlen(t->path);
    int fd = -1;
    if (unnamed) {
        char *dir = dir_of(t->path);
        fd = dir ? open_unnamed(dir) : -1;
        free(dir);
    }
    if (fd >= 0) {
        t->anon_fd = fd + 1;
        int fd2 = dup(fd);
        t->f = fd2 >= 0 ? fdopen(fd2, "wb") : NULL;
        if (!t->f) {
            int e = errno;
            if (fd2 >= 0) close(fd2);
            srs_tmp_abort(t);
            return srs_fail(ctx, SRS_ERR_IO, "%s: cannot open a stream: %s", path, strerror(e));
        }
        vbuf_attach(t);
        return SRS_OK;
    }
    if (!(t->tmp = malloc(n + 12))) {
        srs_tmp_abort(t);
        return srs_fail(ctx, SRS_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(t->tmp, t->path, n);
    memcpy(t->tmp + n, ".tmp.XXXXXX", 12);
    fd = mkostemp(t->tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(t->tmp);
        t->tmp = NULL;
        srs_tmp_abort(t);
        return srs_fail(ctx, SRS_ERR_IO, "%s: cannot create a temporary file beside it: %s", path, strerror(e));
    }
    t->reg = srs_cleanup_add(t->tmp, 0);
    (void)fchmod(fd, file_mode());
    t->f = fdopen(fd, "wb");
    if (!t->f) {
        int e = errno;
        close(fd);
        srs_tmp_abort(t);
        return srs_fail(ctx, SRS_ERR_IO, "%s: cannot open a stream: %s", path, strerror(e));
    }
    vbuf_attach(t);
    return SRS_OK;
}

// A named temporary (host/mpi.c opens it by name from every rank).
srs_status_t srs_tmp_open(srs_ctx_t *ctx, srs_tmp_t *t, const char *path) {
    return tmp_open(ctx, t, path, 0, 0);
}

// An output file: unnamed where possible, written through to FIFOs and devices.
srs_status_t srs_tmp_open_out(srs_ctx_t *ctx, srs_tmp_t *t, const char *path) {
    return tmp_open(ctx, t, path, 1, 1);
}

// Flushes and closes, reporting any write error; the file stays temporary.
srs_status_t srs_tmp_close(srs_ctx_t *ctx, srs_tmp_t *t) {
    if (!t->f) return SRS_OK;
    const char *name = t->to_stdout ? STDOUT_NAME : t->path;
    errno = 0;
    int bad = fflush(t->f) != 0 || ferror(t->f);
    int e = errno ? errno : t->err;  // a write that failed earlier left its errno in t->err
    if (t->to_stdout || t->through) {  // keep the anonymous file open: commit copies it
        if (bad) return srs_fail(ctx, SRS_ERR_IO, "%s: write failed: %s", name, strerror(e ? e : EIO));
        return SRS_OK;
    }
    if (close_stream(t) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) return srs_fail(ctx, SRS_ERR_IO, "%s: write failed: %s", name, strerror(e ? e : EIO));
    return SRS_OK;
}

// Writes all n bytes to fd; 0, or the errno of the failing write.
static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return errno;
        if (w == 0) return EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

// Copies the anonymous temporary of t to stdout (file descriptor 1, after
// whatever stdio buffered there) or through to t->path. The errno of the
// failing write is the one reported (ENOSPC on a full disk).
static srs_status_t copy_out(srs_ctx_t *ctx, srs_tmp_t *t) {
    const char *name = t->to_stdout ? STDOUT_NAME : t->path;
    if (fseek(t->f, 0, SEEK_SET) != 0)
        return srs_fail(ctx, SRS_ERR_IO, "%s: cannot rewind the temporary file: %s", name, strerror(errno));
    int fd = STDOUT_FILENO;
    if (t->to_stdout) {
        errno = 0;
        if (fflush(stdout) != 0)
            return srs_fail(ctx, SRS_ERR_IO, "%s: write failed: %s", name, strerror(errno ? errno : EIO));
    } else {
        do fd = open(t->path, O_WRONLY | O_CLOEXEC | O_NOCTTY);  // a FIFO: waits for its reader
        while (fd < 0 && errno == EINTR);
        if (fd < 0) return srs_fail(ctx, SRS_ERR_IO, "%s: cannot open: %s", name, strerror(errno));
    }
    char buf[65536];
    size_t r;
    int e = 0;
    while (!e && (r = fread(buf, 1, sizeof buf, t->f)) > 0) e = write_all(fd, buf, r);
    if (!e && ferror(t->f)) e = EIO;
    if (!t->to_stdout && close(fd) != 0 && !e && errno != EINTR) e = errno;
    if (e) return srs_fail(ctx, SRS_ERR_IO, "%s: write failed: %s", name, strerror(e));
    return SRS_OK;
}

// Gives an unnamed temporary a name beside its target ("<path>.tmp.XXXXXX",
// registered for cleanup) for the rename. 0, or -1 with errno.
static int link_unnamed(srs_tmp_t *t) {
    static _Atomic unsigned counter;
    size_t n = strlen(t->path);
    char *name = malloc(n + 12);
    if (!name) return -1;
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", t->anon_fd - 1);
    static const char digits[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t x = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull ^
                     (uint64_t)atomic_fetch_add(&counter, 1) * 0xBF58476D1CE4E5B9ull ^ (uint64_t)(uintptr_t)name;
        memcpy(name, t->path, n);
        memcpy(name + n, ".tmp.", 5);
        for (int k = 0; k < 6; k++, x /= 62) name[n + 5 + k] = digits[x % 62];
        name[n + 11] = '\0';
        if (linkat(AT_FDCWD, fdpath, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0) {
            t->tmp = name;
            t->reg = srs_cleanup_add(name, 0);
            close(t->anon_fd - 1);
            t->anon_fd = 0;
            return 0;
        }
        if (errno != EEXIST) break;
    }
    int e = errno;
    free(name);
    errno = e;
    return -1;
}

srs_status_t srs_tmp_commit_all(srs_ctx_t *ctx, srs_tmp_t *const *ts, int n) {
    srs_status_t st = SRS_OK;
    // 1. every file complete and checked
    for (int i = 0; i < n && st == SRS_OK; i++) st = srs_tmp_close(ctx, ts[i]);
    // 2. what cannot be taken back: stdout and written-through files
    for (int i = 0; i < n && st == SRS_OK; i++)
        if (ts[i]->f && (ts[i]->to_stdout || ts[i]->through)) st = copy_out(ctx, ts[i]);
    // 3. names for the unnamed temporaries
    for (int i = 0; i < n && st == SRS_OK; i++)
        if (ts[i]->anon_fd && link_unnamed(ts[i]) != 0)
            st = srs_fail(ctx, SRS_ERR_IO, "%s: cannot link the temporary file: %s", ts[i]->path, strerror(errno));
    // 4. the renames, all or none: with several files each existing target is
    //    kept as a hard link "<temporary>.old" until all renames succeeded,
    //    and put back if one fails
    int n_ren = 0;
    for (int i = 0; i < n; i++) n_ren += ts[i]->tmp != NULL;
    char *old[16] = {0};
    int old_reg[16] = {0}, had[16] = {0}, done = 0;
    for (int i = 0; i < n && st == SRS_OK && n_ren > 1 && i < 16; i++) {
        if (!ts[i]->tmp) continue;
        struct stat s;
        if (lstat(ts[i]->path, &s) != 0) continue;  // nothing there to restore
        size_t l = strlen(ts[i]->tmp);
        if (!(old[i] = malloc(l + 5))) {
            st = srs_fail(ctx, SRS_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(old[i], ts[i]->tmp, l);
        memcpy(old[i] + l, ".old", 5);
        if (link(ts[i]->path, old[i]) == 0) {
            had[i] = 1;
            old_reg[i] = srs_cleanup_add(old[i], 0);
        }  // else (no hard links here): this target cannot be restored
    }
    int failed_at = -1;
    for (int i = 0; i < n && st == SRS_OK; i++) {
        if (!ts[i]->tmp) continue;
        if (rename(ts[i]->tmp, ts[i]->path) != 0) {
            st = srs_fail(ctx, SRS_ERR_IO, "cannot rename %s to %s: %s", ts[i]->tmp, ts[i]->path, strerror(errno));
            failed_at = i;
            break;
        }
        srs_cleanup_remove(ts[i]->reg);
        ts[i]->reg = 0;
        free(ts[i]->tmp);
        ts[i]->tmp = NULL;
        done = i + 1;
    }
    if (failed_at >= 0)
        for (int i = done - 1; i >= 0; i--) {  // undo the renames made
            if (ts[i]->tmp) continue;
            if (i < 16 && had[i]) {
                if (rename(old[i], ts[i]->path) == 0) had[i] = 0;
            } else {
                unlink(ts[i]->path);
            }
        }
    for (int i = 0; i < 16 && i < n; i++) {
        if (old[i] && had[i]) unlink(old[i]);
        srs_cleanup_remove(old_reg[i]);
        free(old[i]);
    }
    for (int i = 0; i < n; i++) srs_tmp_abort(ts[i]);  // closes what is left, removes the temporaries
    return st;
}

// Renames into place (or copies out); removes the temporary on failure.
srs_status_t srs_tmp_commit(srs_ctx_t *ctx, srs_tmp_t *t) {
    srs_tmp_t *one[1] = {t};
    return srs_tmp_commit_all(ctx, one, 1);
}

// Closes and unlinks the temporary, frees t's strings; idempotent.
void srs_tmp_abort(srs_tmp_t *t) {
    if (t->f) close_stream(t);
    free(t->vbuf);
    if (t->anon_fd) close(t->anon_fd - 1);  // an unnamed file vanishes with its last descriptor
    if (t->tmp) unlink(t->tmp);
    srs_cleanup_remove(t->reg);
    free(t->tmp);
    free(t->path);
    memset(t, 0, sizeof *t);
}

// ----------------------------------------------------------------------------
// numbers
//
// srs_fmt_double writes the shortest of %.15g, %.16g and %.17g that strtod
// reads back bit-identical. Done literally that costs two or three
// snprintf+strtod pairs (~800 ns for a computed value), which dominates
// writing millions of numbers, so there is a fast path giving the same text:
// the p-digit integer D ~ |x| 10^(p-1-e) comes from one x87 long-double
// multiply (64-bit mantissa, relative error < 2^-62), and whether D 10^(e-p+1) reads
// back as x is decided by comparing it, in long double, with the half-way
// points to x's neighbours. Only when the rounding of D or that comparison is
// too close to call does it fall back to snprintf or strtod. The reference
// (fmt_double_ref) is the definition; tests compare the two.

// Bit-level equality: -0.0 differs from 0.0.
static int same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

// The definition, used as the fallback.
static int fmt_double_ref(char *buf, size_t n, double x) {
    for (int prec = 15; prec <= 16; prec++) {
        int len = snprintf(buf, n, "%.*g", prec, x);
        if (same_double(strtod(buf, NULL), x)) return len;
    }
    return snprintf(buf, n, "%.17g", x);
}

// x87 extended precision with the 64-bit precision control Linux sets (other
// systems may round long doubles to 53 bits, which would break the bounds).
#if LDBL_MANT_DIG == 64 && (defined(__x86_64__) || defined(__i386__)) && defined(__linux__)
#define P10_MIN (-350)
#define P10_MAX 350
static long double p10[P10_MAX - P10_MIN + 1];   // (701,) 10^k, k in [P10_MIN, P10_MAX]
static pthread_once_t p10_once = PTHREAD_ONCE_INIT;

static void p10_init(void) {
    long double v = 1;
    for (int k = 0; k <= 27; k++, v *= 10) p10[k - P10_MIN] = v;  // exact up to 10^27
    for (int k = P10_MIN; k <= P10_MAX; k++)
        if (k < 0 || k > 27) p10[k - P10_MIN] = powl(10.0L, (long double)k);
}

#define P10(k) p10[(k) - P10_MIN]

// 1 when long double arithmetic really carries 64 bits now. It does not under
// valgrind (which emulates x87 in double precision) or after a change of the
// x87 precision control; the fast path's bounds would then be wrong.
static int x87_full_precision(void) {
    volatile long double one = 1.0L;
    return one + 0x1p-63L != 1.0L;
}

// Writes digits d[0..nd) (d[0] != 0, no trailing zeros) with decimal
// exponent e in %.<p>g style; returns the length.
static int put_g(char *buf, int neg, const char *d, int nd, int e, int p) {
    char *o = buf;
    if (neg) *o++ = '-';
    if (e < -4 || e >= p) {
        *o++ = d[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, d + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        *o++ = 'e';
        *o++ = e < 0 ? '-' : '+';
        int a = e < 0 ? -e : e;
        if (a >= 100) *o++ = (char)('0' + a / 100);
        *o++ = (char)('0' + a / 10 % 10);
        *o++ = (char)('0' + a % 10);
    } else if (e >= 0) {
        for (int i = 0; i <= e; i++) *o++ = i < nd ? d[i] : '0';
        if (nd > e + 1) {
            *o++ = '.';
            memcpy(o, d + e + 1, (size_t)(nd - e - 1));
            o += nd - e - 1;
        }
    } else {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -e - 1; i++) *o++ = '0';
        memcpy(o, d, (size_t)nd);
        o += nd;
    }
    *o = '\0';
    return (int)(o - buf);
}

// x's rounding interval: the values strtod maps to x, for x > 0 (ends excluded).
typedef struct {
    long double lo, hi;
} interval_t;

static interval_t interval_of(double a) {
    long double lo_gap = (long double)a - (long double)nextafter(a, 0);
    double up = nextafter(a, INFINITY);
    long double hi_gap = isinf(up) ? lo_gap : (long double)up - (long double)a;
    interval_t r = {(long double)a - lo_gap / 2, (long double)a + hi_gap / 2};  // exact in 64 bits
    return r;
}

// 1: D 10^k reads back as x, 0: it does not, -1: too close to call.
static int reads_back(uint64_t D, int k, interval_t in) {
    long double c = (long double)D * P10(k);
    long double eps = c * 1e-18L;  // >> the error of c (< 2^-62 relative)
    if (c > in.lo + eps && c < in.hi - eps) return 1;
    if (c < in.lo - eps || c > in.hi + eps) return 0;
    return -1;
}

static const uint64_t pow10u[18] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull,
    1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull,
    100000000000000ull, 1000000000000000ull, 10000000000000000ull, 100000000000000000ull};

// Shortest of %.15g, %.16g, %.17g that strtod reads back bit-identical
// (%.17g always does). -0 is written "-0.0": a JSON reader takes "-0" for
// the integer 0 and loses the sign. Not finite: "null", so that JSON
// writers emit valid JSON (readers then reject it with a message naming the
// line); CSV writers use the same text. buf should hold 32 bytes (shorter
// buffers take the snprintf path). Assumes the C locale for LC_NUMERIC (as
// the CLI runs). Returns the length written. Thread-safe.
int srs_fmt_double(char *buf, size_t n, double x) {
    if (!isfinite(x)) return snprintf(buf, n, "null");
    if (x == 0) return snprintf(buf, n, signbit(x) ? "-0.0" : "0");
    if (n < 32 || !x87_full_precision()) return fmt_double_ref(buf, n, x);
    pthread_once(&p10_once, p10_init);
    double a = fabs(x);
    interval_t in = interval_of(a);
    int bexp;
    frexp(a, &bexp);
    int e = (int)floor((bexp - 1) * 0.30102999566398120);  // decimal exponent, maybe 1 low
    if ((long double)a >= P10(e + 1)) e++;
    if ((long double)a < P10(e)) e--;
    for (int p = 15; p <= 17; p++) {
        long double sc = (long double)a * P10(p - 1 - e);  // in [10^(p-1), 10^p)
        // Round to an integer without floorl (an x87 control-word switch
        // that stalls): at 2^63 the 64-bit significand's unit is 1, so the
        // sum rounds sc to nearest and its low bits are D.
        long double t = sc + 0x1p63L;
        uint64_t D;
        memcpy(&D, &t, sizeof D);  // the x87 significand, explicit leading bit
        D -= 1ull << 63;
        int len;
        // |error of sc| < 1.7e-19 sc (< 0.017 at p = 17); keep 2.5 times that from a tie
        if (fabsl(sc - (long double)(int64_t)D) > 0.5L - 4e-19L * sc - 1e-6L) {  // ask printf
            len = snprintf(buf, n, "%.*g", p, x);
        } else {
            int ee = e;
            if (D == pow10u[p]) {  // rounded up to 10^p
                D /= 10;
                ee++;
            }
            if (D < pow10u[p - 1] || D >= pow10u[p]) return fmt_double_ref(buf, n, x);
            int ok = reads_back(D, ee - p + 1, in);
            if (ok == 0) continue;
            char d[20];
            for (int i = p - 1; i >= 0; i--, D /= 10) d[i] = (char)('0' + D % 10);
            int nd = p;
            while (nd > 1 && d[nd - 1] == '0') nd--;
            len = put_g(buf, x < 0, d, nd, ee, p);
            if (ok == 1) return len;
        }
        if (same_double(strtod(buf, NULL), x)) return len;
    }
    return fmt_double_ref(buf, n, x);
}
#else
// Without x87 extended precision: the definition itself (slower).
int srs_fmt_double(char *buf, size_t n, double x) {
    if (!isfinite(x)) return snprintf(buf, n, "null");
    if (x == 0) return snprintf(buf, n, signbit(x) ? "-0.0" : "0");
    return fmt_double_ref(buf, n, x);
}
#endif

// The definition of srs_fmt_double, by snprintf and strtod only (tests).
int srs_fmt_double_ref(char *buf, size_t n, double x) {
    if (!isfinite(x)) return snprintf(buf, n, "null");
    if (x == 0) return snprintf(buf, n, signbit(x) ? "-0.0" : "0");
    return fmt_double_ref(buf, n, x);
}

// ----------------------------------------------------------------------------
// text output helpers

// x as srs_fmt_double writes it.
void srs_put_double(FILE *f, double x) {
    char b[40];
    int n = srs_fmt_double(b, sizeof b, x);
    fwrite_unlocked(b, 1, (size_t)n, f);
}

// s as a JSON string literal (\" \\ and \u00XX for control bytes; UTF-8 as is).
void srs_put_json_string(FILE *f, const char *s) {
    putc_unlocked('"', f);
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x20 && *p != '"' && *p != '\\') continue;
        fwrite_unlocked(run, 1, (size_t)((const char *)p - run), f);
        if (*p == '"' || *p == '\\') {
            putc_unlocked('\\', f);
            putc_unlocked(*p, f);
        } else {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", *p);
            fputs_unlocked(e, f);
        }
        run = (const char *)p + 1;
    }
    fputs_unlocked(run, f);
    putc_unlocked('"', f);
}

// s as one CSV field, quoted only when it holds , " CR or LF.
void srs_put_csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs_unlocked(s, f);
        return;
    }
    putc_unlocked('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"') putc_unlocked('"', f);
        putc_unlocked(*p, f);
    }
    putc_unlocked('"', f);
}

// Row's prompt id: row index, bare number (numeric ids in JSON) or string.
void srs_put_id(FILE *f, const srs_data_t *d, int64_t row, int json) {
    if (!d->id_buf) {  // the global row index (first_index: a part read by one rank)
        char b[24];
        int n = snprintf(b, sizeof b, "%lld", (long long)(row + d->batch.first_index));
        fwrite_unlocked(b, 1, (size_t)n, f);
        return;
    }
    const char *s = d->id_buf + d->id_off[row];
    if (!json) srs_put_csv_field(f, s);
    else if (d->id_num && d->id_num[row]) fputs_unlocked(s, f);
    else srs_put_json_string(f, s);
}

// ----------------------------------------------------------------------------
// checks the text readers share

// Strict UTF-8, as Python's decoder: no overlong forms, no surrogates,
// nothing above U+10FFFF, no truncated sequence.
int64_t srs_utf8_invalid(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (len == 0 || i + len > n) return (int64_t)i;
        uint32_t cp = c & (0x7Fu >> len);
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return (int64_t)i;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return (int64_t)i;
        i += len;
    }
    return -1;
}

srs_status_t srs_fail_dup_id(srs_ctx_t *ctx, srs_format_t fmt, const char *path, int64_t line, const char *id,
                             int is_number, int64_t first_line, int indexed) {
    if (fmt == SRS_FMT_CSV)
        return srs_fail(ctx, SRS_ERR_BAD_INPUT,
                        "%s:%lld: prompt \"%s\" appears again after other prompts (samples of one prompt must be "
                        "on consecutive lines)",
                        path, (long long)line, id);
    const char *q = is_number ? "" : "\"";
    return srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s:%lld: prompt_id %s%s%s appears again (first on line %lld%s)", path,
                    (long long)line, q, id, q, (long long)first_line,
                    indexed ? "; a line without \"prompt_id\" takes its row index as its id" : "");
}

#ifdef _OPENMP
#define OMP(x) _Pragma(#x)
#else
#define OMP(x)   // NO_OMP=1 builds: the loop runs in one thread
#endif

#define PAR_MIN_VALUES 65536      // fewer numbers are formatted by one thread
#define PAR_WINDOW (1 << 20)       // numbers formatted in memory at a time (~20 MB of text)

// Rows [r0, r1) in nb blocks formatted in parallel into memory streams, then
// copied to f in order. -1 (nothing written) when the streams cannot be made.
static int emit_window(FILE *f, int threads, int64_t r0, int64_t r1, srs_emit_fn emit, void *arg) {
    int64_t n = r1 - r0;
    int nb = (int)(n < 4 * threads ? n : 4 * threads);
    char **buf = calloc((size_t)nb, sizeof *buf);
    size_t *len = calloc((size_t)nb, sizeof *len);
    int failed = !buf || !len;
    if (!failed) {
        OMP(omp parallel for schedule(dynamic, 1) num_threads(threads))
        for (int k = 0; k < nb; k++) {
            FILE *m = open_memstream(&buf[k], &len[k]);
            // Rows split evenly by count; row lengths are similar in practice.
            if (m) emit(arg, m, r0 + n * k / nb, r0 + n * (k + 1) / nb);
            if (!m || fclose(m) != 0) {
                OMP(omp atomic write)
                failed = 1;
            }
        }
    }
    for (int k = 0; k < nb && !failed; k++) fwrite_unlocked(buf[k], 1, len[k], f);
    for (int k = 0; buf && k < nb; k++) free(buf[k]);
    free(buf);
    free(len);
    return failed ? -1 : 0;
}

// Number formatting is most of the cost of text output: big outputs go
// through emit_window, a window of rows at a time to bound the memory.
void srs_emit_rows(FILE *f, int threads, int64_t n_rows, int64_t n_values, srs_emit_fn emit, void *arg) {
    if (threads < 2 || n_values < PAR_MIN_VALUES || n_rows < 2) {
        emit(arg, f, 0, n_rows);
        return;
    }
    int64_t per = n_values > PAR_WINDOW ? (int64_t)((double)n_rows * PAR_WINDOW / (double)n_values) : n_rows;
    if (per < 2) per = 2;
    for (int64_t r0 = 0; r0 < n_rows; r0 += per) {
        int64_t r1 = r0 + per < n_rows ? r0 + per : n_rows;
        if (emit_window(f, threads, r0, r1, emit, arg) != 0) emit(arg, f, r0, r1);  // one thread
    }
}

// ----------------------------------------------------------------------------
// prompt-id hash set

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h ^ (h >> 29);
}

static int64_t idset_probe(const srs_idset_t *s, const char *buf, const int64_t *off,
                           const char *key, uint64_t h) {
    int64_t mask = s->cap - 1;
    for (int64_t i = (int64_t)(h & (uint64_t)mask);; i = (i + 1) & mask) {
        int64_t r = s->slot[i];
        if (r == 0 || strcmp(buf + off[r - 1], key) == 0) return i;
    }
}

// The row whose id is key, or -1.
int64_t srs_idset_find(const srs_idset_t *s, const char *buf, const int64_t *off, const char *key) {
    if (s->cap == 0) return -1;
    int64_t r = s->slot[idset_probe(s, buf, off, key, hash_str(key))];
    return r - 1;
}

uint64_t srs_id_hash(const char *s) { return hash_str(s); }

// The row with the same id already in the set, else -1 after adding row; -2 on OOM.
int64_t srs_idset_add(srs_idset_t *s, const char *buf, const int64_t *off, int64_t row) {
    if ((s->n + 1) * 2 > s->cap) {  // keep the load at most 1/2
        int64_t nc = s->cap ? s->cap * 2 : 1024;
        int64_t *ns = calloc((size_t)nc, sizeof *ns);
        if (!ns) return -2;
        srs_idset_t g = {ns, nc, s->n};
        for (int64_t i = 0; i < s->cap; i++) {
            int64_t r = s->slot[i];
            if (!r) continue;
            const char *k = buf + off[r - 1];
            ns[idset_probe(&g, buf, off, k, hash_str(k))] = r;
        }
        free(s->slot);
        *s = g;
    }
    const char *key = buf + off[row];
    int64_t i = idset_probe(s, buf, off, key, hash_str(key));
    if (s->slot[i]) return s->slot[i] - 1;
    s->slot[i] = row + 1;
    s->n++;
    return -1;
}

// Frees the slots; the set is empty and reusable.
void srs_idset_free(srs_idset_t *s) {
    free(s->slot);
    memset(s, 0, sizeof *s);
}

// ----------------------------------------------------------------------------
// row builder (text readers)

// Room for n more samples in every present array; 0, or -1 on OOM.
int srs_bld_reserve(srs_bld_t *b, int64_t n) {
    for (int k = 0; k < 3; k++)
        if ((k == 0 || b->has[k]) &&
            srs_grow((void **)&b->val[k], &b->val_cap[k], b->n_samples + n, sizeof(double)) != 0)
            return -1;
    return 0;
}

// Appends a row header (id, line) starting at the current sample; 0, or -1 on OOM.
int srs_bld_row(srs_bld_t *b, const char *id, size_t id_len, int id_num, int64_t line) {
    int64_t r = b->n_rows;
    if (srs_grow((void **)&b->offsets, &b->off_cap, r + 2, sizeof *b->offsets) != 0 ||
        srs_grow((void **)&b->line, &b->line_cap, r + 1, sizeof *b->line) != 0 ||
        srs_grow((void **)&b->id_off, &b->id_off_cap, r + 1, sizeof *b->id_off) != 0 ||
        srs_grow((void **)&b->id_num, &b->id_num_cap, r + 1, 1) != 0)
        return -1;
    if (!id) {  // no id: the row index, filled in by srs_bld_finish
        id = "";
        id_len = 0;
        id_num = 2;
    } else {
        b->any_id = 1;
    }
    if (srs_grow((void **)&b->ids, &b->ids_cap, b->ids_len + (int64_t)id_len + 1, 1) != 0) return -1;
    memcpy(b->ids + b->ids_len, id, id_len);
    b->ids[b->ids_len + (int64_t)id_len] = '\0';
    b->id_off[r] = b->ids_len;
    b->ids_len += (int64_t)id_len + 1;
    b->id_num[r] = (uint8_t)(id_num == 2 ? 2 : id_num != 0);
    b->offsets[r] = b->n_samples;
    b->line[r] = line;
    b->n_rows = r + 1;
    return 0;
}

// Replaces the empty texts of id-less rows (id_num 2, kept) by their row index.
static int fill_row_ids(srs_bld_t *b) {
    int64_t extra = 0;
    for (int64_t r = 0; r < b->n_rows; r++)
        if (b->id_num[r] == 2) extra += 20;
    if (extra == 0) return 0;
    int64_t cap = b->ids_len + extra, at = 0;
    char *ids = malloc((size_t)cap);
    if (!ids) return -1;
    for (int64_t r = 0; r < b->n_rows; r++) {
        const char *s = b->ids + b->id_off[r];
        b->id_off[r] = at;
        if (b->id_num[r] == 2) {
            at += snprintf(ids + at, (size_t)(cap - at), "%lld", (long long)(r + b->row_base)) + 1;
        } else {
            size_t l = strlen(s) + 1;
            memcpy(ids + at, s, l);
            at += (int64_t)l;
        }
    }
    free(b->ids);
    b->ids = ids;
    b->ids_len = at;
    b->ids_cap = cap;
    return 0;
}

// Shrinks p to n elements (keeps p when realloc refuses).
static void *shrink(void *p, int64_t n, size_t elem) {
    void *q = realloc(p, (size_t)(n > 0 ? n : 1) * elem);
    return q ? q : p;
}

// Moves the builder's arrays into a new data set; frees the builder either way.
srs_status_t srs_bld_finish(srs_ctx_t *ctx, srs_bld_t *b, const char *path, srs_data_t **out) {
    *out = NULL;
    if (b->n_rows == 0 && !b->allow_empty) {
        srs_bld_free(b);
        return srs_fail(ctx, SRS_ERR_BAD_INPUT, "%s: no prompts", path);
    }
    srs_data_t *d = srs_data_alloc(path);
    // an empty part still needs offsets[0]
    if (!d || (b->any_id && fill_row_ids(b) != 0) ||
        srs_grow((void **)&b->offsets, &b->off_cap, b->n_rows + 1, sizeof *b->offsets) != 0) {
        srs_data_free(d);
        srs_bld_free(b);
        return srs_fail(ctx, SRS_ERR_NOMEM, "%s: out of memory", path);
    }
    b->offsets[b->n_rows] = b->n_samples;
    d->offsets = shrink(b->offsets, b->n_rows + 1, sizeof(int64_t));
    d->line = shrink(b->line, b->n_rows, sizeof(int64_t));
    for (int k = 0; k < 3; k++)
        if (b->val[k]) d->owned[k] = shrink(b->val[k], b->n_samples, sizeof(double));
    if (b->any_id) {
        d->id_buf = shrink(b->ids, b->ids_len, 1);
        d->id_off = shrink(b->id_off, b->n_rows, sizeof(int64_t));
        d->id_num = shrink(b->id_num, b->n_rows, 1);
    } else {  // every id is the row index: keep none
        free(b->ids);
        free(b->id_off);
        free(b->id_num);
    }
    d->batch.n_prompts = b->n_rows;
    d->batch.first_index = b->row_base;
    d->batch.offsets = d->offsets;
    d->batch.reward = (srs_vec_t){d->owned[0], SRS_F64};
    d->batch.logw = (srs_vec_t){d->owned[1], SRS_F64};
    d->batch.gold = (srs_vec_t){d->owned[2], SRS_F64};
    memset(b, 0, sizeof *b);
    *out = d;
    return SRS_OK;
}

// Frees every array of the builder and zeroes it.
void srs_bld_free(srs_bld_t *b) {
    for (int k = 0; k < 3; k++) free(b->val[k]);
    free(b->offsets);
    free(b->line);
    free(b->ids);
    free(b->id_off);
    free(b->id_num);
    memset(b, 0, sizeof *b);
}

// ----------------------------------------------------------------------------
// data sets

// A zeroed data set owning a copy of path ("" for NULL); NULL on OOM.
srs_data_t *srs_data_alloc(const char *path) {
    srs_data_t *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->path = strdup(path ? path : "");
    if (!d->path) {
        free(d);
        return NULL;
    }
    return d;
}

// Unmaps the NPY maps, frees owned buffers and the set; NULL is fine.
void srs_data_free(srs_data_t *d) {
    if (!d) return;
    for (int k = 0; k < 3; k++) {
        if (d->map[k]) unmap(d->map[k], d->map_len[k]);
        free(d->owned[k]);
    }
    free(d->path);
    free(d->offsets);
    free(d->id_buf);
    free(d->id_off);
    free(d->id_num);
    free(d->line);
    free(d);
}

// The batch view; owned by d.
const srs_batch_t *srs_data_batch(const srs_data_t *d) { return d ? &d->batch : NULL; }

// Row-index ids are formatted on demand into a thread-local ring of
// ID_RING buffers: such a pointer stays valid until ID_RING more calls of
// srs_data_id for row-index ids in the same thread. Stored ids stay valid
// while d lives.
#define ID_RING 16
const char *srs_data_id(const srs_data_t *d, int64_t row, int *is_number) {
    if (is_number) *is_number = 0;
    if (!d || row < 0 || row >= d->batch.n_prompts) return "";
    if (d->id_buf) {
        if (is_number) *is_number = d->id_num ? d->id_num[row] != 0 : 0;
        return d->id_buf + d->id_off[row];
    }
    static _Thread_local char ring[ID_RING][24];
    static _Thread_local unsigned k;
    char *b = ring[k++ % ID_RING];
    snprintf(b, sizeof ring[0], "%lld", (long long)(row + d->batch.first_index));
    if (is_number) *is_number = 1;
    return b;
}

// 1-based source line of row (its first line for CSV), 0 when unknown.
int64_t srs_data_line(const srs_data_t *d, int64_t row) {
    if (!d || !d->line || row < 0 || row >= d->batch.n_prompts) return 0;
    return d->line[row];
}

// The source path, owned by d ("" when built in memory).
const char *srs_data_path(const srs_data_t *d) { return d && d->path ? d->path : ""; }

// Copies the arrays (F64, samples rebased to offsets[0]) and ids into a new
// data set; SRS_ERR_INVALID_ARG for bad shapes, *out NULL on failure.
srs_status_t srs_data_from_arrays(srs_ctx_t *ctx, int64_t n_prompts, const int64_t *offsets,
                                  int64_t row_len, const double *reward, const double *gold,
                                  const double *logw, const char *const *ids, srs_data_t **out) {
    if (!ctx) return SRS_ERR_INVALID_ARG;
    srs_clear_error(ctx);
    if (!out) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "srs_data_from_arrays: out is NULL");
    *out = NULL;
    if (n_prompts < 0)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "n_prompts must be >= 0, got %lld",
                        (long long)n_prompts);
    int64_t first = 0, n_samples;
    if (offsets) {
        first = offsets[0];
        if (first < 0)
            return srs_fail(ctx, SRS_ERR_INVALID_ARG, "offsets[0] must be >= 0, got %lld",
                            (long long)first);
        for (int64_t i = 0; i < n_prompts; i++)
            if (offsets[i + 1] < offsets[i])
                return srs_fail(ctx, SRS_ERR_INVALID_ARG, "offsets decrease at row %lld",
                                (long long)i);
        n_samples = offsets[n_prompts] - first;
    } else {
        if (row_len < 0 || (n_prompts > 0 && row_len > INT64_MAX / n_prompts))
            return srs_fail(ctx, SRS_ERR_INVALID_ARG, "bad row_len %lld", (long long)row_len);
        n_samples = n_prompts * row_len;
    }
    if (n_samples > 0 && !reward)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "srs_data_from_arrays: reward is NULL");
    if (ids)
        for (int64_t i = 0; i < n_prompts; i++) {
            if (!ids[i]) return srs_fail(ctx, SRS_ERR_INVALID_ARG, "ids[%lld] is NULL", (long long)i);
            int64_t at = srs_utf8_invalid(ids[i], strlen(ids[i]));
            if (at >= 0)  // it could not be written to JSONL
                return srs_fail(ctx, SRS_ERR_INVALID_ARG, "ids[%lld] is not valid UTF-8 (byte 0x%02x at offset %lld)",
                                (long long)i, (unsigned)(unsigned char)ids[i][at], (long long)at);
        }
    if ((uint64_t)n_samples > SIZE_MAX / sizeof(double))
        return srs_fail(ctx, SRS_ERR_NOMEM, "too many samples");

    srs_data_t *d = srs_data_alloc("");
    if (!d) return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory");
    const double *src[3] = {reward, logw, gold};  // order of owned[]
    size_t bytes = (size_t)(n_samples > 0 ? n_samples : 1) * sizeof(double);
    for (int k = 0; k < 3; k++) {
        if (!src[k]) continue;
        if (!(d->owned[k] = malloc(bytes))) goto oom;
        if (n_samples > 0) memcpy(d->owned[k], src[k] + first, (size_t)n_samples * sizeof(double));
    }
    if (offsets) {
        if (!(d->offsets = malloc((size_t)(n_prompts + 1) * sizeof(int64_t)))) goto oom;
        for (int64_t i = 0; i <= n_prompts; i++) d->offsets[i] = offsets[i] - first;
    }
    if (ids && n_prompts > 0) {
        size_t total = 0;
        for (int64_t i = 0; i < n_prompts; i++) total += strlen(ids[i]) + 1;
        d->id_buf = malloc(total);
        d->id_off = malloc((size_t)n_prompts * sizeof(int64_t));
        d->id_num = calloc((size_t)n_prompts, 1);
        if (!d->id_buf || !d->id_off || !d->id_num) goto oom;
        size_t at = 0;
        for (int64_t i = 0; i < n_prompts; i++) {
            size_t l = strlen(ids[i]) + 1;
            memcpy(d->id_buf + at, ids[i], l);
            d->id_off[i] = (int64_t)at;
            at += l;
        }
    }
    d->batch.n_prompts = n_prompts;
    d->batch.offsets = d->offsets;
    d->batch.row_len = offsets ? 0 : row_len;
    d->batch.reward = (srs_vec_t){d->owned[0], SRS_F64};
    d->batch.logw = (srs_vec_t){d->owned[1], SRS_F64};
    d->batch.gold = (srs_vec_t){d->owned[2], SRS_F64};
    *out = d;
    return SRS_OK;
oom:
    srs_data_free(d);
    return srs_fail(ctx, SRS_ERR_NOMEM, "out of memory copying %lld samples", (long long)n_samples);
}

// Narrows d's batch to rows [lo, hi) of a dense set without stored ids; the
// storage (maps, owned arrays) stays as it is and is released by
// srs_data_free as before.
srs_status_t srs_data_restrict(srs_ctx_t *ctx, srs_data_t *d, int64_t lo, int64_t hi) {
    srs_batch_t *b = &d->batch;
    if (b->offsets || d->id_buf || d->line || lo < 0 || hi < lo || hi > b->n_prompts)
        return srs_fail(ctx, SRS_ERR_INVALID_ARG, "srs_data_restrict: not a dense data set or bad rows");
    srs_vec_t *v[3] = {&b->reward, &b->logw, &b->gold};
    for (int k = 0; k < 3; k++)
        if (v[k]->data)
            v[k]->data = (const char *)v[k]->data + (size_t)(lo * b->row_len) * (v[k]->dtype == SRS_F32 ? 4 : 8);
    b->n_prompts = hi - lo;
    b->first_index += lo;
    return SRS_OK;
}
