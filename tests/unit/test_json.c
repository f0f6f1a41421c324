// SPDX-License-Identifier: GPL-2.0
/* JSON writer and parser (rig/json.c): round trips and precise errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "json.h"

static char *write_sample(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct jw w;

	jw_init(&w, f);
	jw_obj(&w, NULL);
	jw_int(&w, "schema_version", 1);
	jw_str(&w, "status", "ok");
	jw_str(&w, "quote", "a\"b\\c\nd\x01");
	jw_null(&w, "nothing");
	jw_obj(&w, "rig");
	jw_str(&w, "l0_accel", "tcg");
	jw_bool(&w, "icount", true);
	jw_num(&w, "seconds", 1.5);
	jw_end(&w);
	jw_arr(&w, "empty");
	jw_end(&w);
	jw_arr(&w, "list");
	jw_int(&w, NULL, 3);
	jw_str(&w, NULL, "x");
	jw_end(&w);
	jw_end(&w);
	fclose(f);
	return buf;
}

TEST(writer_output_parses_back)
{
	char err[128], *text = write_sample();
	struct json *j = json_parse(text, err, sizeof(err));
	const struct json *v;

	ASSERT_NE(NULL, j) TH_LOG("%s\n%s", err, text);
	v = json_get(j, "schema_version");
	ASSERT_NE(NULL, v);
	EXPECT_EQ(JSON_NUM, v->type);
	EXPECT_EQ(1.0, v->num);
	EXPECT_STREQ("tcg", json_get(j, "rig.l0_accel")->str);
	EXPECT_EQ(true, json_get(j, "rig.icount")->boolean);
	EXPECT_EQ(1.5, json_get(j, "rig.seconds")->num);
	EXPECT_STREQ("a\"b\\c\nd\x01", json_get(j, "quote")->str);
	EXPECT_EQ(JSON_NULL, json_get(j, "nothing")->type);
	EXPECT_EQ(JSON_ARR, json_get(j, "empty")->type);
	EXPECT_EQ(NULL, json_get(j, "empty")->child);
	EXPECT_EQ(3.0, json_get(j, "list")->child->num);
	EXPECT_STREQ("x", json_get(j, "list")->child->next->str);
	EXPECT_EQ(NULL, json_get(j, "rig.missing"));
	EXPECT_EQ(NULL, json_get(j, "status.deeper"));
	json_free(j);
	free(text);
}

TEST(every_truncation_is_an_error_naming_a_position)
{
	char err[128], *text = write_sample();
	size_t n = strlen(text);

	/* Cut after the last significant character, not inside trailing space. */
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	for (size_t cut = 0; cut < n; cut++) {
		char saved = text[cut];
		struct json *j;

		text[cut] = '\0';
		j = json_parse(text, err, sizeof(err));
		EXPECT_EQ(NULL, j) TH_LOG("prefix of %zu bytes parsed", cut);
		EXPECT_EQ(0, strncmp(err, "line ", 5)) TH_LOG("error '%s'", err);
		json_free(j);
		text[cut] = saved;
	}
	free(text);
}

TEST(errors_say_where_and_what)
{
	char err[128];

	ASSERT_EQ(NULL, json_parse("{\n  \"a\": 1,\n  \"b\" 2\n}", err, sizeof(err)));
	EXPECT_STREQ("line 3, column 7: expected ':' after member name", err);
	ASSERT_EQ(NULL, json_parse("{\"a\": tru}", err, sizeof(err)));
	EXPECT_STREQ("line 1, column 7: unexpected character 't'", err);
	ASSERT_EQ(NULL, json_parse("[1, 2", err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "truncated"));
	ASSERT_EQ(NULL, json_parse("{} x", err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "trailing"));
}

TEST(unicode_escapes_decode_to_utf8)
{
	char err[64];
	struct json *j = json_parse("\"\\u00e9\\u20ac\"", err, sizeof(err));

	ASSERT_NE(NULL, j);
	EXPECT_STREQ("\xc3\xa9\xe2\x82\xac", j->str);
	json_free(j);
}

TEST(deep_nesting_is_refused_not_overflowed)
{
	char err[64], text[400];

	memset(text, '[', 300);
	text[300] = '\0';
	ASSERT_EQ(NULL, json_parse(text, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "nesting"));
}

/* What jw_num writes for @v, and that it parses back as exactly @v. */
static const char *num_text(double v, char *buf, size_t len)
{
	char *out = NULL, err[64];
	size_t olen = 0;
	FILE *f = open_memstream(&out, &olen);
	struct jw w;
	struct json *j;

	jw_init(&w, f);
	jw_num(&w, NULL, v);
	fclose(f);
	snprintf(buf, len, "%s", out);
	j = json_parse(out, err, sizeof(err));
	free(out);
	if (!j || j->type != JSON_NUM || memcmp(&j->num, &v, sizeof(v)))
		snprintf(buf, len, "did not read back");
	json_free(j);
	return buf;
}

/* ICOUNT=1 figures are exact: never rounded on their way to a file. */
TEST(integers_stay_integers)
{
	char buf[64];

	EXPECT_STREQ("20626600", num_text(20626600, buf, sizeof(buf)));
	EXPECT_STREQ("20626601", num_text(20626601, buf, sizeof(buf)));
	EXPECT_STREQ("1234567890123", num_text(1234567890123.0, buf, sizeof(buf)));
	EXPECT_STREQ("9007199254740991", num_text(9007199254740991.0, buf, sizeof(buf)));
	EXPECT_STREQ("-42", num_text(-42, buf, sizeof(buf)));
	EXPECT_STREQ("0", num_text(0, buf, sizeof(buf)));
}

TEST(floats_round_trip_exactly_and_shortest)
{
	static const double vals[] = {
		0.1, 1.0 / 3, 2.0 / 3, 1e-300, 5e-324, 1.7976931348623157e308,
		0.30000000000000004, 123456.789012345678, 3.0000000000000004, -2.5e-7,
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		EXPECT_STRNE("did not read back", num_text(vals[i], buf, sizeof(buf)))
			TH_LOG("%.17g", vals[i]);
	}
	/* the shortest form, not 17 digits of noise */
	EXPECT_STREQ("0.1", num_text(0.1, buf, sizeof(buf)));
	EXPECT_STREQ("1.5", num_text(1.5, buf, sizeof(buf)));
	EXPECT_STREQ("0.30000000000000004", num_text(0.30000000000000004, buf, sizeof(buf)));
	EXPECT_STREQ("null", json_num_str(buf, sizeof(buf), NAN));
	EXPECT_STREQ("null", json_num_str(buf, sizeof(buf), -INFINITY));
	/* a number no double holds is refused, not read as infinity */
	EXPECT_EQ(NULL, json_parse("1e999", buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "bad number")) TH_LOG("%s", buf);
}

TEST_HARNESS_MAIN
