// SPDX-License-Identifier: MIT
/* Unit tests for policy: which single operation comes next, over plain structs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tam/policy.h"

struct fixture {
	struct tam_sd_obs sds[4];
	struct tam_ta_obs tas[4];
	struct tam_spaik_obs aiks[4];
	uint8_t spki[4];
	struct tam_dev_state st;
	struct tam_assignment want[4];
	size_t n_want;
	struct tam_op_key skip[4];
	size_t n_skip;
	struct tam_sd_want sdw[4];
	size_t n_sdw;
	struct tam_ta_req reqs[4];
	size_t n_reqs;
};

static void
reset(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->st.sds = f->sds;
	f->st.tas = f->tas;
	f->st.aiks = f->aiks;
}

static void
add_sd(struct fixture *f, const char *sdname, const char *spid)
{
	struct tam_sd_obs *s = &f->sds[f->st.n_sds++];
	strcpy(s->sdname, sdname);
	strcpy(s->spid, spid);
}

static void
add_ta(struct fixture *f, const char *taid, const char *sdname)
{
	struct tam_ta_obs *t = &f->tas[f->st.n_tas++];
	strcpy(t->taid, taid);
	strcpy(t->sdname, sdname);
	t->managed = true;
}

static void
add_aik(struct fixture *f, const char *spid)
{
	struct tam_spaik_obs *a = &f->aiks[f->st.n_aiks++];
	strcpy(a->spid, spid);
	a->spki = f->spki;
	a->spki_len = sizeof(f->spki);
}

static void
want(struct fixture *f, const char *taid, const char *spid, int64_t sp_id, int64_t vid)
{
	struct tam_assignment *a = &f->want[f->n_want++];
	memset(a, 0, sizeof(*a));
	strcpy(a->taid, taid);
	strcpy(a->spid, spid);
	snprintf(a->sdname, sizeof(a->sdname), "%s.sd", spid);
	a->sp_id = sp_id;
	a->ta_version_id = vid;
	strcpy(a->version, "1.0");
}

static void
next(const struct fixture *f, struct tam_op *op)
{
	policy_next_op(&(const struct policy_in){ .observed = &f->st, .want = f->want,
	    .n_want = f->n_want, .sds = f->sdw, .n_sds = f->n_sdw, .skip = f->skip,
	    .n_skip = f->n_skip, .reqs = f->reqs, .n_reqs = f->n_reqs }, op);
}

/* Version vid requires TA taid at version key min (0: any). */
static void
require(struct fixture *f, int64_t vid, const char *taid, int64_t min)
{
	struct tam_ta_req *r = &f->reqs[f->n_reqs++];
	r->ta_version_id = vid;
	strcpy(r->taid, taid);
	r->min_version_key = min;
}

static void
test_nothing_to_do(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	reset(&f);
	memset(&op, 0xff, sizeof(op));
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
	assert_int_equal(op.sp_id, 0);
	assert_string_equal(op.taid, "");
	assert_false(op.blocked);
}

static void
test_create_sd_first(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	reset(&f);
	want(&f, "ta-1", "bank", 7, 11);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_CREATE_SD);
	assert_int_equal(op.sp_id, 7);
	assert_string_equal(op.spid, "bank");
	assert_string_equal(op.sdname, "bank.sd");
}

static void
test_install_when_sd_and_aik(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	add_aik(&f, "bank");
	want(&f, "ta-1", "bank", 7, 11);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_INSTALL_TA);
	assert_string_equal(op.taid, "ta-1");
	assert_string_equal(op.sdname, "bank.sd");
	assert_int_equal(op.ta_version_id, 11);
	assert_int_equal(op.sp_id, 7);
}

static void
test_no_aik_skips(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	want(&f, "ta-1", "bank", 7, 11);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
	assert_true(op.blocked);
	assert_string_equal(op.taid, "ta-1");
	assert_string_equal(op.spid, "bank");
	/* a later assignment still proceeds */
	want(&f, "ta-2", "shop", 8, 12);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_CREATE_SD);
	assert_string_equal(op.spid, "shop");
	assert_false(op.blocked);
}

static void
test_installed_and_assigned(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	add_aik(&f, "bank");
	add_ta(&f, "ta-1", "bank.sd");
	want(&f, "ta-1", "bank", 7, 11);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
}

