// SPDX-License-Identifier: MIT
/*
 * InstallTA/UpdateTA messages for TAs too large to hold in memory. The
 * signature needs the hash of the whole signing input before the first
 * byte goes out, so the TA's share of it is hashed in one pass over the
 * stored ciphertext (once per version and identity, kept by the engine);
 * each device's message is then made again, piece by piece, while its
 * client reads it. A message costs a slot (bounded in all and per device),
 * a read-only database connection and a few piece buffers, however large
 * the TA: never a copy of it.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "otrp_int.h"
#include "tam/log.h"

int
otrp_slots_init(struct otrp_slots *s, unsigned max, unsigned per_device)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
	s->per_device = per_device;
	if (max == 0 || per_device == 0 || (s->dids = calloc(max, sizeof(*s->dids))) == NULL)
		return TAM_ENOMEM;
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s->dids);
		s->dids = NULL;
		return TAM_ENOMEM;
	}
	return TAM_OK;
}

void
otrp_slots_destroy(struct otrp_slots *s)
{
	if (s->dids == NULL)
		return;
	pthread_mutex_destroy(&s->mu);
	free(s->dids);
	s->dids = NULL;
}

static int
slot_take(struct otrp_slots *s, const uint8_t did[32])
{
	unsigned mine = 0;
	int rc = TAM_EBUSY;

	pthread_mutex_lock(&s->mu);
	for (unsigned i = 0; i < s->n; i++)
		if (memcmp(s->dids[i], did, 32) == 0)
			mine++;
	if (s->n < s->max && mine < s->per_device) {
		memcpy(s->dids[s->n++], did, 32);
		rc = TAM_OK;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void
slot_give(struct otrp_slots *s, const uint8_t did[32])
{
	pthread_mutex_lock(&s->mu);
	for (unsigned i = 0; i < s->n; i++)
		if (memcmp(s->dids[i], did, 32) == 0) {
			memcpy(s->dids[i], s->dids[--s->n], 32);
			break;
		}
	pthread_mutex_unlock(&s->mu);
}

static int
cipher_read(void *cls, uint64_t off, uint8_t *buf, size_t n, struct tam_err *err)
{
	return store_blob_read(cls, off, buf, n, err);
}

/* The version's ciphertext and an encoder of its payload part. */
static int
payload_open(struct store *st, int64_t version_id, enum otrp_msg m, struct store_blob **blob,
    struct otrp_ta_payload **payload, struct tam_err *err)
{
	uint64_t size = 0;
	int rc;

	*payload = NULL;
	if ((rc = store_ta_cipher_open(st, version_id, blob, &size, err)) != TAM_OK)
		return rc;
	if ((rc = otrp_ta_payload_new(m, size, cipher_read, *blob, payload)) != TAM_OK) {
		store_blob_close(*blob);
		*blob = NULL;
		return tam_err_set(err, rc, "TA version %lld: cannot encode its %llu bytes",
		    (long long)version_id, (unsigned long long)size);
	}
	return TAM_OK;
}

int
otrp_stream_ct_len(struct store *st, int64_t version_id, uint64_t *len, struct tam_err *err)
{
	struct store_blob *b = NULL;
	int rc;

	rc = store_ta_cipher_open(st, version_id, &b, len, err);
	store_blob_close(b);
	return rc;
}

int
otrp_stream_prefix(struct store *st, int64_t version_id, enum otrp_msg m,
    const struct pki_signer *signer, struct jose_jws_prefix **out, struct tam_err *err)
{
	struct otrp_ta_payload *pl = NULL;
	struct store_blob *blob = NULL;
	struct jose_jws_prefix *p = NULL;
	const char *piece;
	uint8_t rest[2];
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = payload_open(st, version_id, m, &blob, &pl, err)) != TAM_OK ||
	    (rc = pki_signer_prefix_begin(signer, &p, err)) != TAM_OK)
		goto out;
	while ((rc = otrp_ta_payload_next(pl, &piece, &len, err)) == TAM_OK && len > 0)
		if ((rc = jose_jws_prefix_update(p, piece, len, err)) != TAM_OK)
			break;
	if (rc == TAM_OK)
		rc = jose_jws_prefix_finish(p, rest, otrp_ta_payload_rest(pl, rest), err);
	if (rc == TAM_OK) {
		*out = p;
		p = NULL;
	}
out:
	jose_jws_prefix_free(p);
	otrp_ta_payload_free(pl);
	store_blob_close(blob);
	return rc;
}

/*
 * A message being sent: text[0, at), the TA's payload part, tail, then
 * text[at, text_len). Read in order, once.
 */
