// SPDX-License-Identifier: GPL-2.0
/* Minimal JSON writer and parser: see json.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* ---------------------------------------------------------------- writer */

void jw_init(struct jw *w, FILE *f)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
}

void jw_escape(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (c < 0x20)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

static void jw_key(struct jw *w, const char *key)
{
	if (w->need_comma[w->depth])
		fputc(',', w->f);
	if (w->depth) {
		fputc('\n', w->f);
		for (int i = 0; i < w->depth; i++)
			fputs("  ", w->f);
	}
	w->need_comma[w->depth] = true;
	if (key) {
		jw_escape(w->f, key);
		fputs(": ", w->f);
	}
}

static void jw_open(struct jw *w, const char *key, char c)
{
	jw_key(w, key);
	fputc(c, w->f);
	if (w->depth < JW_MAX_DEPTH - 1)
		w->depth++;
	w->closer[w->depth] = c == '{' ? '}' : ']';
	w->need_comma[w->depth] = false;
}

void jw_obj(struct jw *w, const char *key) { jw_open(w, key, '{'); }
void jw_arr(struct jw *w, const char *key) { jw_open(w, key, '['); }

void jw_end(struct jw *w)
{
	bool had = w->need_comma[w->depth];
	char c = w->closer[w->depth];

	if (w->depth)
		w->depth--;
	if (had) {
		fputc('\n', w->f);
		for (int i = 0; i < w->depth; i++)
			fputs("  ", w->f);
	}
	fputc(c, w->f);
	if (!w->depth)
		fputc('\n', w->f);
}

void jw_str(struct jw *w, const char *key, const char *val)
{
	jw_key(w, key);
	if (val)
		jw_escape(w->f, val);
	else
		fputs("null", w->f);
}

void jw_int(struct jw *w, const char *key, long long val)
{
	jw_key(w, key);
	fprintf(w->f, "%lld", val);
}

/*
 * Exact: a whole number below 2^53 as an integer (20626600, never
 * 2.06266e+07), any other the shortest of %.15g..%.17g that reads back as
 * the same double.
 */
const char *json_num_str(char *buf, size_t len, double val)
{
	if (!isfinite(val)) {
		snprintf(buf, len, "null");
		return buf;
	}
	if (val == floor(val) && fabs(val) < 9007199254740992.0) {
		snprintf(buf, len, "%.0f", val);
		return buf;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, val);
		if (strtod(buf, NULL) == val)
			break;
	}
	return buf;
}

void jw_num(struct jw *w, const char *key, double val)
{
	char buf[JSON_NUM_MAX];

	jw_key(w, key);
	fputs(json_num_str(buf, sizeof(buf), val), w->f);
}

void jw_bool(struct jw *w, const char *key, bool val)
{
	jw_key(w, key);
	fputs(val ? "true" : "false", w->f);
}

void jw_null(struct jw *w, const char *key)
{
	jw_key(w, key);
	fputs("null", w->f);
}

/* ---------------------------------------------------------------- parser */

struct parser {
	const char *text;
	const char *p;
	char *err;
	size_t errlen;
	int depth;
};