static void
test_delete_unassigned(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	add_ta(&f, "ta-old", "bank.sd");
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_DELETE_TA);
	assert_string_equal(op.taid, "ta-old");
	assert_string_equal(op.sdname, "bank.sd");
	assert_string_equal(op.spid, "bank");
}

static void
test_unmanaged_ta_left_alone(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	add_ta(&f, "foreign", "bank.sd");
	f.tas[0].managed = false;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
	assert_false(op.blocked);
}

static void
test_delete_before_install(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	add_aik(&f, "bank");
	add_ta(&f, "ta-old", "bank.sd");
	want(&f, "ta-new", "bank", 7, 11);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_DELETE_TA);
	assert_string_equal(op.taid, "ta-old");
	/* once it is gone the install comes */
	f.st.n_tas = 0;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_INSTALL_TA);
	assert_string_equal(op.taid, "ta-new");
}

static void
test_assignment_order(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	add_sd(&f, "shop.sd", "shop");
	add_aik(&f, "bank");
	add_aik(&f, "shop");
	want(&f, "ta-b", "shop", 8, 21);
	want(&f, "ta-a", "bank", 7, 11);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_INSTALL_TA);
	assert_string_equal(op.taid, "ta-b");
	assert_int_equal(op.ta_version_id, 21);
}

static void
skip_op(struct fixture *f, enum tam_op_kind kind, const char *taid, const char *sdname)
{
	struct tam_op_key *k = &f->skip[f->n_skip++];
	k->kind = kind;
	strcpy(k->taid, taid);
	strcpy(k->sdname, sdname);
}

static void
test_refused_ops_are_skipped(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	add_aik(&f, "bank");
	add_ta(&f, "ta-old", "bank.sd");
	want(&f, "ta-new", "bank", 7, 11);
	want(&f, "ta-x", "shop", 8, 12);
	/* the delete was refused: the install comes next */
	skip_op(&f, TAM_OP_DELETE_TA, "ta-old", "bank.sd");
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_INSTALL_TA);
	assert_string_equal(op.taid, "ta-new");
	/* that was refused too: the other SP's SD */
	skip_op(&f, TAM_OP_INSTALL_TA, "ta-new", "bank.sd");
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_CREATE_SD);
	assert_string_equal(op.sdname, "shop.sd");
	skip_op(&f, TAM_OP_CREATE_SD, "", "shop.sd");
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
	/* a skip entry for another TA changes nothing */
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	add_aik(&f, "bank");
	want(&f, "ta-new", "bank", 7, 11);
	skip_op(&f, TAM_OP_INSTALL_TA, "ta-other", "bank.sd");
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_INSTALL_TA);
}

/* The TA installed at version key have_key (row have_id) and assigned at want_key (row 20). */
static void
installed_and_wanted(struct fixture *f, int64_t have_id, int64_t have_key, int64_t want_key)
{
	reset(f);
	add_sd(f, "bank.sd", "bank");
	add_aik(f, "bank");
	add_ta(f, "ta-1", "bank.sd");
	f->tas[0].ta_version_id = have_id;
	f->tas[0].version_key = have_key;
	want(f, "ta-1", "bank", 7, 20);
	f->want[0].version_key = want_key;
}

static void
test_update_to_newer(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	installed_and_wanted(&f, 10, 0x10000, 0x10001);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_UPDATE_TA);
	assert_string_equal(op.taid, "ta-1");
	assert_string_equal(op.sdname, "bank.sd");
	assert_string_equal(op.spid, "bank");
	assert_int_equal(op.sp_id, 7);
	assert_int_equal(op.ta_version_id, 20);
	/* in sync: nothing */
	installed_and_wanted(&f, 20, 0x10001, 0x10001);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
	/* a version we did not install is not ours to replace */
	installed_and_wanted(&f, 0, 0, 0x10001);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
	/* no TEE SP AIK: the update waits, and says so */
	installed_and_wanted(&f, 10, 0x10000, 0x10001);
	f.st.n_aiks = 0;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
	assert_true(op.blocked);
	assert_string_equal(op.taid, "ta-1");
	assert_string_equal(op.blocked_on, "");
	/* a refused update is not tried again at once */
	installed_and_wanted(&f, 10, 0x10000, 0x10001);
	f.skip[f.n_skip].kind = TAM_OP_UPDATE_TA;
	strcpy(f.skip[f.n_skip].taid, "ta-1");
	strcpy(f.skip[f.n_skip++].sdname, "bank.sd");
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
}

