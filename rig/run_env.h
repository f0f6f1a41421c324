/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The run's environment as bench.json and inject.json carry it (their
 * "rig" object; summary.json has the full set): one type, one writer.
 */
#ifndef HEKI_RUN_ENV_H
#define HEKI_RUN_ENV_H

#include <stdbool.h>

#include "json.h"

struct run_env {
	const char *run_id, *l0_accel, *l0_cpu, *host_kernel, *guest_kernel, *git_rev;
	bool icount;
};

static inline void jw_run_env(struct jw *w, const struct run_env *e)
{
	jw_str(w, "run_id", e->run_id);
	jw_obj(w, "rig");
	jw_str(w, "l0_accel", e->l0_accel);
	jw_bool(w, "icount", e->icount);
	jw_str(w, "l0_cpu", e->l0_cpu);
	jw_str(w, "host_kernel", e->host_kernel);
	jw_str(w, "guest_kernel", e->guest_kernel);
	jw_str(w, "git_rev", e->git_rev);
	jw_end(w);
}

#endif /* HEKI_RUN_ENV_H */
