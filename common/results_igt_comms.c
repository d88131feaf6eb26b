/* The runner's socket dump of one job (IGT's runner/resultgen.c, comms path).
 *
 * Newer runners talk to the test over a socket and dump every packet to
 * "comms": a canary ("IGT1"), then a packet (u32 size, u32 type, i32 pid,
 * i32 tid, data), again and again (runnercomms.h). When the dump holds more
 * than the runner's own EXEC packet, resultgen reads the job from it alone,
 * replaying resultgen's state machine below. See results_igt.c. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "results_igt_int.h"
#include "util.h"

enum {
	PKT_INVALID,
	PKT_LOG,
	PKT_EXEC,
	PKT_EXIT,
	PKT_SUBTEST_START,
	PKT_SUBTEST_RESULT,
	PKT_DYNAMIC_START,
	PKT_DYNAMIC_RESULT,
	PKT_VERSION,
	PKT_OVERRIDE,
};

#define COMMS_CANARY ((uint32_t)'I' << 24 | (uint32_t)'G' << 16 | (uint32_t)'T' << 8 | (uint32_t)'1')
#define PKT_HEADER 16

struct packet {
	uint32_t type;
	uint8_t stream;
	int32_t exitcode;
	const char *s[4]; /* the packet's strings in order; NULL when missing */
};

static void pkt_cstring(const char **dst, const char **p, uint32_t *left)
{
	const char *end = *left ? memchr(*p, '\0', *left) : NULL;
	if (!end) {
		*left = 0;
		return;
	}
	*dst = *p;
	*left -= (uint32_t)(end - *p + 1);
	*p = end + 1;
}

static void pkt_integer(void *dst, size_t n, const char **p, uint32_t *left)
{
	if (*left < n) {
		*left = 0;
		return;
	}
	memcpy(dst, *p, n);
	*p += n;
	*left -= (uint32_t)n;
}

/* false when the packet lacks what its type needs (resultgen's handlers
 * would dereference NULL there; such packets are skipped) */
static bool read_packet(struct packet *pk, const char *data, uint32_t size, uint32_t type)
{
	static const unsigned strings[] = {
		[PKT_LOG] = 1, [PKT_EXEC] = 1, [PKT_EXIT] = 1, [PKT_SUBTEST_START] = 1,
		[PKT_SUBTEST_RESULT] = 4, [PKT_DYNAMIC_START] = 1, [PKT_DYNAMIC_RESULT] = 4,
		[PKT_VERSION] = 1, [PKT_OVERRIDE] = 1,
	};
	*pk = (struct packet){.type = type};
	if (size < PKT_HEADER || type == PKT_INVALID || type > PKT_OVERRIDE)
		return false;
	uint32_t left = size - PKT_HEADER;
	const char *p = data + PKT_HEADER;
	if (type == PKT_LOG)
		pkt_integer(&pk->stream, 1, &p, &left);
	if (type == PKT_EXIT)
		pkt_integer(&pk->exitcode, 4, &p, &left);
	for (unsigned i = 0; i < strings[type]; i++)
		pkt_cstring(&pk->s[i], &p, &left);
	if (type == PKT_SUBTEST_RESULT || type == PKT_DYNAMIC_RESULT)
		return pk->s[0] && pk->s[1];
	return type == PKT_EXIT || pk->s[0];
}

enum comms_state {
	ST_INITIAL,
	ST_AFTER_EXEC,
	ST_SUBTEST_STARTED,
	ST_DYNAMIC_STARTED,
	ST_BETWEEN_DYNAMIC,
	ST_BETWEEN_SUBTESTS,
	ST_EXITED,
};

struct comms_ctx {
	xeci_igt_results *r;
	const struct job *job;
	struct sublist *subs;
	enum comms_state state;
	xeci_igt_test *cur, *curdyn;
	char *subname, *dynname;
	long cursub; /* index in subs of the subtest dynamic ones go to */
	xeci_buf out, err;
	size_t outidx, nextoutidx, erridx, nexterridx;
	size_t dynoutidx, nextdynoutidx, dynerridx, nextdynerridx;
	const char *subres, *dynres;
	double subtime, dyntime;
};

