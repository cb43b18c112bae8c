/* SPDX-License-Identifier: MIT */
/*
 * Inside the protocol engine: the answers that are streamed from the
 * database (otrp_stream.c) instead of being made in memory. Never seen by
 * HTTP: the engine hands them out as a struct otrp_stream_body.
 */
#ifndef TAM_OTRP_INT_H
#define TAM_OTRP_INT_H

#include <pthread.h>
#include <stdint.h>

#include "tam/engine.h"
#include "tam/jose.h"
#include "tam/otrp.h"
#include "tam/pki.h"
#include "tam/store.h"

/*
 * How many streamed answers may be in flight: each holds a database
 * connection and piece buffers until its client has read it or gone.
 */
struct otrp_slots {
	pthread_mutex_t mu;           /* guards n and dids */
	unsigned max;                 /* in all */
	unsigned per_device;          /* for one device (by did) */
	unsigned n;                   /* in use */
	uint8_t (*dids)[32];          /* the device of each slot in use; max entries, owned */
};
int otrp_slots_init(struct otrp_slots *s, unsigned max, unsigned per_device) TAM_WUR;
void otrp_slots_destroy(struct otrp_slots *s);

/*
 * The part of a TA version's InstallTA/UpdateTA signature hash that every
 * device shares (jose_jws_prefix), without its head: the stored ciphertext
 * is copied in one pass to an unlinked file in spool_dir (NULL: $TMPDIR or
 * /tmp), *fd, which otrp_stream_new reads it from.
 */
int otrp_stream_prefix(struct store *st, int64_t version_id, enum otrp_msg m,
    const struct pki_signer *signer, const char *spool_dir, struct jose_jws_prefix **out,
    int *fd, struct tam_err *err) TAM_WUR;
/* The size of a version's stored ciphertext. */
int otrp_stream_ct_len(struct store *st, int64_t version_id, uint64_t *len,
    struct tam_err *err) TAM_WUR;

/*
 * One device's message: text (the wrapped JWS, its payload empty; at is
 * where the payload goes) and tail (the payload's end, base64url) are
 * taken; the TA's part is made again from fd (otrp_stream_prefix's copy,
 * duplicated) as the message is read, each piece only while the version
 * is still served. Takes a slot of slots for did first: TAM_EBUSY when
 * none is free.
 */
int otrp_stream_new(struct store *st, int64_t version_id, enum otrp_msg m, int fd, char *text,
    size_t text_len, size_t at, char *tail, struct otrp_slots *slots, const uint8_t did[32],
    struct otrp_stream_body *out, struct tam_err *err) TAM_WUR;

#endif
