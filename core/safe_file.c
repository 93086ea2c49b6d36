/* safe_file.c: exclusive temporaries, guarded renames, stale clean-up
 * (see safe_file.h). */
#define _GNU_SOURCE /* renameat2, RENAME_NOREPLACE */
#include "safe_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SUFFIX_HEX 12

static const char *kind_of(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

PbStatus safe_target_check(const char *path, int force) {
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        if (errno == ENOENT) return PB_OK;
        return pb_fail(PB_IO, "cannot check '%s': %s", path, strerror(errno));
    }
    if (!force) return pb_fail(PB_EXISTS, "'%s' exists; choose another path or pass --force to replace it", path);
    if (S_ISREG(sb.st_mode) || S_ISLNK(sb.st_mode)) return PB_OK;
    return pb_fail(PB_EXISTS, "'%s' is %s; --force replaces only regular files (and links, as links)", path,
                   kind_of(sb.st_mode));
}

/* 48 unpredictable bits as 12 hex digits. getrandom cannot fail for so few
 * bytes once the pool is ready; the clock is a fallback, never the rule. */
static void random_hex(char out[SUFFIX_HEX + 1]) {
    uint8_t b[SUFFIX_HEX / 2];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 32 ^ (uint64_t)ts.tv_sec;
        for (size_t i = 0; i < sizeof b; i++) b[i] = (uint8_t)(x >> (8 * i));
    }
    for (size_t i = 0; i < sizeof b; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
}

PbStatus safe_temp_name(char *out, size_t cap, const char *target) {
    char hex[SUFFIX_HEX + 1];
    random_hex(hex);
    int n = snprintf(out, cap, "%s.tmp.%ld.%s", target, (long)getpid(), hex);
    if (n < 0 || (size_t)n >= cap) return pb_fail(PB_USAGE, "output path too long: %s", target);
    return PB_OK;
}

PbStatus safe_temp_directory(char *out, size_t cap, const char *target) {
    for (int attempt = 0; attempt < 8; attempt++) {
        PbStatus st = safe_temp_name(out, cap, target);
        if (st) return st;
        if (mkdir(out, 0700) == 0) return PB_OK;
        if (errno != EEXIST)
            return pb_fail(PB_IO, "cannot create a temporary directory beside '%s': %s", target, strerror(errno));
    }
    return pb_fail(PB_IO, "cannot create a temporary directory beside '%s'", target);
}

PbStatus safe_commit(const char *tmp, const char *target, int force) {
    if (force) {
        PbStatus st = safe_target_check(target, 1);
        if (st) return st;
        if (rename(tmp, target) != 0)
            return pb_fail(PB_IO, "cannot move the results into '%s': %s", target, strerror(errno));
        return PB_OK;
    }
    /* Never replaces, even a target that appeared while we wrote. */
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, target, RENAME_NOREPLACE) == 0) return PB_OK;
    int err = errno;
    if (err == EINVAL || err == ENOSYS) {
        /* A file system without RENAME_NOREPLACE: link() never replaces
         * either (files only; a directory cannot be linked). */
        struct stat sb;
        if (lstat(tmp, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
            if (link(tmp, target) == 0) return unlink(tmp), PB_OK;
            err = errno;
        } else if (lstat(target, &sb) != 0 && errno == ENOENT) {
            if (rename(tmp, target) == 0) return PB_OK;
            err = errno;
        } else {
            err = EEXIST;
        }
    }
    if (err == EEXIST || err == ENOTEMPTY)
        return pb_fail(PB_EXISTS,
                       "'%s' appeared while posbench was writing it; nothing replaced (the new "
                       "results are lost: choose another path or pass --force)",
                       target);
    return pb_fail(PB_IO, "cannot move the results into '%s': %s", target, strerror(err));
}

/* Parses "<anything>.tmp.<pid>.<12 hex>"; 1 and *pid if name is one. */
static int temp_pid(const char *name, long *pid) {
    size_t n = strlen(name);
    if (n < SUFFIX_HEX + 8) return 0;
    const char *hex = name + n - SUFFIX_HEX;
    for (int i = 0; i < SUFFIX_HEX; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'))) return 0;
    if (hex[-1] != '.') return 0;
    const char *end = hex - 1, *p = end;
    while (p > name && p[-1] >= '0' && p[-1] <= '9') p--;
    if (p == end || end - p > 10 || p - name < 6 || strncmp(p - 5, ".tmp.", 5) != 0) return 0;
    *pid = strtol(p, NULL, 10);
    return *pid > 0;
}

static int process_gone(long pid) { return kill((pid_t)pid, 0) != 0 && errno == ESRCH; }

static void remove_dir_at(int parent, const char *name) {
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return;
    DIR *d = fdopendir(fd);
    if (!d) return (void)close(fd);
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        unlinkat(fd, e->d_name, 0); /* a name, never what a link points to */
    }
    closedir(d);
    unlinkat(parent, name, AT_REMOVEDIR);
}

void safe_remove_temp_directory(const char *dir) { remove_dir_at(AT_FDCWD, dir); }

void safe_remove_stale(const char *target) {
    char dir[4096];
    const char *slash = strrchr(target, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == target) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - target), target);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    DIR *d = fdopendir(fd);
    if (!d) return (void)close(fd);
    const uid_t me = geteuid();
    for (struct dirent *e; (e = readdir(d));) {
        long pid;
        struct stat sb;
        if (!temp_pid(e->d_name, &pid) || !process_gone(pid)) continue;
        if (fstatat(fd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || sb.st_uid != me) continue;
        if (S_ISREG(sb.st_mode)) unlinkat(fd, e->d_name, 0);
        else if (S_ISDIR(sb.st_mode)) remove_dir_at(fd, e->d_name);
    }
    closedir(d);
}
