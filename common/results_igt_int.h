/* Internals of the IGT results parser shared by results_igt.c (the tests
 * table, names, the directory walk, the public API), results_igt_text.c
 * (journal.txt, out.txt/err.txt markers, dmesg.txt) and results_igt_comms.c
 * (the runner's socket dump). Not a public header. */
#ifndef XECI_RESULTS_IGT_INT_H
#define XECI_RESULTS_IGT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "results_igt.h"

/* Exit codes of a test binary as the runner records them (executor.c). */
#define EXIT_INCOMPLETE (-1234)
#define EXIT_GRACEFUL (-1) /* -SIGHUP: the runner stopped the test */
#define EXIT_SKIP 77
#define EXIT_SUCCESS_ 0
#define EXIT_INVALID 79
#define EXIT_ABORT 112

/* The subtest markers of out.txt and err.txt (for a comms job, the ones the
 * runner writes in). */
static const char STARTING_SUBTEST[] = "Starting subtest: ";
static const char SUBTEST_RESULT[] = "Subtest ";
static const char STARTING_DYNAMIC[] = "Starting dynamic subtest: ";
static const char DYNAMIC_RESULT[] = "Dynamic subtest ";

struct xeci_igt_test {
	char *name;
	const char *result; /* static string; NULL: none set */
	bool has_time;
	double time;
	char *out, *err, *dmesg, *warnings; /* NULL: key absent */
	bool deleted;
};

struct xeci_igt_results {
	xeci_igt_test **tests;
	size_t n, cap;
	json_t *index; /* name -> position in tests */
	bool has_start, has_end;
	double start, end;
	size_t comms_jobs;
	char **owned; /* results written by the runner that are not resultgen's */
	size_t nowned;
};

/* metadata.txt */
struct settings {
	int piglit_style;
	int warn_level;
	int prune_mode;
	int multiple_mode;
};

/* A line of joblist.txt: a binary and the subtests asked for. */
struct job {
	char *binary;
	char **subs;
	size_t nsubs;
};

/* The subtests (and their dynamic subtests) a job was seen to run. */
struct sub {
	char *name;
	char **dyn;
	size_t ndyn;
};

struct sublist {
	struct sub *v;
	size_t n;
};

/* ---- results_igt.c: the tests table, names, subtest lists, files ---- */

xeci_igt_test *xeci_igt__find_test(const xeci_igt_results *r, const char *name);
/* The test of that name, added (empty) when there is none. */
xeci_igt_test *xeci_igt__get_test(xeci_igt_results *r, const char *name);
/* *field = a copy of [beg, end), "" when the slice is empty or NULL. */
void xeci_igt__set_text(char **field, const char *beg, const char *end);
void xeci_igt__add_runtime(xeci_igt_test *t, double time);
void xeci_igt__set_runtime(xeci_igt_test *t, double time);
/* "igt@binary[@subtest]" and "PARENT@dynamic" (lower-cased, cut as resultgen
 * cuts them); the caller frees them. */
char *xeci_igt__piglit_name(const char *binary, const char *subtest);
char *xeci_igt__dynamic_name(const char *parent, const char *dynamic);
struct sub *xeci_igt__add_subtest(struct sublist *l, const char *line);
void xeci_igt__add_dynamic(struct sub *s, const char *name);
void xeci_igt__each_line(const char *text, size_t len, void (*fn)(char *line, void *ctx), void *ctx);

/* ---- results_igt_text.c: journal.txt, out.txt/err.txt, dmesg.txt ---- */

const char *xeci_igt__result_from_exitcode(int code);
void xeci_igt__parse_result_string(const char *s, size_t len, const char **result, double *time);
void xeci_igt__fill_from_journal(xeci_igt_results *r, const struct job *job, struct sublist *subs,
				 const char *text, size_t len);
void xeci_igt__fill_from_output(xeci_igt_results *r, const char *binary, struct sublist *subs,
				const char *text, size_t len, bool err);
/* Whether err.txt text [beg, end) has more than the subtest markers (a pass
 * becomes a warn). */
bool xeci_igt__stderr_has_warnings(const char *beg, const char *end);
void xeci_igt__fill_from_dmesg(xeci_igt_results *r, const struct settings *s, const char *binary,
			       const struct sublist *subs, const char *text, size_t len);

/* ---- results_igt_comms.c: the runner's socket dump ---- */

enum { COMMS_ERROR, COMMS_EMPTY, COMMS_SUCCESS };

/* COMMS_EMPTY: the dump holds nothing but the runner's own EXEC packet, so
 * the text files are to be read instead. */
int xeci_igt__fill_from_comms(xeci_igt_results *r, const struct job *job, struct sublist *subs,
			      const char *buf, size_t len);

#endif
