/* SPDX-License-Identifier: MIT */
/*
 * Management operations: everything an operator or SP changes (TAM identity,
 * trust anchors, SPs, TAs and versions, devices, assignments), validated once
 * here and written with its audit record in one transaction. The CLI calls
 * these directly on the database; a network API calls the same functions.
 */
#ifndef TAM_MGMT_H
#define TAM_MGMT_H

#include <stddef.h>
#include <stdint.h>

#include "tam/err.h"
#include "tam/store.h"
#include "tam/util.h"

struct mgmt {
	struct store *st;             /* borrowed connection */
	const char *actor;            /* who is acting, for the audit log ("cli:root") */
};

/* Default SD name for an SP that registers without one. */
#define MGMT_SDNAME_SUFFIX ".sd"

/*
 * Set the TAM identity: key_path is stored (made absolute), never the key.
 * The key must be mode 0600 and match the chain's leaf. tamid NULL derives it.
 */
int mgmt_identity_set(struct mgmt *m, const char *key_path, const uint8_t *chain_pem,
    size_t chain_len, const char *tamid, struct tam_err *err) TAM_WUR;

/* A CA certificate (PEM or DER) that TEE certificates must chain to. */
int mgmt_anchor_add(struct mgmt *m, const char *name, const uint8_t *cert, size_t len,
    struct tam_err *err) TAM_WUR;
int mgmt_anchor_remove(struct mgmt *m, const char *name, struct tam_err *err) TAM_WUR;

/* An SP and the certificate (PEM or DER) its TA bundles are signed with. */
int mgmt_sp_add(struct mgmt *m, const char *spid, const char *sdname, const uint8_t *cert,
    size_t len, struct tam_err *err) TAM_WUR;

/*
 * A new version of a TA of SP spid. The bundle must verify with the SP's
 * certificate and the version must be newer than every earlier one. The
 * TA record is created with the first version (name defaults to taid).
 */
int mgmt_ta_add(struct mgmt *m, const char *spid, const char *taid, const char *version,
    const char *name, const uint8_t *bundle, size_t len, int64_t *version_id,
    struct tam_err *err) TAM_WUR;

/*
 * Enroll a device by TEE certificate (PEM or DER) or by raw public key
 * (PEM SubjectPublicKeyInfo or JWK). name may be NULL.
 */
int mgmt_device_enroll(struct mgmt *m, const char *name, const uint8_t *data, size_t len,
    int64_t *device_id, struct tam_err *err) TAM_WUR;

/* Refuse the device from now on (its sessions get 403); its records stay. */
int mgmt_device_decommission(struct mgmt *m, const char *device_ref, struct tam_err *err) TAM_WUR;

/* version NULL: always the latest version. */
int mgmt_assign(struct mgmt *m, const char *device_ref, const char *taid, const char *version,
    struct tam_err *err) TAM_WUR;
int mgmt_unassign(struct mgmt *m, const char *device_ref, const char *taid,
    struct tam_err *err) TAM_WUR;

#endif
