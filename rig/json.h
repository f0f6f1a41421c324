/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal JSON for the rig's result files: a streaming writer (summary.json)
 * and a small tree parser whose errors name the line and column, used by
 * the tests and checkers that read results back.
 */
#ifndef HEKI_JSON_H
#define HEKI_JSON_H

#include <stdbool.h>
#include <stdio.h>

/* ---- writer ---- */
#define JW_MAX_DEPTH 16

struct jw {
	FILE *f;
	int depth;
	bool need_comma[JW_MAX_DEPTH];
	char closer[JW_MAX_DEPTH];
};

void jw_init(struct jw *w, FILE *f);
/* key is NULL inside arrays and for the top-level value. */
void jw_obj(struct jw *w, const char *key);
void jw_arr(struct jw *w, const char *key);
void jw_end(struct jw *w);		/* closes the innermost object/array */
void jw_str(struct jw *w, const char *key, const char *val);	/* NULL: null */
void jw_int(struct jw *w, const char *key, long long val);
void jw_num(struct jw *w, const char *key, double val);	/* exact; NaN, inf: null */
/* A number as jw_num writes it, into buf (JSON_NUM_MAX bytes suffice). */
#define JSON_NUM_MAX 32
const char *json_num_str(char *buf, size_t len, double val);
void jw_bool(struct jw *w, const char *key, bool val);
void jw_null(struct jw *w, const char *key);
void jw_escape(FILE *f, const char *s);

/* ---- parser ---- */
enum json_type { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ };

struct json {
	enum json_type type;
	char *key;		/* member name when inside an object */
	char *str;		/* JSON_STR */
	double num;		/* JSON_NUM */
	bool boolean;		/* JSON_BOOL */
	struct json *child;	/* first element / member */
	struct json *next;	/* next sibling */
};

/*
 * Parses text; on failure returns NULL and writes "line L, column C: what"
 * into err (size errlen).
 */
struct json *json_parse(const char *text, char *err, size_t errlen);
void json_free(struct json *j);
/* Looks up a dotted path of member names, e.g. "rig.l0_accel". */
const struct json *json_get(const struct json *j, const char *path);
const char *json_type_name(enum json_type t);

#endif /* HEKI_JSON_H */
