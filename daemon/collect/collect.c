/* The capability descriptors, expanded from COLLECT_CAPS in collect.h. */
#include "collect.h"

const struct collect_cap_desc collect_caps[COLLECT_CAP__COUNT] = {
#define COLLECT_CAP_DESC(ID, name, help) [COLLECT_CAP_##ID] = { name, help },
	COLLECT_CAPS(COLLECT_CAP_DESC)
#undef COLLECT_CAP_DESC
};
