/*
 * Our own fake libnvidia-ml.so for tests.  Built by the tests themselves:
 *
 *   cc -shared -fPIC -o libnvidia-ml-fake.so tests/fakenvml/fake-nvml.c
 *   (-DFAKE_NO_POWER leaves out nvmlDeviceGetPowerUsage)
 *
 * Written from our own declarations (daemon/collect/nvml/nvml.h describes
 * the ABI); no NVIDIA header text.  Behaviour comes from the text file named
 * by $FAKE_NVML_CONFIG, re-read whenever its path, inode, size or mtime
 * changes (write a new file and rename it over the old one to change values
 * mid-run).  Lines (# starts a comment):
 *
 *   gpus N                    device count (default 0)
 *   driver 535.54.03          nvmlSystemGetDriverVersion; 535.43..535.86
 *                             makes process entries 32 bytes, else 24
 *   stride 24|32              force the process-entry stride
 *   init_fail RC              nvmlInit_v2 returns RC
 *   sleep_ms N                every call sleeps N ms (stall tests)
 *   gpu I key value ...       per-device values; keys: name "quoted" uuid busid
 *                             util memutil memused memtotal temp power (mW)
 *                             powerlimit (mW) sm mem (MHz) gen width maxgen
 *                             maxwidth tx rx (KB/s) replay throttle.  A value
 *                             "notsupported" makes that getter return
 *                             NOT_SUPPORTED, "error" returns UNKNOWN.
 *   gpu I lost                every call on device I returns GPU_IS_LOST
 *   proc I PID BYTES          compute process on device I
 *   gproc I PID BYTES         graphics process on device I
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define FAKE_MAX_GPUS  8
#define FAKE_MAX_PROCS 64

#define RC_SUCCESS 0
#define RC_UNINITIALIZED 1
#define RC_INVALID_ARGUMENT 2
#define RC_NOT_SUPPORTED 3
#define RC_INSUFFICIENT_SIZE 7
#define RC_GPU_IS_LOST 15
#define RC_UNKNOWN 999

#define EXPORT __attribute__((visibility("default")))

enum {
	F_UTIL, F_MEMUTIL, F_MEMUSED, F_MEMTOTAL, F_TEMP, F_POWER, F_PLIMIT, F_SM,
	F_MEM, F_GEN, F_WIDTH, F_MAXGEN, F_MAXWIDTH, F_TX, F_RX, F_REPLAY,
	F_THROTTLE, F_N
};

static const char *const fnames[F_N] = {
	"util", "memutil", "memused", "memtotal", "temp", "power", "powerlimit", "sm",
	"mem", "gen", "width", "maxgen", "maxwidth", "tx", "rx", "replay", "throttle",
};

struct fake_dev {
	int index;
	int lost;
	char name[96];
	char uuid[96];
	char busid[32];
	unsigned long long v[F_N];
	int rc[F_N];            /* return code for that getter */
};

struct fake_proc {
	int dev;
	int graphics;
	unsigned pid;
	unsigned long long bytes;
};

static struct {
	char path[512];
	dev_t st_dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int loaded;

	unsigned ngpus;
	char driver[80];
	unsigned stride;
	int init_fail;
	unsigned sleep_ms;
	struct fake_dev dev[FAKE_MAX_GPUS];
	struct fake_proc proc[FAKE_MAX_PROCS];
	unsigned nproc;
} S;

static int refcount;

/* Copy the next token (a "quoted string" or a run of non-blanks). */
static char *next_tok(char **p, char *buf, size_t len)
{
	char *s = *p;
	size_t n = 0;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == '\n' || *s == '#')
		return NULL;
	if (*s == '"') {
		s++;
		while (*s && *s != '"' && *s != '\n') {
			if (n + 1 < len)
				buf[n++] = *s;
			s++;
		}
		if (*s == '"')
			s++;
	} else {
		while (*s && *s != ' ' && *s != '\t' && *s != '\n') {
			if (n + 1 < len)
				buf[n++] = *s;
			s++;
		}
	}
	buf[n] = '\0';
	*p = s;
	return buf;
}

/* Bounded copy that always NUL-terminates (truncates long values). */
static void copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void defaults(void)
{
	memset(&S.dev, 0, sizeof S.dev);
	S.ngpus = 0;
	S.driver[0] = '\0';
	snprintf(S.driver, sizeof S.driver, "550.54.14");
	S.stride = 0;
	S.init_fail = 0;
	S.sleep_ms = 0;
	S.nproc = 0;
	for (int i = 0; i < FAKE_MAX_GPUS; i++) {
		struct fake_dev *d = &S.dev[i];
		d->index = i;
		snprintf(d->name, sizeof d->name, "Fake GPU %d", i);
		snprintf(d->uuid, sizeof d->uuid, "GPU-fake-%04d", i);
		snprintf(d->busid, sizeof d->busid, "00000000:%02X:00.0", 0x10 + i);
	}
}