struct stream {
	struct otrp_slots *slots;
	uint8_t did[32];              /* whose slot it holds */
	int64_t version_id;
	struct store_blob *blob;      /* the ciphertext, reopened per piece */
	struct otrp_ta_payload *payload;
	char *text;                   /* the wrapped JWS with an empty payload, owned */
	size_t text_len;
	size_t at;                    /* where the payload goes in text */
	char *tail;                   /* the payload's end, owned */
	size_t tail_len;
	uint64_t payload_len;         /* characters the payload's TA part makes */
	uint64_t pos;                 /* bytes given so far */
	const char *piece;            /* the payload piece being given ... */
	size_t piece_len, piece_off;  /* ... its length and how much of it is given */
};

static void
stream_free(void *cls)
{
	struct stream *s = cls;

	if (s == NULL)
		return;
	slot_give(s->slots, s->did);
	otrp_ta_payload_free(s->payload);
	store_blob_close(s->blob);
	free(s->text);
	free(s->tail);
	free(s);
}

/* Up to max bytes at s->pos from the one part it falls in; 0 at the end, -1 on error. */
static long
stream_part(struct stream *s, uint8_t *buf, size_t max)
{
	uint64_t p = s->pos, after = s->at + s->payload_len;
	struct tam_err e = { 0 };
	size_t n;

	if (p < s->at) {
		n = s->at - (size_t)p < max ? s->at - (size_t)p : max;
		memcpy(buf, s->text + p, n);
	} else if (p < after) {
		if (s->piece_off == s->piece_len) {
			if (otrp_ta_payload_next(s->payload, &s->piece, &s->piece_len, &e) != TAM_OK ||
			    s->piece_len == 0) {
				log_warn("event=otrp.stream_failed ta_version=%lld at=%llu error=\"%s\"",
				    (long long)s->version_id, (unsigned long long)p,
				    e.msg[0] ? e.msg : "the TA ended early");
				return -1;
			}
			s->piece_off = 0;
		}
		n = s->piece_len - s->piece_off < max ? s->piece_len - s->piece_off : max;
		memcpy(buf, s->piece + s->piece_off, n);
		s->piece_off += n;
	} else if (p < after + s->tail_len) {
		n = (size_t)(after + s->tail_len - p) < max ? (size_t)(after + s->tail_len - p) : max;
		memcpy(buf, s->tail + (p - after), n);
	} else {
		size_t off = s->at + (size_t)(p - after - s->tail_len);
		if (off >= s->text_len)
			return 0;
		n = s->text_len - off < max ? s->text_len - off : max;
		memcpy(buf, s->text + off, n);
	}
	s->pos += n;
	return (long)n;
}

static long
stream_read(void *cls, uint64_t pos, uint8_t *buf, size_t max)
{
	struct stream *s = cls;
	long n, got = 0;

	if (pos != s->pos || max > LONG_MAX)
		return -1;
	while ((size_t)got < max && (n = stream_part(s, buf + got, max - (size_t)got)) != 0) {
		if (n < 0)
			return -1;
		got += n;
	}
	return got > 0 ? got : -1;
}

int
otrp_stream_new(struct store *st, int64_t version_id, enum otrp_msg m, char *text,
    size_t text_len, size_t at, char *tail, struct otrp_slots *slots, const uint8_t did[32],
    struct otrp_stream_body *out, struct tam_err *err)
{
	struct stream *s;
	int rc;

	memset(out, 0, sizeof(*out));
	if (at > text_len || (s = calloc(1, sizeof(*s))) == NULL) {
		free(text);
		free(tail);
		return tam_err_set(err, TAM_ENOMEM, "out of memory");
	}
	s->text = text;
	s->text_len = text_len;
	s->at = at;
	s->tail = tail;
	s->tail_len = strlen(tail);
	s->version_id = version_id;
	if (slot_take(slots, did) != TAM_OK) {
		free(text);
		free(tail);
		free(s);
		return tam_err_set(err, TAM_EBUSY, "%u large TA answers are being sent (%u per device):"
		    " try again later", slots->max, slots->per_device);
	}
	s->slots = slots;
	memcpy(s->did, did, 32);
	if ((rc = payload_open(st, version_id, m, &s->blob, &s->payload, err)) != TAM_OK) {
		stream_free(s);
		return rc;
	}
	s->payload_len = otrp_ta_payload_size(s->payload);
	*out = (struct otrp_stream_body){ text_len + s->payload_len + s->tail_len, stream_read,
	    stream_free, s };
	return TAM_OK;
}