static void perr(struct parser *ps, const char *fmt, ...)
{
	int line = 1, col = 1;
	va_list ap;
	size_t n;

	if (ps->err[0])
		return;
	for (const char *q = ps->text; q < ps->p; q++) {
		if (*q == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	n = (size_t)snprintf(ps->err, ps->errlen, "line %d, column %d: ", line, col);
	if (n >= ps->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
	va_end(ap);
}

static void skip_ws(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
}

static struct json *jnew(enum json_type t)
{
	struct json *j = calloc(1, sizeof(*j));

	if (j)
		j->type = t;
	return j;
}

static char *parse_string(struct parser *ps)
{
	size_t cap = 32, n = 0;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	ps->p++;	/* opening quote */
	for (;;) {
		unsigned char c = (unsigned char)*ps->p;

		if (c == '\0') {
			perr(ps, "unterminated string (file truncated?)");
			goto fail;
		}
		if (c < 0x20) {
			perr(ps, "control character 0x%02x inside a string", c);
			goto fail;
		}
		if (n + 8 >= cap) {
			char *t = realloc(s, cap *= 2);

			if (!t)
				goto fail;
			s = t;
		}
		ps->p++;
		if (c == '"')
			break;
		if (c != '\\') {
			s[n++] = (char)c;
			continue;
		}
		c = (unsigned char)*ps->p++;
		switch (c) {
		case '"': case '\\': case '/': s[n++] = (char)c; break;
		case 'b': s[n++] = '\b'; break;
		case 'f': s[n++] = '\f'; break;
		case 'n': s[n++] = '\n'; break;
		case 'r': s[n++] = '\r'; break;
		case 't': s[n++] = '\t'; break;
		case 'u': {
			unsigned v = 0;

			for (int i = 0; i < 4; i++, ps->p++) {
				if (!isxdigit((unsigned char)*ps->p)) {
					perr(ps, "bad \\u escape");
					goto fail;
				}
				v = v * 16 + (unsigned)(isdigit((unsigned char)*ps->p) ?
					*ps->p - '0' : (tolower((unsigned char)*ps->p) - 'a' + 10));
			}
			/* UTF-8 encode the BMP code point (surrogates kept as-is). */
			if (v < 0x80) {
				s[n++] = (char)v;
			} else if (v < 0x800) {
				s[n++] = (char)(0xc0 | (v >> 6));
				s[n++] = (char)(0x80 | (v & 0x3f));
			} else {
				s[n++] = (char)(0xe0 | (v >> 12));
				s[n++] = (char)(0x80 | ((v >> 6) & 0x3f));
				s[n++] = (char)(0x80 | (v & 0x3f));
			}
			break;
		}
		default:
			ps->p--;
			perr(ps, "bad escape '\\%c'", c ? c : '0');
			goto fail;
		}
	}
	s[n] = '\0';
	return s;
fail:
	free(s);
	return NULL;
}

static struct json *parse_value(struct parser *ps);

static struct json *parse_container(struct parser *ps, bool obj)
{
	struct json *j = jnew(obj ? JSON_OBJ : JSON_ARR), **tail;
	char close = obj ? '}' : ']';

	if (!j)
		return NULL;
	tail = &j->child;
	if (++ps->depth > 64) {
		perr(ps, "nesting deeper than 64");
		goto fail;
	}
	ps->p++;
	skip_ws(ps);
	if (*ps->p == close) {
		ps->p++;
		ps->depth--;
		return j;
	}
	for (;;) {
		char *key = NULL;
		struct json *v;

		skip_ws(ps);
		if (obj) {
			if (*ps->p != '"') {
				perr(ps, *ps->p ? "expected a member name in quotes" :
				     "unexpected end of input (file truncated?)");
				goto fail;
			}
			key = parse_string(ps);
			if (!key)
				goto fail;
			skip_ws(ps);
			if (*ps->p != ':') {
				free(key);
				perr(ps, "expected ':' after member name");
				goto fail;
			}
			ps->p++;
		}
		v = parse_value(ps);
		if (!v) {
			free(key);
			goto fail;
		}
		v->key = key;
		*tail = v;
		tail = &v->next;
		skip_ws(ps);
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p == close) {
			ps->p++;
			ps->depth--;
			return j;
		}
		perr(ps, *ps->p ? "expected ',' or '%c'" :
		     "unexpected end of input, expected ',' or '%c' (file truncated?)",
		     close);
		goto fail;
	}
fail:
	json_free(j);
	return NULL;
}

static struct json *parse_value(struct parser *ps)
{
	struct json *j;

	skip_ws(ps);
	switch (*ps->p) {
	case '{':
		return parse_container(ps, true);
	case '[':
		return parse_container(ps, false);
	case '"':
		j = jnew(JSON_STR);
		if (!j)
			return NULL;
		j->str = parse_string(ps);
		if (!j->str) {
			free(j);
			return NULL;
		}
		return j;
	case '\0':
		perr(ps, "unexpected end of input, expected a value (file truncated?)");
		return NULL;
	}
	if (!strncmp(ps->p, "true", 4) || !strncmp(ps->p, "false", 5)) {
		j = jnew(JSON_BOOL);
		if (!j)
			return NULL;
		j->boolean = *ps->p == 't';
		ps->p += j->boolean ? 4 : 5;
		return j;
	}
	if (!strncmp(ps->p, "null", 4)) {
		ps->p += 4;
		return jnew(JSON_NULL);
	}
	if (*ps->p == '-' || isdigit((unsigned char)*ps->p)) {
		char *end;
		double v;

		errno = 0;
		v = strtod(ps->p, &end);
		/* An underflow reads as the nearest double; an overflow is refused. */
		if (end == ps->p || (errno == ERANGE && isinf(v))) {
			perr(ps, "bad number");
			return NULL;
		}
		j = jnew(JSON_NUM);
		if (!j)
			return NULL;
		j->num = v;
		ps->p = end;
		return j;
	}
	perr(ps, "unexpected character '%c'", *ps->p);
	return NULL;
}

struct json *json_parse(const char *text, char *err, size_t errlen)
{
	struct parser ps = { text, text, err, errlen, 0 };
	struct json *j;

	err[0] = '\0';
	j = parse_value(&ps);
	if (!j) {
		if (!err[0])
			perr(&ps, "out of memory");
		return NULL;
	}
	skip_ws(&ps);
	if (*ps.p) {
		perr(&ps, "trailing characters after the top-level value");
		json_free(j);
		return NULL;
	}
	return j;
}

void json_free(struct json *j)
{
	while (j) {
		struct json *next = j->next;

		json_free(j->child);
		free(j->key);
		free(j->str);
		free(j);
		j = next;
	}
}

const struct json *json_get(const struct json *j, const char *path)
{
	while (j && *path) {
		size_t n = strcspn(path, ".");
		const struct json *c;

		if (j->type != JSON_OBJ)
			return NULL;
		for (c = j->child; c; c = c->next)
			if (strlen(c->key) == n && !strncmp(c->key, path, n))
				break;
		j = c;
		path += n;
		if (*path == '.')
			path++;
	}
	return j;
}

const char *json_type_name(enum json_type t)
{
	static const char *const names[] = {
		[JSON_NULL] = "null", [JSON_BOOL] = "boolean", [JSON_NUM] = "number",
		[JSON_STR] = "string", [JSON_ARR] = "array", [JSON_OBJ] = "object",
	};
	return names[t];
}
