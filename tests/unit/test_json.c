// SPDX-License-Identifier: GPL-2.0
/* JSON writer and parser (rig/json.c): round trips and precise errors. */
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

TEST_HARNESS_MAIN
