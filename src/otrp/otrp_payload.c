// SPDX-License-Identifier: MIT
/*
 * An InstallTA/UpdateTA payload's TA part, encoded as it is sent. The TBS
 * holds the TA ciphertext in standard base64 and the JWS payload is the
 * TBS in base64url, so the TA is encoded twice: each piece of ciphertext
 * (a multiple of 3 bytes but the last) becomes base64, which joins the few
 * bytes the previous piece left over and is encoded again in whole 3-byte
 * groups. The pieces join into exactly what the whole TA would make, with
 * memory for one piece at each stage.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "tam/otrp.h"

/* Ciphertext bytes per piece: a multiple of 3, so only the last piece is padded. */
#define PIECE_BYTES (48u * 1024)
#define HEAD_MAX 96
/* Carry, head and a piece's base64: the bytes encoded again at once. */
#define MID_BYTES (2 + HEAD_MAX + TAM_B64_LEN(PIECE_BYTES))

struct otrp_ta_payload {
	char head[HEAD_MAX];          /* otrp_tbs_ta_head, encoded before the first piece */
	size_t hlen;
	uint64_t ct_len;              /* ciphertext bytes */
	uint64_t ct_off;              /* ciphertext bytes read so far */
	otrp_ta_read_fn read;
	void *cls;
	uint8_t ct[PIECE_BYTES];      /* a piece of ciphertext */
	uint8_t mid[MID_BYTES];       /* what is encoded again: carry, head, base64 of a piece */
	size_t n_carry;               /* mid's first bytes not yet encoded again (0-2) */
	char out[TAM_B64_LEN(MID_BYTES)]; /* a piece produced */
};

int
otrp_ta_payload_new(enum otrp_msg m, uint64_t ct_len, otrp_ta_read_fn read, void *cls,
    struct otrp_ta_payload **out)
{
	struct otrp_ta_payload *s;

	*out = NULL;
	/* A stored blob holds at most INT_MAX bytes; sizes then stay far from overflowing. */
	if (ct_len == 0 || ct_len > INT_MAX || read == NULL)
		return TAM_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return TAM_ENOMEM;
	if (otrp_tbs_ta_head(m, s->head, sizeof(s->head)) != TAM_OK) {
		free(s);
		return TAM_EINVAL;
	}
	s->hlen = strlen(s->head);
	s->ct_len = ct_len;
	s->read = read;
	s->cls = cls;
	*out = s;
	return TAM_OK;
}

void
otrp_ta_payload_free(struct otrp_ta_payload *s)
{
	free(s);
}

uint64_t
otrp_ta_payload_size(const struct otrp_ta_payload *s)
{
	uint64_t mid = s->hlen + (s->ct_len + 2) / 3 * 4;

	return mid / 3 * 4;
}

int
otrp_ta_payload_next(struct otrp_ta_payload *s, const char **piece, size_t *len,
    struct tam_err *err)
{
	size_t n, m, whole;
	int rc;

	*piece = s->out;
	*len = 0;
	if (s->ct_off >= s->ct_len)
		return TAM_OK;
	n = s->ct_len - s->ct_off < PIECE_BYTES ? (size_t)(s->ct_len - s->ct_off) : PIECE_BYTES;
	if ((rc = s->read(s->cls, s->ct_off, s->ct, n, err)) != TAM_OK)
		return rc;
	m = s->n_carry;
	if (s->ct_off == 0) {
		memcpy(s->mid + m, s->head, s->hlen);
		m += s->hlen;
	}
	s->ct_off += n;
	m += tam_b64_encode_to(s->ct, n, (char *)s->mid + m, false);
	whole = m - m % 3;
	*len = tam_b64_encode_to(s->mid, whole, s->out, true);
	/* What is left waits for the next piece, or is the rest after the last. */
	s->n_carry = m - whole;
	memmove(s->mid, s->mid + whole, s->n_carry);
	return TAM_OK;
}

size_t
otrp_ta_payload_rest(const struct otrp_ta_payload *s, uint8_t rest[2])
{
	memcpy(rest, s->mid, s->n_carry);
	return s->n_carry;
}
