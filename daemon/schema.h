/* The migrations compiled in from schema/NNNN_name.sql (generated table). */
#ifndef XECI_SCHEMA_H
#define XECI_SCHEMA_H

#include <stddef.h>

typedef struct xeci_migration {
	int version;      /* NNNN of the file name */
	const char *name; /* the file name */
	const char *sql;
} xeci_migration;

extern const xeci_migration xeci_migrations[];
extern const size_t xeci_migrations_count;

#endif
