#include "selector.h"

#include <stdio.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *s, const char *why)
{
	snprintf(err, errlen, "%s: %s", s, why);
	return -1;
}

int selector_parse(const char *s, struct selector *out, char *err, size_t errlen)
{
	const char *dot = strrchr(s, '.');
	if (!dot || dot == s || dot[1] == '\0')
		return fail(err, errlen, s, "expected KIND[:KEY].FIELD, e.g. cpu:0.busy_pct");
	const char *colon = memchr(s, ':', (size_t)(dot - s));
	size_t kind_len = (size_t)((colon ? colon : dot) - s);
	int kind = schema_kind_find(s, kind_len);
	if (kind < 0)
		return fail(err, errlen, s, "unknown kind (see rmonctl metrics)");
	out->kind = (enum rm_kind)kind;
	memset(out->key, 0, sizeof out->key);
	out->key_any = false;
	out->key_prefix = false;
	if (!rm_kinds[kind].keyed) {
		if (colon)
			return fail(err, errlen, s, "this kind has no instances: drop the :KEY");
	} else if (!colon || (dot - colon - 1 == 1 && colon[1] == '*')) {
		out->key_any = true;
	} else {
		size_t key_len = (size_t)(dot - colon - 1);
		if (key_len == 0 || key_len >= sizeof out->key)
			return fail(err, errlen, s, "instance key is empty or too long");
		memcpy(out->key, colon + 1, key_len);
		if (out->key[key_len - 1] == '*') {
			out->key[key_len - 1] = '\0';
			out->key_prefix = true;
			if (strchr(out->key, '*'))
				return fail(err, errlen, s, "only a trailing * is a wildcard in a key");
		}
	}
	if (strcmp(dot + 1, "*") == 0) {
		out->field = -1;
		return 0;
	}
	out->field = schema_field_find(out->kind, dot + 1, strlen(dot + 1));
	if (out->field < 0)
		return fail(err, errlen, s, "unknown field (see rmonctl metrics)");
	return 0;
}

bool selector_match_key(const struct selector *sel, const char *key)
{
	if (sel->key_prefix)
		return strncmp(sel->key, key, strlen(sel->key)) == 0;
	return sel->key_any || strncmp(sel->key, key, RM_KEY_MAX) == 0;
}

void selector_name(enum rm_kind kind, const char *key, int field, char *buf, size_t len)
{
	const struct rm_kind_desc *kd = &rm_kinds[kind];
	const char *fname = field >= 0 ? kd->fields[field].name : "*";
	if (kd->keyed)
		snprintf(buf, len, "%s:%.*s.%s", kd->name, RM_KEY_MAX, key, fname);
	else
		snprintf(buf, len, "%s.%s", kd->name, fname);
}
