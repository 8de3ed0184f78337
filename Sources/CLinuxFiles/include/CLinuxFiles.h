#ifndef C_LINUX_FILES_H
#define C_LINUX_FILES_H

/// Opens `path` relative to the directory `dirfd` with `openat2(2)` and RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
/// RESOLVE_NO_MAGICLINKS: the resolution never leaves the directory and follows no symlink at all, so the file opened
/// is exactly `<directory>/<path>`. Returns the new descriptor, or -1 with errno set (ENOSYS where the kernel or the
/// platform has no openat2; ELOOP for a symlink on the way; EXDEV for an escape attempt).
int clinuxfiles_open_beneath(int dirfd, const char *path, int flags);

#endif
