// SPDX-License-Identifier: MIT
/*
 * InstallTA/UpdateTA messages for TAs too large to hold in memory. The
 * signature needs the hash of the whole signing input before the first
 * byte goes out, so once per version and identity (kept by the engine) the
 * stored ciphertext is copied in one pass to an unlinked spool file and
 * the TA's share of the hash is made from it; each device's message is
 * then made again, piece by piece, while its client reads it. A message
 * costs a slot (bounded in all and per device), a read-only database
 * connection and a few piece buffers, however large the TA: never a copy
 * of it in memory.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/*
 * The ciphertext as a stream reads it: from the copy made for its version
 * (an unlinked spool file), after checking, piece by piece, that the
 * version is still served. The check is one indexed query: no snapshot is
 * held between pieces, however slowly a client reads.
 */
struct source {
	int fd;                       /* the copy, owned */
	struct store_blob *watch;     /* the version's blob, for the check */
};

static int
source_read(void *cls, uint64_t off, uint8_t *buf, size_t n, struct tam_err *err)
{
	struct source *src = cls;
	int rc;

	if ((rc = store_blob_check(src->watch, err)) != TAM_OK)
		return rc;
	if (tam_pread_all(src->fd, buf, n, off) != 0)
		return tam_err_set(err, TAM_EIO, "reading the TA's spooled copy: %s", strerror(errno));
	return TAM_OK;
}

static void
source_close(struct source *src)
{
	if (src->fd >= 0)
		close(src->fd);
	store_blob_close(src->watch);
	src->fd = -1;
	src->watch = NULL;
}

/* A source on fd (taken) and an encoder of the payload part it makes. */
static int
payload_open(struct store *st, int64_t version_id, enum otrp_msg m, int fd, struct source *src,
    struct otrp_ta_payload **payload, struct tam_err *err)
{
	uint64_t size = 0;
	int rc;

	*payload = NULL;
	src->fd = fd;
	if ((rc = store_ta_cipher_open(st, version_id, &src->watch, &size, err)) != TAM_OK) {
		source_close(src);
		return rc;
	}
	if ((rc = otrp_ta_payload_new(m, size, source_read, src, payload)) != TAM_OK) {
		source_close(src);
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

/* The version's ciphertext copied into a new unlinked file in spool_dir. */
static int
spool_copy(struct store *st, int64_t version_id, const char *spool_dir, int *fd,
    struct tam_err *err)
{
	struct store_blob *b = NULL;
	uint64_t size = 0;
	int rc;

	if ((rc = tam_tmpfile(spool_dir, fd, err)) != TAM_OK)
		return rc;
	if ((rc = store_ta_cipher_open(st, version_id, &b, &size, err)) == TAM_OK)
		rc = store_blob_copy(b, *fd, err);
	store_blob_close(b);
	if (rc != TAM_OK) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}

int
otrp_stream_prefix(struct store *st, int64_t version_id, enum otrp_msg m,
    const struct pki_signer *signer, const char *spool_dir, struct jose_jws_prefix **out,
    int *fd, struct tam_err *err)
{
	struct source src = { -1, NULL };
	struct otrp_ta_payload *pl = NULL;
	struct jose_jws_prefix *p = NULL;
	const char *piece;
	uint8_t rest[2];
	size_t len = 0;
	int rc, copy = -1;

	*out = NULL;
	*fd = -1;
	if ((rc = spool_copy(st, version_id, spool_dir, &copy, err)) != TAM_OK)
		return rc;
	if ((*fd = dup(copy)) < 0) {
		close(copy);
		return tam_err_set(err, TAM_EIO, "dup: %s", strerror(errno));
	}
	if ((rc = payload_open(st, version_id, m, copy, &src, &pl, err)) != TAM_OK ||
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
	source_close(&src);
	if (rc != TAM_OK) {
		close(*fd);
		*fd = -1;
	}
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
	struct source src;            /* the ciphertext */
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
	source_close(&s->src);
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
otrp_stream_new(struct store *st, int64_t version_id, enum otrp_msg m, int fd, char *text,
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
	s->src.fd = -1;
	if (slot_take(slots, did) != TAM_OK) {
		free(text);
		free(tail);
		free(s);
		return tam_err_set(err, TAM_EBUSY, "%u large TA answers are being sent (%u per device):"
		    " try again later", slots->max, slots->per_device);
	}
	s->slots = slots;
	memcpy(s->did, did, 32);
	if ((fd = dup(fd)) < 0) {
		rc = tam_err_set(err, TAM_EIO, "dup: %s", strerror(errno));
		stream_free(s);
		return rc;
	}
	if ((rc = payload_open(st, version_id, m, fd, &s->src, &s->payload, err)) != TAM_OK) {
		stream_free(s);
		return rc;
	}
	s->payload_len = otrp_ta_payload_size(s->payload);
	*out = (struct otrp_stream_body){ text_len + s->payload_len + s->tail_len, stream_read,
	    stream_free, s };
	return TAM_OK;
}
