/* SPDX-License-Identifier: MIT */
/*
 * Small helpers every module needs: a growable byte buffer, base64 and hex
 * codecs (thin wrappers over cjose and OpenSSL, no codec of our own), random
 * identifiers, SHA-256, bounded file reads and atomic writes, and the clock.
 */
#ifndef TAM_UTIL_H
#define TAM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tam/err.h"

#define TAM_WUR __attribute__((warn_unused_result))

struct tam_buf {
	uint8_t *data;  /* owned; always NUL-terminated past len when non-NULL */
	size_t len;     /* bytes used */
	size_t cap;     /* bytes allocated, excluding the terminator */
};

int tam_buf_append(struct tam_buf *b, const void *p, size_t n) TAM_WUR;
/* Wipe then release; the struct is reset to empty. */
void tam_buf_free(struct tam_buf *b);

/* Standard base64 with padding (RFC 4648 §4). *out is malloc'd, NUL-terminated. */
int tam_b64_encode(const uint8_t *in, size_t n, char **out) TAM_WUR;
/* base64url without padding (RFC 4648 §5), as JOSE uses. */
int tam_b64url_encode(const uint8_t *in, size_t n, char **out) TAM_WUR;
/*
 * Either encoding (url: base64url without padding) of n bytes into out,
 * which must hold TAM_B64_LEN(n) characters; no NUL. Returns the count.
 */
#define TAM_B64_LEN(n) (((n) + 2) / 3 * 4)
size_t tam_b64_encode_to(const uint8_t *in, size_t n, char *out, bool url);
/* Strict base64url without padding. *out is malloc'd. */
int tam_b64url_decode(const char *in, size_t n, uint8_t **out, size_t *outlen) TAM_WUR;
/*
 * Lenient decode for OTrP binary members: standard or url alphabet, padded or
 * not. Rejects whitespace and mixed garbage. *out is malloc'd.
 */
int tam_b64_decode_any(const char *in, size_t n, uint8_t **out, size_t *outlen) TAM_WUR;

/* Lower-case hex; out must hold 2n+1 bytes. */
void tam_hex_encode(const uint8_t *in, size_t n, char *out);
/* Exactly 2*outlen hex digits (either case) into out. */
int tam_hex_decode(const char *in, size_t n, uint8_t *out, size_t outlen) TAM_WUR;

/* Cryptographically strong random bytes (OpenSSL RAND_bytes). */
int tam_random(uint8_t *out, size_t n) TAM_WUR;
/* 128 random bits as 22 base64url characters + NUL. */
#define TAM_RANDOM_ID_LEN 23
int tam_random_id(char out[TAM_RANDOM_ID_LEN]) TAM_WUR;

void tam_sha256(const void *in, size_t n, uint8_t out[32]);

/* Constant-time equality of two secrets of the same length. */
bool tam_secure_eq(const void *a, const void *b, size_t n);
/* Wipe memory the compiler may not optimise away. */
void tam_wipe(void *p, size_t n);

/* Read at most max bytes of a file; larger files fail with TAM_ETOO_LARGE. */
int tam_file_read(const char *path, size_t max, uint8_t **out, size_t *len,
    struct tam_err *err) TAM_WUR;
/* Write to path.tmp with the given mode, fsync, rename over path. */
int tam_file_write_atomic(const char *path, const void *data, size_t len,
    unsigned mode, struct tam_err *err) TAM_WUR;

/* Write all n bytes at offset off (retrying short writes); 0, or -1 with errno. */
int tam_pwrite_all(int fd, const void *p, size_t n, uint64_t off) TAM_WUR;
/* Read all n bytes at offset off; 0, or -1 with errno (EIO when the file ends first). */
int tam_pread_all(int fd, void *p, size_t n, uint64_t off) TAM_WUR;

/*
 * A scratch file in dir (NULL: the system's temporary directory), already
 * unlinked: it disappears when *fd is closed, also after a crash.
 */
int tam_tmpfile(const char *dir, int *fd, struct tam_err *err) TAM_WUR;

/* Seconds since the epoch. */
int64_t tam_now(void);
/* Milliseconds of a monotonic clock (rate limits, deadlines): not the time of day. */
int64_t tam_monotonic_ms(void);

/* Copy a string into a fixed buffer; fails (no truncation) if it does not fit. */
int tam_strlcpy_checked(char *dst, const char *src, size_t dstsize) TAM_WUR;

/*
 * OpenSSL PEM password callback that refuses: encrypted key or certificate
 * files are an error, never a prompt on a terminal.
 */
int tam_pem_no_password(char *buf, int size, int rwflag, void *u);

/* Bounded, printable identifier: [A-Za-z0-9._:-], 1..max-1 bytes. */
bool tam_valid_name(const char *s, size_t max);

/* Is item one of the entries of the comma-separated list ("RS256,ES256")? */
bool tam_list_has(const char *list, const char *item);
/*
 * v as one key=value field's value in text others parse (audit details):
 * bare when it is a non-empty run of [A-Za-z0-9._:/@-], else double-quoted
 * with \ and " escaped and bytes outside printable ASCII as \xNN, so a
 * value can never start a field of its own. Its length, or -1 (out holds
 * "") when it does not fit in size.
 */
int tam_field_value(const char *v, char *out, size_t size);

#endif