static void
test_downgrade_needs_consent(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	/* 2.0 installed, 1.0 assigned: left alone */
	installed_and_wanted(&f, 10, 0x20000, 0x10000);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
	assert_false(op.blocked);
	/* unless an operator allowed it */
	f.want[0].allow_downgrade = true;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_UPDATE_TA);
	assert_int_equal(op.ta_version_id, 20);
	/* version 0.0 (key 0) is older than anything */
	installed_and_wanted(&f, 10, 0x10000, 0);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
}

static void
test_update_after_deletes_and_installs_in_order(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	installed_and_wanted(&f, 10, 0x10000, 0x10001);
	add_ta(&f, "ta-gone", "bank.sd");
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_DELETE_TA);
	assert_string_equal(op.taid, "ta-gone");
	f.st.n_tas = 1;
	/* assignments in order: a missing TA before it is installed, an update in its turn */
	want(&f, "ta-0", "bank", 7, 30);
	struct tam_assignment t = f.want[0];
	f.want[0] = f.want[1];
	f.want[1] = t;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_INSTALL_TA);
	assert_string_equal(op.taid, "ta-0");
	add_ta(&f, "ta-0", "bank.sd");
	f.tas[1].ta_version_id = 30;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_UPDATE_TA);
	assert_string_equal(op.taid, "ta-1");
}

static struct tam_sd_want *
sd_want(struct fixture *f, const char *spid, int64_t sp_id, const char *sdname, uint8_t fp)
{
	struct tam_sd_want *w = &f->sdw[f->n_sdw++];
	w->sp_id = sp_id;
	strcpy(w->spid, spid);
	strcpy(w->sdname, sdname);
	memset(w->spcert_fp, fp, sizeof(w->spcert_fp));
	return w;
}

static void
sd_cert(struct fixture *f, size_t i, uint8_t fp)
{
	f->sds[i].spcert_known = true;
	memset(f->sds[i].spcert_fp, fp, sizeof(f->sds[i].spcert_fp));
}

static void
test_empty_unused_sd_deleted(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	add_aik(&f, "bank");
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_DELETE_SD);
	assert_string_equal(op.sdname, "bank.sd");
	assert_string_equal(op.spid, "bank");
	assert_false(op.deleteta);
	/* refused recently: left for later */
	f.skip[f.n_skip++] = (struct tam_op_key){ .kind = TAM_OP_DELETE_SD, .sdname = "bank.sd" };
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
}

static void
test_sd_in_use_kept(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	/* an assignment still wants it, even before its TA is installed */
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	want(&f, "ta-1", "bank", 7, 11);
	next(&f, &op);
	assert_int_not_equal(op.kind, TAM_OP_DELETE_SD);
	assert_true(op.blocked);
	/* a TA we do not know lives in it: neither goes */
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	add_ta(&f, "foreign", "bank.sd");
	f.tas[0].managed = false;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
	/* a TA of ours: it goes first, then the SD */
	f.tas[0].managed = true;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_DELETE_TA);
	f.st.n_tas = 0;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_DELETE_SD);
}

static void
test_purge_takes_tas_along(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	add_sd(&f, "shop.sd", "shop");
	add_ta(&f, "ta-1", "bank.sd");
	add_ta(&f, "foreign", "bank.sd");
	f.tas[1].managed = false;
	add_ta(&f, "ta-2", "shop.sd");
	sd_want(&f, "bank", 7, "bank.sd", 0)->purge = true;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_DELETE_SD);
	assert_string_equal(op.sdname, "bank.sd");
	assert_true(op.deleteta);
	/* assigned again: the purge no longer applies, the other SP's TA goes as usual */
	want(&f, "ta-1", "bank", 7, 11);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_DELETE_TA);
	assert_string_equal(op.taid, "ta-2");
	/* refused: its TAs go one by one instead */
	f.n_want = 0;
	f.skip[f.n_skip++] = (struct tam_op_key){ .kind = TAM_OP_DELETE_SD, .sdname = "bank.sd" };
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_DELETE_TA);
	assert_string_equal(op.taid, "ta-1");
}

