/* A plain TCP stream for libgit2 with timeouts. libgit2 1.5 has no timeout
 * option (GIT_OPT_SET_SERVER_TIMEOUT came in 1.7), and its own socket stream
 * blocks for ever on a server that stops answering, so a stalled fetch would
 * hold a worker thread for good. This stream times out the connect and every
 * read or write that makes no progress. libgit2's TLS stream wraps the
 * registered standard stream, so https gets the timeouts too.
 *
 * The registration is process-wide: every libgit2 user in the process (kernel
 * tree fetches too) gets these timeouts. */
#include "inbox_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/stream.h>

#include "util.h"

#define CONNECT_TIMEOUT_MS 15000

static atomic_int io_timeout_s = 120;

typedef struct tstream {
	git_stream parent;
	char *host;
	char *port;
	int fd;
} tstream;

static int net_error(const tstream *t, const char *what, int err)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "%s %s:%s: %s", what, t->host, t->port,
		 err == EAGAIN || err == EWOULDBLOCK || err == ETIMEDOUT ? "timed out" : strerror(err));
	git_error_set_str(GIT_ERROR_NET, msg);
	return -1;
}

/* Non-blocking connect bounded by poll, then blocking I/O bounded by
 * SO_RCVTIMEO/SO_SNDTIMEO. */
static int connect_one(const struct addrinfo *ai, int *err)
{
	struct pollfd pfd;
	socklen_t len = sizeof(*err);
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);

	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			*err = errno;
			close(fd);
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		int n;
		while ((n = poll(&pfd, 1, CONNECT_TIMEOUT_MS)) < 0 && errno == EINTR)
			;
		if (n <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &len) < 0 || *err) {
			if (n == 0)
				*err = ETIMEDOUT;
			close(fd);
			return -1;
		}
	}
	struct timeval tv = {atomic_load(&io_timeout_s), 0};
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int ts_connect(git_stream *s)
{
	tstream *t = (tstream *)s;
	struct addrinfo hints = {0}, *res = NULL;
	int err = 0, rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(t->host, t->port, &hints, &res)) != 0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "resolving %s: %s", t->host, gai_strerror(rc));
		git_error_set_str(GIT_ERROR_NET, msg);
		return -1;
	}
	for (struct addrinfo *ai = res; ai && t->fd < 0; ai = ai->ai_next)
		t->fd = connect_one(ai, &err);
	freeaddrinfo(res);
	return t->fd < 0 ? net_error(t, "connecting to", err) : 0;
}

static ssize_t ts_read(git_stream *s, void *data, size_t len)
{
	tstream *t = (tstream *)s;
	ssize_t n;

	while ((n = recv(t->fd, data, len, 0)) < 0 && errno == EINTR)
		;
	return n < 0 ? net_error(t, "reading from", errno) : n;
}

static ssize_t ts_write(git_stream *s, const char *data, size_t len, int flags)
{
	tstream *t = (tstream *)s;
	ssize_t n;

	while ((n = send(t->fd, data, len, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return n < 0 ? net_error(t, "writing to", errno) : n;
}

static int ts_close(git_stream *s)
{
	tstream *t = (tstream *)s;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	return 0;
}

static void ts_free(git_stream *s)
{
	tstream *t = (tstream *)s;
	ts_close(s);
	free(t->host);
	free(t->port);
	free(t);
}

static int ts_init(git_stream **out, const char *host, const char *port)
{
	tstream *t = xeci_calloc(1, sizeof(*t));

	t->parent.version = GIT_STREAM_VERSION;
	t->parent.connect = ts_connect;
	t->parent.read = ts_read;
	t->parent.write = ts_write;
	t->parent.close = ts_close;
	t->parent.free = ts_free;
	t->host = xeci_strdup(host);
	t->port = xeci_strdup(port);
	t->fd = -1;
	*out = &t->parent;
	return 0;
}

void xeci_inbox_gitstream_register(void)
{
	git_stream_registration reg = {GIT_STREAM_VERSION, ts_init, NULL};
	/* After git_libgit2_init: a full shutdown may drop registrations. */
	git_stream_register(GIT_STREAM_STANDARD, &reg);
}

void xeci_inbox_git_set_io_timeout(int seconds)
{
	atomic_store(&io_timeout_s, seconds > 0 ? seconds : 120);
}
