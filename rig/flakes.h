/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The emulator failures a retry may forgive: the one table of them
 * (flakes.c), each matched on the forensic record a failed run leaves in
 * summary.json ("failure", written by rigrun) and each with its evidence.
 * A failure no signature matches is a finding: it fails at once.
 */
#ifndef HEKI_FLAKES_H
#define HEKI_FLAKES_H

#include <stdbool.h>

#include "json.h"

struct flake_sig {
	const char *id;		/* printed with every retry it allows */
	const char *what;	/* the failure, in a line */
	const char *evidence;	/* where it was seen and recorded */
	/* Whether failed run @s (summary.json) is this failure. */
	bool (*match)(const struct json *s);
};

extern const struct flake_sig flake_sigs[];
extern const unsigned int flake_nsigs;

/*
 * The signature that forgives failed run @summary, or NULL: only runs
 * under L0 TCG (the emulator's defects), only runs with a forensic record.
 */
const struct flake_sig *flake_match(const struct json *summary);

#endif