static void
test_update_sd_rename_and_cert(void **state)
{
	struct fixture f;
	struct tam_op op;
	uint8_t old[32];

	(void)state;
	reset(&f);
	add_sd(&f, "old.sd", "bank");
	add_aik(&f, "bank");
	add_ta(&f, "ta-1", "old.sd");
	f.tas[0].ta_version_id = 11;
	want(&f, "ta-1", "bank", 7, 11);
	sd_want(&f, "bank", 7, "bank.sd", 0xaa);
	/* the same certificate: only the name changes */
	sd_cert(&f, 0, 0xaa);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_UPDATE_SD);
	assert_int_equal(op.sp_id, 7);
	assert_string_equal(op.sdname, "old.sd");
	assert_string_equal(op.new_sdname, "bank.sd");
	assert_false(op.add_spcert);
	assert_false(op.del_spcert);
	assert_false(op.renew_aik);
	/* a new certificate too: both in one request, the old one named for removal */
	sd_cert(&f, 0, 0x55);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_UPDATE_SD);
	assert_true(op.add_spcert);
	assert_true(op.del_spcert);
	memset(old, 0x55, sizeof(old));
	assert_memory_equal(op.old_spcert_fp, old, 32);
	/* a certificate we never recorded is not ours to replace */
	f.sds[0].spcert_known = false;
	strcpy(f.sds[0].sdname, "bank.sd");
	strcpy(f.tas[0].sdname, "bank.sd");
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
}

static void
test_refused_rename_still_installs(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	reset(&f);
	add_sd(&f, "old.sd", "bank");
	add_aik(&f, "bank");
	want(&f, "ta-1", "bank", 7, 11);
	sd_want(&f, "bank", 7, "bank.sd", 0);
	f.skip[f.n_skip++] = (struct tam_op_key){ .kind = TAM_OP_UPDATE_SD, .sdname = "old.sd" };
	next(&f, &op);
	/* no second SD for the SP: the TA goes into the one it has */
	assert_int_equal(op.kind, TAM_OP_INSTALL_TA);
	assert_string_equal(op.sdname, "old.sd");
}

static void
test_renew_aik(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	sd_cert(&f, 0, 1);
	add_aik(&f, "bank");
	want(&f, "ta-1", "bank", 7, 11);
	sd_want(&f, "bank", 7, "bank.sd", 1);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_INSTALL_TA);
	f.sdw[0].renew_aik = true;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_UPDATE_SD);
	assert_true(op.renew_aik);
	assert_string_equal(op.new_sdname, "");
	assert_false(op.add_spcert);
}

/* What installing "app" (sp bank, version 11) asks for when it requires "lib" (sp lib, version 21). */
static void
app_and_lib(struct fixture *f, bool lib_first)
{
	reset(f);
	if (lib_first)
		want(f, "lib", "lib", 9, 21);
	want(f, "app", "bank", 7, 11);
	if (!lib_first)
		want(f, "lib", "lib", 9, 21);
	for (size_t i = 0; i < f->n_want; i++)
		f->want[i].version_key = 0x10000;
	f->want[lib_first ? 0 : 1].implied = true;
	require(f, 11, "lib", 0);
}