static void parse_line(char *line)
{
	char tok[128], val[128];
	char *p = line;

	if (!next_tok(&p, tok, sizeof tok))
		return;
	if (strcmp(tok, "gpus") == 0 && next_tok(&p, val, sizeof val)) {
		unsigned long n = strtoul(val, NULL, 10);
		S.ngpus = n > FAKE_MAX_GPUS ? FAKE_MAX_GPUS : (unsigned)n;
	} else if (strcmp(tok, "driver") == 0 && next_tok(&p, val, sizeof val)) {
		copy_str(S.driver, sizeof S.driver, val);
	} else if (strcmp(tok, "stride") == 0 && next_tok(&p, val, sizeof val)) {
		S.stride = (unsigned)strtoul(val, NULL, 10);
	} else if (strcmp(tok, "init_fail") == 0 && next_tok(&p, val, sizeof val)) {
		S.init_fail = (int)strtol(val, NULL, 10);
	} else if (strcmp(tok, "sleep_ms") == 0 && next_tok(&p, val, sizeof val)) {
		S.sleep_ms = (unsigned)strtoul(val, NULL, 10);
	} else if ((strcmp(tok, "proc") == 0 || strcmp(tok, "gproc") == 0) &&
		   S.nproc < FAKE_MAX_PROCS) {
		char a[32], b[32], c[32];
		if (next_tok(&p, a, sizeof a) && next_tok(&p, b, sizeof b) &&
		    next_tok(&p, c, sizeof c)) {
			struct fake_proc *fp = &S.proc[S.nproc++];
			fp->dev = (int)strtol(a, NULL, 10);
			fp->graphics = tok[0] == 'g';
			fp->pid = (unsigned)strtoul(b, NULL, 10);
			fp->bytes = strtoull(c, NULL, 10);
		}
	} else if (strcmp(tok, "gpu") == 0 && next_tok(&p, val, sizeof val)) {
		long i = strtol(val, NULL, 10);
		struct fake_dev *d;
		if (i < 0 || i >= FAKE_MAX_GPUS)
			return;
		d = &S.dev[i];
		while (next_tok(&p, tok, sizeof tok)) {
			if (strcmp(tok, "lost") == 0) {
				d->lost = 1;
				continue;
			}
			if (!next_tok(&p, val, sizeof val))
				break;
			if (strcmp(tok, "name") == 0) {
				copy_str(d->name, sizeof d->name, val);
			} else if (strcmp(tok, "uuid") == 0) {
				copy_str(d->uuid, sizeof d->uuid, val);
			} else if (strcmp(tok, "busid") == 0) {
				copy_str(d->busid, sizeof d->busid, val);
			} else {
				for (int f = 0; f < F_N; f++) {
					if (strcmp(tok, fnames[f]) != 0)
						continue;
					if (strcmp(val, "notsupported") == 0)
						d->rc[f] = RC_NOT_SUPPORTED;
					else if (strcmp(val, "error") == 0)
						d->rc[f] = RC_UNKNOWN;
					else if (strcmp(val, "lost") == 0)
						d->rc[f] = RC_GPU_IS_LOST;
					else {
						d->rc[f] = RC_SUCCESS;
						d->v[f] = strtoull(val, NULL, 0);
					}
				}
			}
		}
	}
}

/* Re-read the config when it changed.  Called at the top of every entry. */
static void reload(void)
{
	const char *path = getenv("FAKE_NVML_CONFIG");
	struct stat st;
	FILE *f;
	char line[1024];

	if (!path) {
		if (!S.loaded) {
			defaults();
			S.loaded = 1;
		}
		return;
	}
	if (stat(path, &st) != 0) {
		defaults();
		S.loaded = 0;
		return;
	}
	if (S.loaded && strcmp(S.path, path) == 0 && S.st_dev == st.st_dev &&
	    S.ino == st.st_ino && S.size == st.st_size &&
	    S.mtime.tv_sec == st.st_mtim.tv_sec && S.mtime.tv_nsec == st.st_mtim.tv_nsec)
		return;
	defaults();
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof line, f))
		parse_line(line);
	fclose(f);
	snprintf(S.path, sizeof S.path, "%s", path);
	S.st_dev = st.st_dev;
	S.ino = st.st_ino;
	S.size = st.st_size;
	S.mtime = st.st_mtim;
	S.loaded = 1;
}