/* resultgen formats these into char[512] */
static void comms_note(xeci_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void comms_note(xeci_buf *b, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	xeci_buf_puts(b, msg);
}

static void comms_inject(struct comms_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void comms_inject(struct comms_ctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	xeci_buf_puts(&c->out, msg);
	xeci_buf_puts(&c->err, msg);
}

static const char *or_null(const char *s)
{
	return s ? s : "(null)";
}

static void comms_slice(char **field, const xeci_buf *b, size_t from)
{
	const char *base = b->ptr ? b->ptr : "";
	xeci_igt__set_text(field, base + (from < b->len ? from : b->len), base + b->len);
}

/* resultgen takes err from errbuf + outidx, a slip that reads out of
 * bounds; err is taken from erridx here. */
static void comms_finish_subtest(struct comms_ctx *c)
{
	if (!c->cur)
		return;
	comms_slice(&c->cur->out, &c->out, c->outidx);
	comms_slice(&c->cur->err, &c->err, c->erridx);
	c->cur->result = c->subres ? c->subres : "incomplete";
	xeci_igt__add_runtime(c->cur, c->subtime);
	c->subres = NULL;
	c->cur = NULL;
	c->outidx = c->nextoutidx;
	c->erridx = c->nexterridx;
}

static void comms_finish_dynamic(struct comms_ctx *c)
{
	if (!c->curdyn)
		return;
	comms_slice(&c->curdyn->out, &c->out, c->dynoutidx);
	comms_slice(&c->curdyn->err, &c->err, c->dynerridx);
	c->curdyn->result = c->dynres ? c->dynres : "incomplete";
	xeci_igt__add_runtime(c->curdyn, c->dyntime);
	c->dynres = NULL;
	c->curdyn = NULL;
	c->dynoutidx = c->nextdynoutidx;
	c->dynerridx = c->nextdynerridx;
}

static void comms_new_subtest(struct comms_ctx *c, const char *name)
{
	xeci_igt__add_subtest(c->subs, name);
	/* resultgen points at the last subtest, even when the name was
	 * already listed */
	c->cursub = (long)c->subs->n - 1;
	char *pname = xeci_igt__piglit_name(c->job->binary, name);
	c->cur = xeci_igt__get_test(c->r, pname);
	free(pname);
	free(c->subname);
	c->subname = xeci_strdup(name);
}

static void comms_new_dynamic(struct comms_ctx *c, const char *name)
{
	if (c->cursub >= 0 && (size_t)c->cursub < c->subs->n)
		xeci_igt__add_dynamic(&c->subs->v[c->cursub], name);
	char *parent = xeci_igt__piglit_name(c->job->binary, c->subname ? c->subname : "");
	char *dname = xeci_igt__dynamic_name(parent, name);
	c->curdyn = xeci_igt__get_test(c->r, dname);
	free(parent);
	free(dname);
	free(c->dynname);
	c->dynname = xeci_strdup(name);
}

static const char *mapped_result(const char *s)
{
	const char *res;
	double unused = 0;
	xeci_igt__parse_result_string(s, strlen(s), &res, &unused);
	return res;
}

static void comms_exec(struct comms_ctx *c)
{
	if (c->state == ST_AFTER_EXEC) {
		/* a resume of a test without subtests: its logs have no home */
		xeci_buf_clear(&c->out);
		xeci_buf_clear(&c->err);
		c->outidx = c->erridx = c->nextoutidx = c->nexterridx = 0;
	} else if (c->state != ST_INITIAL) {
		comms_finish_subtest(c); /* a resume exec */
	}
	c->state = ST_AFTER_EXEC;
}

static void comms_exit(struct comms_ctx *c, const struct packet *pk)
{
	if (c->state == ST_AFTER_EXEC) {
		/* no subtest seen: the job list's first one, or the binary */
		const char *sub = NULL;
		if (c->job->nsubs > 0) {
			sub = c->job->subs[0];
			xeci_igt__add_subtest(c->subs, sub);
		}
		char *name = xeci_igt__piglit_name(c->job->binary, sub);
		c->cur = xeci_igt__get_test(c->r, name);
		free(name);
		if (!c->subres)
			c->subres = xeci_igt__result_from_exitcode(pk->exitcode);
	} else if (pk->exitcode == EXIT_ABORT || pk->exitcode == EXIT_GRACEFUL) {
		c->subres = c->dynres = pk->exitcode == EXIT_ABORT ? "abort" : "notrun";
	}
	c->state = ST_EXITED;
}

static bool comms_subtest_start(struct comms_ctx *c, const char *name)
{
	switch (c->state) {
	case ST_INITIAL:
	case ST_EXITED:
		return false; /* not even running */
	case ST_SUBTEST_STARTED:
	case ST_DYNAMIC_STARTED:
	case ST_BETWEEN_DYNAMIC:
		comms_note(&c->err, "\nrunner: Subtest %s already running when subtest %s starts. This is a test bug.\n",
			   or_null(c->subname), name);
		if (c->state != ST_SUBTEST_STARTED)
			comms_finish_dynamic(c);
		/* fallthrough */
	case ST_BETWEEN_SUBTESTS:
		comms_finish_dynamic(c);
		comms_finish_subtest(c);
		/* fallthrough */
	case ST_AFTER_EXEC:
		comms_new_subtest(c, name);
		comms_inject(c, "%s%s\n", STARTING_SUBTEST, name);
		c->subres = NULL;
		break;
	}
	c->state = ST_SUBTEST_STARTED;
	return true;
}

static bool comms_subtest_result(struct comms_ctx *c, const struct packet *pk)
{
	const char *name = pk->s[0], *res = pk->s[1], *time = pk->s[2];
	switch (c->state) {
	case ST_INITIAL:
	case ST_EXITED:
		return false;
	case ST_DYNAMIC_STARTED:
		comms_note(&c->err, "\nrunner: Dynamic subtest %s still running when subtest %s ended. This is a test bug.\n",
			   or_null(c->dynname), name);
		comms_finish_dynamic(c);
		break;
	case ST_BETWEEN_SUBTESTS:
		comms_finish_subtest(c);
		comms_new_subtest(c, name);
		break;
	case ST_AFTER_EXEC:
		comms_new_subtest(c, name); /* a fixture ended it before it began */
		break;
	case ST_SUBTEST_STARTED:
	case ST_BETWEEN_DYNAMIC:
		break;
	}
	comms_inject(c, "%s%s: %s (%ss)\n", SUBTEST_RESULT, name, res, or_null(time));
	c->nextoutidx = c->out.len;
	c->nexterridx = c->err.len;
	if (!c->subres) { /* else an override came first */
		c->subres = mapped_result(res);
		c->subtime = time ? strtod(time, NULL) : 0.0;
	}
	c->state = ST_BETWEEN_SUBTESTS;
	return true;
}

static bool comms_dynamic_start(struct comms_ctx *c, const char *name)
{
	switch (c->state) {
	case ST_INITIAL:
	case ST_EXITED:
	case ST_AFTER_EXEC:
		return false;
	case ST_BETWEEN_SUBTESTS:
		comms_note(&c->err, "\nrunner: Dynamic subtest %s started when not inside a subtest. This is a test bug.\n",
			   name);
		return true;
	case ST_DYNAMIC_STARTED:
		comms_note(&c->err,
			   "\nrunner: Dynamic subtest %s already running when dynamic subtest %s starts. This is a test bug.\n",
			   or_null(c->dynname), name);
		/* fallthrough */
	case ST_BETWEEN_DYNAMIC:
		comms_finish_dynamic(c);
		/* fallthrough */
	case ST_SUBTEST_STARTED:
		comms_new_dynamic(c, name);
		comms_inject(c, "%s%s\n", STARTING_DYNAMIC, name);
		c->dynres = NULL;
		break;
	}
	c->state = ST_DYNAMIC_STARTED;
	return true;
}

static bool comms_dynamic_result(struct comms_ctx *c, const struct packet *pk)
{
	const char *name = pk->s[0], *res = pk->s[1], *time = pk->s[2];
	switch (c->state) {
	case ST_INITIAL:
	case ST_EXITED:
	case ST_AFTER_EXEC:
		return false;
	case ST_BETWEEN_SUBTESTS:
		comms_note(&c->err, "\nrunner: Dynamic subtest %s result when not inside a subtest. This is a test bug.\n",
			   name);
		return true;
	case ST_BETWEEN_DYNAMIC:
		comms_finish_dynamic(c);
		/* fallthrough */
	case ST_SUBTEST_STARTED:
		comms_new_dynamic(c, name);
		break;
	case ST_DYNAMIC_STARTED:
		break;
	}
	comms_inject(c, "%s%s: %s (%ss)\n", DYNAMIC_RESULT, name, res, or_null(time));
	c->nextdynoutidx = c->out.len;
	c->nextdynerridx = c->err.len;
	if (!c->dynres) {
		c->dynres = mapped_result(res);
		c->dyntime = time ? strtod(time, NULL) : 0.0;
	}
	c->state = ST_BETWEEN_DYNAMIC;
	return true;
}

/* A result as the runner wrote it ("abort", "warn", ...). */
static const char *intern_result(xeci_igt_results *r, const char *s)
{
	static const char *const known[] = {"pass", "fail", "skip", "crash", "timeout", "incomplete",
					    "abort", "dmesg-warn", "dmesg-fail", "warn", "notrun"};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(known[i], s))
			return known[i];
	r->owned = xeci_realloc(r->owned, (r->nowned + 1) * sizeof(*r->owned));
	return r->owned[r->nowned++] = xeci_strdup(s);
}

static bool comms_packet(struct comms_ctx *c, const struct packet *pk)
{
	switch (pk->type) {
	case PKT_LOG:
		xeci_buf_puts(pk->stream == 1 ? &c->out : &c->err, pk->s[0]);
		return true;
	case PKT_EXEC:
		comms_exec(c);
		return true;
	case PKT_EXIT:
		comms_exit(c, pk);
		return true;
	case PKT_SUBTEST_START:
		return comms_subtest_start(c, pk->s[0]);
	case PKT_SUBTEST_RESULT:
		return comms_subtest_result(c, pk);
	case PKT_DYNAMIC_START:
		return comms_dynamic_start(c, pk->s[0]);
	case PKT_DYNAMIC_RESULT:
		return comms_dynamic_result(c, pk);
	case PKT_OVERRIDE:
		if (c->curdyn)
			c->dynres = intern_result(c->r, pk->s[0]);
		c->subres = intern_result(c->r, pk->s[0]);
		return true;
	default:
		return true; /* version string, unknown types */
	}
}

static int read_comms(struct comms_ctx *c, const char *buf, size_t len)
{
	size_t off = 0;
	int ret = COMMS_EMPTY;
	bool cont = true;
	while (off != len && cont) {
		uint32_t canary, size, type;
		if (len - off >= 4) {
			memcpy(&canary, buf + off, 4);
			if (canary != COMMS_CANARY)
				return COMMS_ERROR;
		}
		off += 4;
		if (off > len || len - off < PKT_HEADER)
			return COMMS_ERROR; /* cut short: the machine died mid-write */
		memcpy(&size, buf + off, 4);
		memcpy(&type, buf + off + 4, 4);
		if (len - off < size)
			return COMMS_ERROR;
		const char *data = buf + off;
		off += size;
		/* the runner's own EXEC alone means the test did not use comms */
		if (type != PKT_EXEC)
			ret = COMMS_SUCCESS;
		struct packet pk;
		if (read_packet(&pk, data, size, type))
			cont = comms_packet(c, &pk);
	}
	return cont ? ret : COMMS_ERROR;
}

int xeci_igt__fill_from_comms(xeci_igt_results *r, const struct job *job, struct sublist *subs,
			      const char *buf, size_t len)
{
	struct comms_ctx c = {.r = r, .job = job, .subs = subs, .cursub = -1};
	int ret = read_comms(&c, buf, len);
	comms_finish_dynamic(&c);
	comms_finish_subtest(&c);
	free(c.subname);
	free(c.dynname);
	xeci_buf_free(&c.out);
	xeci_buf_free(&c.err);
	return ret;
}