static void
test_requires_installed_first(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	for (int lib_first = 0; lib_first < 2; lib_first++) {
		/* whatever the order of the assignments, the library's SD and TA come first */
		app_and_lib(&f, lib_first);
		next(&f, &op);
		assert_int_equal(op.kind, TAM_OP_CREATE_SD);
		assert_string_equal(op.spid, "lib");
		add_sd(&f, "lib.sd", "lib");
		add_aik(&f, "lib");
		next(&f, &op);
		assert_int_equal(op.kind, TAM_OP_INSTALL_TA);
		assert_string_equal(op.taid, "lib");
		assert_int_equal(op.ta_version_id, 21);
		add_ta(&f, "lib", "lib.sd");
		f.tas[0].ta_version_id = 21;
		f.tas[0].version_key = 0x10000;
		/* then the TA that needs it, into its own SP's SD */
		next(&f, &op);
		assert_int_equal(op.kind, TAM_OP_CREATE_SD);
		assert_string_equal(op.spid, "bank");
		add_sd(&f, "bank.sd", "bank");
		add_aik(&f, "bank");
		next(&f, &op);
		assert_int_equal(op.kind, TAM_OP_INSTALL_TA);
		assert_string_equal(op.taid, "app");
		assert_string_equal(op.sdname, "bank.sd");
		add_ta(&f, "app", "bank.sd");
		f.tas[1].ta_version_id = 11;
		next(&f, &op);
		assert_int_equal(op.kind, TAM_OP_NONE);
		assert_false(op.blocked);
	}
	/* any copy of the library meets a requirement without a minimum version */
	app_and_lib(&f, false);
	add_sd(&f, "bank.sd", "bank");
	add_aik(&f, "bank");
	add_sd(&f, "lib.sd", "lib");
	add_ta(&f, "lib", "lib.sd");
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_INSTALL_TA);
	assert_string_equal(op.taid, "app");
}

static void
test_requires_min_version_updates_first(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	/* lib 1.0 (version 20) is installed, app needs lib 1.1, which version 21 is */
	app_and_lib(&f, false);
	f.reqs[0].min_version_key = 0x10001;
	f.want[1].version_key = 0x10001;
	add_sd(&f, "bank.sd", "bank");
	add_sd(&f, "lib.sd", "lib");
	add_aik(&f, "bank");
	add_aik(&f, "lib");
	add_ta(&f, "lib", "lib.sd");
	f.tas[0].ta_version_id = 20;
	f.tas[0].version_key = 0x10000;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_UPDATE_TA);
	assert_string_equal(op.taid, "lib");
	assert_int_equal(op.ta_version_id, 21);
	f.tas[0].ta_version_id = 21;
	f.tas[0].version_key = 0x10001;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_INSTALL_TA);
	assert_string_equal(op.taid, "app");
}

static void
test_requires_unmet_blocks(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	/* no version of lib reaches 2.0: app waits, naming lib; nothing else to do */
	app_and_lib(&f, false);
	f.reqs[0].min_version_key = 0x20000;
	add_sd(&f, "bank.sd", "bank");
	add_sd(&f, "lib.sd", "lib");
	add_aik(&f, "bank");
	add_aik(&f, "lib");
	add_ta(&f, "lib", "lib.sd");
	f.tas[0].ta_version_id = 21;
	f.tas[0].version_key = 0x10000;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
	assert_true(op.blocked);
	assert_string_equal(op.taid, "app");
	assert_string_equal(op.blocked_on, "lib");
	/* a copy of lib we did not install cannot be shown to reach a minimum */
	f.reqs[0].min_version_key = 0x10000;
	f.tas[0].ta_version_id = 0;
	f.tas[0].version_key = 0;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
	assert_true(op.blocked);
	assert_string_equal(op.blocked_on, "lib");
	/* nothing assigns lib (it has no installable version): app waits, others go on */
	app_and_lib(&f, false);
	f.n_want = 1;
	want(&f, "other", "bank", 7, 31);
	add_sd(&f, "bank.sd", "bank");
	add_aik(&f, "bank");
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_INSTALL_TA);
	assert_string_equal(op.taid, "other");
	add_ta(&f, "other", "bank.sd");
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
	assert_true(op.blocked);
	assert_string_equal(op.taid, "app");
	assert_string_equal(op.blocked_on, "lib");
	/* of two TAs missing, the one nothing can bring is named, not the one on its way */
	f.n_reqs = 0;
	require(&f, 11, "zlib", 0);
	require(&f, 11, "lib", 0);
	want(&f, "zlib", "shop", 8, 41);
	add_sd(&f, "shop.sd", "shop");
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
	assert_true(op.blocked);
	assert_string_equal(op.taid, "app");
	assert_string_equal(op.blocked_on, "lib");
}

