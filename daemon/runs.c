#include "runs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define RUNS_MAX 1024   /* the oldest are forgotten (their file lines stay) */

static struct run_rec runs[RUNS_MAX];
static unsigned nruns, first;
static char runs_path[4200];

static void run_free(struct run_rec *r)
{
	free(r->pids);
	memset(r, 0, sizeof *r);
}

static int keep(const struct run_rec *r)
{
	struct run_rec *slot = &runs[(first + nruns) % RUNS_MAX];
	if (nruns == RUNS_MAX) {
		run_free(&runs[first]);
		slot = &runs[first];
		first = (first + 1) % RUNS_MAX;
		nruns--;
	}
	*slot = *r;
	slot->pids = malloc((r->npids ? r->npids : 1) * sizeof *slot->pids);
	if (!slot->pids)
		return -ENOMEM;
	memcpy(slot->pids, r->pids, r->npids * sizeof *slot->pids);
	nruns++;
	return 0;
}

/* "id start end npids pid... \t label" */
static int parse_line(char *line, struct run_rec *r, int32_t *pids, unsigned cap)
{
	char *tab = strchr(line, '\t'), *p = line, *end;
	if (!tab)
		return -1;
	*tab = '\0';
	snprintf(r->label, sizeof r->label, "%.*s", (int)strcspn(tab + 1, "\n"), tab + 1);
	unsigned long long v[4];
	for (int i = 0; i < 4; i++) {
		v[i] = strtoull(p, &end, 10);
		if (end == p)
			return -1;
		p = end;
	}
	r->id = v[0];
	r->start_ns = v[1];
	r->end_ns = v[2];
	if (v[3] > cap)
		return -1;
	r->npids = (unsigned)v[3];
	r->pids = pids;
	for (unsigned i = 0; i < r->npids; i++) {
		long pid = strtol(p, &end, 10);
		if (end == p || pid <= 0)
			return -1;
		pids[i] = (int32_t)pid;
		p = end;
	}
	return 0;
}

int runs_open(const char *path)
{
	static int32_t pids[65536];
	static char line[65536 * 12];
	unsigned bad = 0;
	runs_path[0] = '\0';
	if (!path)
		return 0;
	snprintf(runs_path, sizeof runs_path, "%s", path);
	FILE *f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof line, f)) {
		struct run_rec r = { 0 };
		if (parse_line(line, &r, pids, sizeof pids / sizeof pids[0]) < 0)
			bad++;
		else
			keep(&r);
	}
	fclose(f);
	if (bad)
		log_warnx("%s: %u malformed lines skipped", path, bad);
	return 0;
}

void runs_close(void)
{
	for (unsigned i = 0; i < nruns; i++)
		run_free(&runs[(first + i) % RUNS_MAX]);
	nruns = first = 0;
}

int runs_add(const struct run_rec *r)
{
	int rc = keep(r);
	if (rc < 0 || !runs_path[0])
		return rc;
	FILE *f = fopen(runs_path, "a");
	if (!f) {
		log_warn("%s", runs_path);
		return -errno;
	}
	fprintf(f, "%llu %llu %llu %u", (unsigned long long)r->id, (unsigned long long)r->start_ns,
	        (unsigned long long)r->end_ns, r->npids);
	for (unsigned i = 0; i < r->npids; i++)
		fprintf(f, " %d", (int)r->pids[i]);
	fputc('\t', f);
	for (const char *c = r->label; *c; c++)   /* one line per run, whatever the label holds */
		fputc(*c == '\n' || *c == '\t' ? ' ' : *c, f);
	fputc('\n', f);
	return fclose(f) == 0 ? 0 : -errno;
}

const struct run_rec *runs_find(uint64_t id)
{
	for (unsigned i = 0; i < nruns; i++)
		if (runs[(first + i) % RUNS_MAX].id == id)
			return &runs[(first + i) % RUNS_MAX];
	return NULL;
}
