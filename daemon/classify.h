/*
 * Classification: which kind of work a process is ("compile/cc1plus",
 * "link/lld", "ml/pytorch", or "other").  Rules come from the config,
 * consulted before the built-in defaults, so a config rule can override a
 * default (a rule whose category is "other" keeps a process out of a
 * built-in category); the first rule that matches wins.  Each rule matches
 * one of comm, exe or cmdline with a POSIX extended regex.
 */
#ifndef RMON_CLASSIFY_H
#define RMON_CLASSIFY_H

#include <regex.h>
#include <stddef.h>

#define CLASSIFY_NAME_MAX 64

enum classify_field { CLASSIFY_COMM, CLASSIFY_EXE, CLASSIFY_CMDLINE };

struct classify_rule {
	char name[CLASSIFY_NAME_MAX];      /* for messages: "cc1plus" */
	char category[CLASSIFY_NAME_MAX];  /* "major/minor": "compile/cc1plus" */
	enum classify_field field;
	char pattern[256];
	regex_t re;
};

struct classifier {
	struct classify_rule *rules;
	unsigned nrules;
};

/* A rule as the config gives it (validated by classifier_add). */
struct classify_spec {
	const char *name;
	const char *category;
	enum classify_field field;
	const char *pattern;
};

/* The built-in rules only. */
int classifier_init(struct classifier *c);
/* Add a rule before the defaults are consulted (config rules come first so
 * they can override a default).  0, or -EINVAL with err naming the rule
 * and the regex error or the bad category (must be "major/minor", each
 * [a-z0-9_.+-]+). */
int classifier_add(struct classifier *c, const struct classify_spec *spec, char *err, size_t errlen);
void classifier_free(struct classifier *c);

/* The category of a process; "other" when no rule matches. */
const char *classify(const struct classifier *c, const char *comm, const char *exe, const char *cmdline);

#endif