static void enter(void)
{
	reload();
	if (S.sleep_ms) {
		struct timespec ts = { (time_t)(S.sleep_ms / 1000),
				       (long)(S.sleep_ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
}

/* Resolve a handle; 0 or an NVML error. */
static int dev_of(void *h, struct fake_dev **out)
{
	struct fake_dev *d = h;
	if (!refcount)
		return RC_UNINITIALIZED;
	if (!d || d < S.dev || d >= S.dev + FAKE_MAX_GPUS || (unsigned)d->index >= S.ngpus)
		return RC_INVALID_ARGUMENT;
	if (d->lost)
		return RC_GPU_IS_LOST;
	*out = d;
	return RC_SUCCESS;
}

static int get_u(void *h, int f, unsigned *out)
{
	struct fake_dev *d;
	int rc;
	enter();
	if ((rc = dev_of(h, &d)) != RC_SUCCESS)
		return rc;
	if (!out)
		return RC_INVALID_ARGUMENT;
	if (d->rc[f])
		return d->rc[f];
	*out = (unsigned)d->v[f];
	return RC_SUCCESS;
}

/* ---- exported API ---- */

EXPORT int nvmlInit_v2(void);
EXPORT int nvmlInit_v2(void)
{
	enter();
	if (S.init_fail)
		return S.init_fail;
	refcount++;
	return RC_SUCCESS;
}

EXPORT int nvmlShutdown(void);
EXPORT int nvmlShutdown(void)
{
	enter();
	if (!refcount)
		return RC_UNINITIALIZED;
	refcount--;
	return RC_SUCCESS;
}

EXPORT const char *nvmlErrorString(int rc);
EXPORT const char *nvmlErrorString(int rc)
{
	switch (rc) {
	case RC_SUCCESS: return "fake: fine";
	case RC_UNINITIALIZED: return "fake: library not initialised";
	case RC_INVALID_ARGUMENT: return "fake: bad argument";
	case RC_NOT_SUPPORTED: return "fake: this device cannot do that";
	case RC_INSUFFICIENT_SIZE: return "fake: buffer too small";
	case 9: return "fake: no driver loaded";
	case RC_GPU_IS_LOST: return "fake: the GPU fell off the bus";
	default: return "fake: something went wrong";
	}
}

EXPORT int nvmlSystemGetDriverVersion(char *buf, unsigned len);
EXPORT int nvmlSystemGetDriverVersion(char *buf, unsigned len)
{
	enter();
	if (!buf || len == 0)
		return RC_INVALID_ARGUMENT;
	if (strlen(S.driver) + 1 > len)
		return RC_INSUFFICIENT_SIZE;
	memcpy(buf, S.driver, strlen(S.driver) + 1);
	return RC_SUCCESS;
}

EXPORT int nvmlDeviceGetCount_v2(unsigned *count);
EXPORT int nvmlDeviceGetCount_v2(unsigned *count)
{
	enter();
	if (!refcount)
		return RC_UNINITIALIZED;
	if (!count)
		return RC_INVALID_ARGUMENT;
	*count = S.ngpus;
	return RC_SUCCESS;
}

EXPORT int nvmlDeviceGetHandleByIndex_v2(unsigned idx, void **h);
EXPORT int nvmlDeviceGetHandleByIndex_v2(unsigned idx, void **h)
{
	enter();
	if (!refcount)
		return RC_UNINITIALIZED;
	if (!h || idx >= S.ngpus)
		return RC_INVALID_ARGUMENT;
	if (S.dev[idx].lost)
		return RC_GPU_IS_LOST;
	*h = &S.dev[idx];
	return RC_SUCCESS;
}

static int get_str(void *h, const char *src, char *buf, unsigned len)
{
	struct fake_dev *d;
	int rc;
	enter();
	if ((rc = dev_of(h, &d)) != RC_SUCCESS)
		return rc;
	if (!buf)
		return RC_INVALID_ARGUMENT;
	if (strlen(src) + 1 > len)
		return RC_INSUFFICIENT_SIZE;
	memcpy(buf, src, strlen(src) + 1);
	return RC_SUCCESS;
}

EXPORT int nvmlDeviceGetName(void *h, char *buf, unsigned len);
EXPORT int nvmlDeviceGetName(void *h, char *buf, unsigned len)
{
	struct fake_dev *d = h;
	return get_str(h, (d >= S.dev && d < S.dev + FAKE_MAX_GPUS) ? d->name : "", buf, len);
}

EXPORT int nvmlDeviceGetUUID(void *h, char *buf, unsigned len);
EXPORT int nvmlDeviceGetUUID(void *h, char *buf, unsigned len)
{
	struct fake_dev *d = h;
	return get_str(h, (d >= S.dev && d < S.dev + FAKE_MAX_GPUS) ? d->uuid : "", buf, len);
}

/* 68 bytes: char legacy[16]; u32 domain, bus, device, devid, subsysid; char busId[32] */
struct fake_pci {
	char legacy[16];
	uint32_t domain, bus, device, devid, subsys;
	char bus_id[32];
};
_Static_assert(sizeof(struct fake_pci) == 68, "pci_v3 size");

EXPORT int nvmlDeviceGetPciInfo_v3(void *h, struct fake_pci *pci);
EXPORT int nvmlDeviceGetPciInfo_v3(void *h, struct fake_pci *pci)
{
	struct fake_dev *d;
	unsigned dom = 0, bus = 0, dv = 0, fn = 0;
	int rc;
	enter();
	if ((rc = dev_of(h, &d)) != RC_SUCCESS)
		return rc;
	if (!pci)
		return RC_INVALID_ARGUMENT;
	memset(pci, 0, sizeof *pci);
	sscanf(d->busid, "%x:%x:%x.%x", &dom, &bus, &dv, &fn);
	pci->domain = dom;
	pci->bus = bus;
	pci->device = dv;
	pci->devid = 0x233010deu;
	snprintf(pci->bus_id, sizeof pci->bus_id, "%s", d->busid);
	snprintf(pci->legacy, sizeof pci->legacy, "%04x:%02x:%02x.%x", dom & 0xffff, bus & 0xff,
		 dv & 0xff, fn & 0xf);
	return RC_SUCCESS;
}

EXPORT int nvmlDeviceGetUtilizationRates(void *h, uint32_t *u);
EXPORT int nvmlDeviceGetUtilizationRates(void *h, uint32_t *u)
{
	struct fake_dev *d;
	int rc;
	enter();
	if ((rc = dev_of(h, &d)) != RC_SUCCESS)
		return rc;
	if (d->rc[F_UTIL] || d->rc[F_MEMUTIL])
		return d->rc[F_UTIL] ? d->rc[F_UTIL] : d->rc[F_MEMUTIL];
	u[0] = (uint32_t)d->v[F_UTIL];
	u[1] = (uint32_t)d->v[F_MEMUTIL];
	return RC_SUCCESS;
}

EXPORT int nvmlDeviceGetMemoryInfo(void *h, uint64_t *m);
EXPORT int nvmlDeviceGetMemoryInfo(void *h, uint64_t *m)
{
	struct fake_dev *d;
	int rc;
	enter();
	if ((rc = dev_of(h, &d)) != RC_SUCCESS)
		return rc;
	if (d->rc[F_MEMUSED] || d->rc[F_MEMTOTAL])
		return d->rc[F_MEMUSED] ? d->rc[F_MEMUSED] : d->rc[F_MEMTOTAL];
	m[0] = d->v[F_MEMTOTAL];
	m[2] = d->v[F_MEMUSED];
	m[1] = m[0] > m[2] ? m[0] - m[2] : 0;
	return RC_SUCCESS;
}

EXPORT int nvmlDeviceGetTemperature(void *h, int sensor, unsigned *c);
EXPORT int nvmlDeviceGetTemperature(void *h, int sensor, unsigned *c)
{
	if (sensor != 0)
		return RC_INVALID_ARGUMENT;
	return get_u(h, F_TEMP, c);
}

#ifndef FAKE_NO_POWER
EXPORT int nvmlDeviceGetPowerUsage(void *h, unsigned *mw);
EXPORT int nvmlDeviceGetPowerUsage(void *h, unsigned *mw) { return get_u(h, F_POWER, mw); }
#endif

EXPORT int nvmlDeviceGetEnforcedPowerLimit(void *h, unsigned *mw);
EXPORT int nvmlDeviceGetEnforcedPowerLimit(void *h, unsigned *mw)
{
	return get_u(h, F_PLIMIT, mw);
}

EXPORT int nvmlDeviceGetClockInfo(void *h, int type, unsigned *mhz);
EXPORT int nvmlDeviceGetClockInfo(void *h, int type, unsigned *mhz)
{
	if (type == 1)
		return get_u(h, F_SM, mhz);
	if (type == 2)
		return get_u(h, F_MEM, mhz);
	return get_u(h, F_SM, mhz);   /* graphics ≈ SM here */
}

EXPORT int nvmlDeviceGetCurrPcieLinkGeneration(void *h, unsigned *v);
EXPORT int nvmlDeviceGetCurrPcieLinkGeneration(void *h, unsigned *v) { return get_u(h, F_GEN, v); }
EXPORT int nvmlDeviceGetCurrPcieLinkWidth(void *h, unsigned *v);
EXPORT int nvmlDeviceGetCurrPcieLinkWidth(void *h, unsigned *v) { return get_u(h, F_WIDTH, v); }
EXPORT int nvmlDeviceGetMaxPcieLinkGeneration(void *h, unsigned *v);
EXPORT int nvmlDeviceGetMaxPcieLinkGeneration(void *h, unsigned *v) { return get_u(h, F_MAXGEN, v); }
EXPORT int nvmlDeviceGetMaxPcieLinkWidth(void *h, unsigned *v);
EXPORT int nvmlDeviceGetMaxPcieLinkWidth(void *h, unsigned *v) { return get_u(h, F_MAXWIDTH, v); }
EXPORT int nvmlDeviceGetPcieReplayCounter(void *h, unsigned *v);
EXPORT int nvmlDeviceGetPcieReplayCounter(void *h, unsigned *v) { return get_u(h, F_REPLAY, v); }

EXPORT int nvmlDeviceGetPcieThroughput(void *h, int counter, unsigned *kbps);
EXPORT int nvmlDeviceGetPcieThroughput(void *h, int counter, unsigned *kbps)
{
	if (counter != 0 && counter != 1)
		return RC_INVALID_ARGUMENT;
	return get_u(h, counter == 0 ? F_TX : F_RX, kbps);
}

EXPORT int nvmlDeviceGetCurrentClocksThrottleReasons(void *h, unsigned long long *r);
EXPORT int nvmlDeviceGetCurrentClocksThrottleReasons(void *h, unsigned long long *r)
{
	struct fake_dev *d;
	int rc;
	enter();
	if ((rc = dev_of(h, &d)) != RC_SUCCESS)
		return rc;
	if (d->rc[F_THROTTLE])
		return d->rc[F_THROTTLE];
	*r = d->v[F_THROTTLE];
	return RC_SUCCESS;
}

static unsigned proc_stride(void)
{
	unsigned major = 0, minor = 0;
	if (S.stride == 24 || S.stride == 32)
		return S.stride;
	if (sscanf(S.driver, "%u.%u", &major, &minor) == 2 && major == 535 && minor >= 43 &&
	    minor <= 86)
		return 32;
	return 24;
}

static int procs(void *h, int graphics, unsigned *count, unsigned char *arr)
{
	struct fake_dev *d;
	unsigned n = 0, k = 0, stride;
	int rc;
	enter();
	if ((rc = dev_of(h, &d)) != RC_SUCCESS)
		return rc;
	if (!count)
		return RC_INVALID_ARGUMENT;
	for (unsigned i = 0; i < S.nproc; i++)
		if (S.proc[i].dev == d->index && S.proc[i].graphics == graphics)
			n++;
	if (n == 0) {
		*count = 0;
		return RC_SUCCESS;
	}
	if (*count < n || !arr) {
		*count = n;
		return RC_INSUFFICIENT_SIZE;
	}
	stride = proc_stride();
	for (unsigned i = 0; i < S.nproc; i++) {
		const struct fake_proc *p = &S.proc[i];
		unsigned char *e;
		uint32_t pid, gi = 0xFFFFFFFFu, ci = 0xFFFFFFFFu, pad = 0;
		uint64_t bytes, cc = 0;
		if (p->dev != d->index || p->graphics != graphics)
			continue;
		e = arr + (size_t)k * stride;
		pid = p->pid;
		bytes = p->bytes;
		memcpy(e, &pid, 4);
		memcpy(e + 4, &pad, 4);
		memcpy(e + 8, &bytes, 8);
		memcpy(e + 16, &gi, 4);
		memcpy(e + 20, &ci, 4);
		if (stride == 32)
			memcpy(e + 24, &cc, 8);
		k++;
	}
	*count = k;
	return RC_SUCCESS;
}

EXPORT int nvmlDeviceGetComputeRunningProcesses_v3(void *h, unsigned *count, void *arr);
EXPORT int nvmlDeviceGetComputeRunningProcesses_v3(void *h, unsigned *count, void *arr)
{
	return procs(h, 0, count, arr);
}

EXPORT int nvmlDeviceGetGraphicsRunningProcesses_v3(void *h, unsigned *count, void *arr);
EXPORT int nvmlDeviceGetGraphicsRunningProcesses_v3(void *h, unsigned *count, void *arr)
{
	return procs(h, 1, count, arr);
}