static void
test_requires_dependents_deleted_first(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	/* lib is listed first, but app (version 11) requires it: app goes first */
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	add_ta(&f, "lib", "bank.sd");
	add_ta(&f, "app", "bank.sd");
	f.tas[0].ta_version_id = 21;
	f.tas[1].ta_version_id = 11;
	require(&f, 11, "lib", 0);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_DELETE_TA);
	assert_string_equal(op.taid, "app");
	f.tas[1] = f.tas[0];
	f.st.n_tas = 1;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_DELETE_TA);
	assert_string_equal(op.taid, "lib");
	/* an unmanaged TA requires nothing we know of: lib goes */
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	add_ta(&f, "lib", "bank.sd");
	add_ta(&f, "app", "bank.sd");
	f.tas[0].ta_version_id = 21;
	f.tas[1].managed = false;
	require(&f, 11, "lib", 0);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_DELETE_TA);
	assert_string_equal(op.taid, "lib");
}

static void
test_requires_kept_while_installed_version_needs_it(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	/* app 1.0 (version 11) needs lib; app 1.1 (version 12), assigned, does not */
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	add_aik(&f, "bank");
	add_ta(&f, "app", "bank.sd");
	add_ta(&f, "lib", "bank.sd");
	f.tas[0].ta_version_id = 11;
	f.tas[0].version_key = 0x10000;
	f.tas[1].ta_version_id = 21;
	want(&f, "app", "bank", 7, 12);
	f.want[0].version_key = 0x10001;
	require(&f, 11, "lib", 0);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_UPDATE_TA);
	assert_string_equal(op.taid, "app");
	/* updated: nothing needs lib any more */
	f.tas[0].ta_version_id = 12;
	f.tas[0].version_key = 0x10001;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_DELETE_TA);
	assert_string_equal(op.taid, "lib");
	/* pinned at the version that needs it: lib stays, and nothing is to do */
	f.tas[0].ta_version_id = 11;
	f.tas[0].version_key = 0x10000;
	f.want[0].ta_version_id = 11;
	f.want[0].version_key = 0x10000;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
	assert_false(op.blocked);
}

static void
test_requires_cycle_ends(void **state)
{
	struct fixture f;
	struct tam_op op;

	(void)state;
	/* a needs b and b needs a: neither can go first */
	reset(&f);
	add_sd(&f, "bank.sd", "bank");
	add_aik(&f, "bank");
	want(&f, "a", "bank", 7, 1);
	want(&f, "b", "bank", 7, 2);
	require(&f, 1, "b", 0);
	require(&f, 2, "a", 0);
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
	assert_true(op.blocked);
	assert_string_equal(op.taid, "a");
	assert_string_equal(op.blocked_on, "b");
	/* installed and unassigned, each keeps the other: nothing is deleted, nothing hangs */
	f.n_want = 0;
	add_ta(&f, "a", "bank.sd");
	add_ta(&f, "b", "bank.sd");
	f.tas[0].ta_version_id = 1;
	f.tas[1].ta_version_id = 2;
	next(&f, &op);
	assert_int_equal(op.kind, TAM_OP_NONE);
	assert_false(op.blocked);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_to_do),
		cmocka_unit_test(test_create_sd_first),
		cmocka_unit_test(test_install_when_sd_and_aik),
		cmocka_unit_test(test_no_aik_skips),
		cmocka_unit_test(test_installed_and_assigned),
		cmocka_unit_test(test_delete_unassigned),
		cmocka_unit_test(test_unmanaged_ta_left_alone),
		cmocka_unit_test(test_delete_before_install),
		cmocka_unit_test(test_assignment_order),
		cmocka_unit_test(test_refused_ops_are_skipped),
		cmocka_unit_test(test_update_to_newer),
		cmocka_unit_test(test_downgrade_needs_consent),
		cmocka_unit_test(test_update_after_deletes_and_installs_in_order),
		cmocka_unit_test(test_empty_unused_sd_deleted),
		cmocka_unit_test(test_sd_in_use_kept),
		cmocka_unit_test(test_purge_takes_tas_along),
		cmocka_unit_test(test_update_sd_rename_and_cert),
		cmocka_unit_test(test_refused_rename_still_installs),
		cmocka_unit_test(test_renew_aik),
		cmocka_unit_test(test_requires_installed_first),
		cmocka_unit_test(test_requires_min_version_updates_first),
		cmocka_unit_test(test_requires_unmet_blocks),
		cmocka_unit_test(test_requires_dependents_deleted_first),
		cmocka_unit_test(test_requires_kept_while_installed_version_needs_it),
		cmocka_unit_test(test_requires_cycle_ends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
