/* Small helpers shared by the Linux collectors. */
#include "linux.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "readfile.h"

void linux_key_uint(char *key, unsigned n)
{
	char tmp[16];
	size_t i = 0;
	do {
		tmp[i++] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	for (size_t j = 0; j < i; j++)
		key[j] = tmp[i - 1 - j];
	key[i] = '\0';
}

static int linux_cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return (x > y) - (x < y);
}

/* N when name is exactly prefix, digits, suffix; else -1. */
static long linux_name_number(const char *name, const char *prefix, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix), nl = strlen(name);
	uint64_t v;
	if (nl <= pl + sl || nl - pl - sl > 9 || memcmp(name, prefix, pl) != 0 ||
	    memcmp(name + nl - sl, suffix, sl) != 0)
		return -1;
	const char *end = scan_u64(name + pl, name + nl - sl, &v);
	return end == name + nl - sl ? (long)v : -1;
}

static int linux_push(unsigned **v, unsigned *n, unsigned *cap, unsigned x)
{
	if (*n == *cap) {
		unsigned c = *cap ? *cap * 2 : 16;
		unsigned *p = realloc(*v, c * sizeof *p);
		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = x;
	return 0;
}

DIR *linux_opendir_at(int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

int linux_dir_numbers(int dirfd, const char *path, const char *prefix, const char *suffix,
		      unsigned **out)
{
	DIR *d = linux_opendir_at(dirfd, path);
	if (!d)
		return -errno;
	unsigned *v = NULL, n = 0, cap = 0;
	int err = 0;
	struct dirent *de;
	while (!err && (de = readdir(d)) != NULL) {
		long x = linux_name_number(de->d_name, prefix, suffix);
		if (x >= 0)
			err = linux_push(&v, &n, &cap, (unsigned)x);
	}
	closedir(d);
	if (err || n == 0) {
		free(v);
		return err;
	}
	qsort(v, n, sizeof *v, linux_cmp_uint);
	*out = v;
	return (int)n;
}

int linux_runtime_suspended(int sysfd, const char *devdir)
{
	char path[512], buf[32];
	int n = snprintf(path, sizeof path, "%s/power/runtime_status", devdir);
	if (n < 0 || (size_t)n >= sizeof path)
		return 0;
	ssize_t len = readfile_at(sysfd, path, buf, sizeof buf);
	return len >= 7 && memcmp(buf, "suspend", 7) == 0;
}
