/* The host back-end's state file. See host_state.h. */
#include "host_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "errors.h"
#include "util.h"

int xeci_host_state_save(const char *path, const xeci_host_state *s)
{
	json_t *o = json_pack("{s:s?, s:O?, s:s?, s:s?, s:s?}", "phase", s->phase, "job", s->job, "release",
			      s->release, "build_id", s->build_id, "known_good", s->known_good);
	if (!o)
		return xeci_error_setc(XECI_EINVALID, "host state: cannot encode");
	char *text = json_dumps(o, JSON_INDENT(1));
	json_decref(o);
	int rc = xeci_file_write_atomic(path, text, strlen(text));
	free(text);
	return rc < 0 ? xeci_agent_error_wrap(XECI_EIO, "%s", path) : 0;
}

static char *opt_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? xeci_strdup(s) : NULL;
}

int xeci_host_state_load(xeci_host_state *out, const char *path)
{
	memset(out, 0, sizeof(*out));
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return XECI_ENOTFOUND;
	json_error_t e;
	json_t *o = json_load_file(path, 0, &e);
	if (!json_is_object(o) || !json_is_string(json_object_get(o, "phase")) ||
	    !json_is_object(json_object_get(o, "job"))) {
		json_decref(o);
		return xeci_error_setc(XECI_EINVALID, "%s: not a host state file (%s)", path, e.text);
	}
	out->phase = opt_str(o, "phase");
	out->job = json_incref(json_object_get(o, "job"));
	out->release = opt_str(o, "release");
	out->build_id = opt_str(o, "build_id");
	out->known_good = opt_str(o, "known_good");
	json_decref(o);
	return 0;
}

int xeci_host_state_remove(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return xeci_error_setc(XECI_EIO, "%s: %s", path, strerror(errno));
	return 0;
}

void xeci_host_state_clear(xeci_host_state *s)
{
	free(s->phase);
	json_decref(s->job);
	free(s->release);
	free(s->build_id);
	free(s->known_good);
	memset(s, 0, sizeof(*s));
}
