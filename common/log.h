/* Logging: one line per event on stderr, with a level; systemd catches it. */
#ifndef XECI_LOG_H
#define XECI_LOG_H

typedef enum { XECI_LOG_ERROR, XECI_LOG_WARN, XECI_LOG_INFO, XECI_LOG_DEBUG } xeci_log_level;

void xeci_log_set_level(xeci_log_level level);
/* Reads XECI_LOG=error|warn|info|debug from the environment. */
void xeci_log_init_from_env(void);
void xeci_log(xeci_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define XECI_ERR(...) xeci_log(XECI_LOG_ERROR, __VA_ARGS__)
#define XECI_WARN(...) xeci_log(XECI_LOG_WARN, __VA_ARGS__)
#define XECI_INFO(...) xeci_log(XECI_LOG_INFO, __VA_ARGS__)
#define XECI_DEBUG(...) xeci_log(XECI_LOG_DEBUG, __VA_ARGS__)

#endif
