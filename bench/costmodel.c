// SPDX-License-Identifier: GPL-2.0
/*
 * heki-costmodel: projects each protection mode's cost per operation from
 * a run's bench.json and per-transition costs (measured in that run, or
 * given in a costs file with their source).  A model, not a measurement;
 * usage in bench/README.md.  The logic is in costmodel_lib.c, where the
 * unit tests reach it.
 */
#include "costmodel_lib.h"

int main(int argc, char **argv)
{
	return cm_main(argc, argv, stdout, stderr);
}
