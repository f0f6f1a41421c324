// SPDX-License-Identifier: GPL-2.0
/*
 * heki-results: checks run records against their schemas, compares two
 * runs for regressions, keeps results/history.jsonl and finds the last
 * good run.  Usage and exit codes: results/README.md.  All the logic is in
 * results_lib.c, where the unit tests reach it.
 */
#include "results_lib.h"

int main(int argc, char **argv)
{
	return hr_main(argc, argv, stdout, stderr);
}
