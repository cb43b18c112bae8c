// SPDX-License-Identifier: MIT
/*
 * Buffers, encodings, randomness, hashing and file helpers. Base64 goes
 * through cjose's codec and SHA-256/random through OpenSSL; this file only
 * adds the checks our inputs need (alphabets, lengths, size bounds).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjose/base64.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "tam/util.h"

int
tam_buf_append(struct tam_buf *b, const void *p, size_t n)
{
	size_t need, ncap;
	uint8_t *nd;

	if (n > SIZE_MAX - b->len - 1)
		return TAM_ENOMEM;
	need = b->len + n;
	if (b->data == NULL || need > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < need) {
			if (ncap > SIZE_MAX / 2)
				return TAM_ENOMEM;
			ncap *= 2;
		}
		/* Not realloc: the old block may hold key material and must be wiped. */
		nd = malloc(ncap + 1);
		if (nd == NULL)
			return TAM_ENOMEM;
		if (b->data != NULL) {
			memcpy(nd, b->data, b->len);
			OPENSSL_cleanse(b->data, b->cap + 1);
			free(b->data);
		}
		b->data = nd;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len = need;
	b->data[b->len] = '\0';
	return TAM_OK;
}

void
tam_buf_free(struct tam_buf *b)
{
	if (b->data != NULL) {
		OPENSSL_cleanse(b->data, b->cap + 1);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->cap = 0;
}

static int
b64_encode(const uint8_t *in, size_t n, char **out, bool url)
{
	cjose_err cerr;
	size_t olen = 0;
	char *o = NULL;
	bool ok;

	*out = NULL;
	ok = url ? cjose_base64url_encode(in, n, &o, &olen, &cerr)
		 : cjose_base64_encode(in, n, &o, &olen, &cerr);
	if (!ok || o == NULL)
		return TAM_ENOMEM;
	*out = o;
	return TAM_OK;
}

int
tam_b64_encode(const uint8_t *in, size_t n, char **out)
{
	return b64_encode(in, n, out, false);
}

int
tam_b64url_encode(const uint8_t *in, size_t n, char **out)
{
	return b64_encode(in, n, out, true);
}

/*
 * The same encodings into a caller's buffer, for data encoded piece by
 * piece (a streamed TA): pieces of whole 3-byte groups join into the
 * encoding of the whole.
 */
size_t
tam_b64_encode_to(const uint8_t *in, size_t n, char *out, bool url)
{
	static const char std[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char urlsafe[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *a = url ? urlsafe : std;
	size_t i = 0, o = 0;
	uint32_t v;

	for (; n - i >= 3; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = a[v & 63];
	}
	if (n - i > 0) {
		v = (uint32_t)in[i] << 16 | (n - i == 2 ? (uint32_t)in[i + 1] << 8 : 0);
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		if (n - i == 2)
			out[o++] = a[(v >> 6) & 63];
		else if (!url)
			out[o++] = '=';
		if (!url)
			out[o++] = '=';
	}
	return o;
}

static bool
is_b64_core(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int
tam_b64url_decode(const char *in, size_t n, uint8_t **out, size_t *outlen)
{
	cjose_err cerr;
	uint8_t *o = NULL;
	size_t ol = 0;

	*out = NULL;
	*outlen = 0;
	if (n % 4 == 1)
		return TAM_EMALFORMED;
	for (size_t i = 0; i < n; i++)
		if (!is_b64_core(in[i]) && in[i] != '-' && in[i] != '_')
			return TAM_EMALFORMED;
	if (n == 0) {
		o = malloc(1);
		if (o == NULL)
			return TAM_ENOMEM;
		o[0] = 0;
		*out = o;
		return TAM_OK;
	}
	if (!cjose_base64url_decode(in, n, &o, &ol, &cerr))
		return TAM_EMALFORMED;
	*out = o;
	*outlen = ol;
	return TAM_OK;
}

int
tam_b64_decode_any(const char *in, size_t n, uint8_t **out, size_t *outlen)
{
	size_t body = n, i;
	char *norm;
	int rc;

	*out = NULL;
	*outlen = 0;
	/* Up to two '=' of padding, only at the end, only where they fit. */
	while (body > 0 && in[body - 1] == '=' && n - body < 2)
		body--;
	if (n != body && n % 4 != 0)
		return TAM_EMALFORMED;
	norm = malloc(body + 1);
	if (norm == NULL)
		return TAM_ENOMEM;
	for (i = 0; i < body; i++) {
		char c = in[i];
		if (c == '+')
			c = '-';
		else if (c == '/')
			c = '_';
		else if (!is_b64_core(c) && c != '-' && c != '_') {
			free(norm);
			return TAM_EMALFORMED;
		}
		norm[i] = c;
	}
	norm[body] = '\0';
	rc = tam_b64url_decode(norm, body, out, outlen);
	free(norm);
	return rc;
}

void
tam_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
tam_hex_decode(const char *in, size_t n, uint8_t *out, size_t outlen)
{
	if (n != 2 * outlen)
		return TAM_EMALFORMED;
	for (size_t i = 0; i < outlen; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return TAM_EMALFORMED;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return TAM_OK;
}

int
tam_random(uint8_t *out, size_t n)
{
	if (n > INT_MAX || RAND_bytes(out, (int)n) != 1)
		return TAM_ECRYPTO;
	return TAM_OK;
}

int
tam_random_id(char out[TAM_RANDOM_ID_LEN])
{
	uint8_t r[16];
	char *s = NULL;
	int rc;

	if ((rc = tam_random(r, sizeof(r))) != TAM_OK)
		return rc;
	if ((rc = tam_b64url_encode(r, sizeof(r), &s)) != TAM_OK)
		return rc;
	rc = tam_strlcpy_checked(out, s, TAM_RANDOM_ID_LEN);
	free(s);
	return rc;
}

void
tam_sha256(const void *in, size_t n, uint8_t out[32])
{
	unsigned int len = 32;

	if (EVP_Digest(in, n, out, &len, EVP_sha256(), NULL) != 1)
		abort(); /* SHA-256 in the default provider cannot fail short of memory corruption */
}

bool
tam_secure_eq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void
tam_wipe(void *p, size_t n)
{
	if (p != NULL)
		OPENSSL_cleanse(p, n);
}

int
tam_file_read(const char *path, size_t max, uint8_t **out, size_t *len, struct tam_err *err)
{
	struct tam_buf b = { 0 };
	uint8_t chunk[8192];
	ssize_t r;
	int fd, rc = TAM_OK;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tam_err_set(err, errno == ENOENT ? TAM_ENOTFOUND : TAM_EIO,
		    "%s: %s", path, strerror(errno));
	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = tam_err_set(err, TAM_EIO, "%s: %s", path, strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if (b.len + (size_t)r > max) {
			rc = tam_err_set(err, TAM_ETOO_LARGE, "%s: larger than %zu bytes", path, max);
			break;
		}
		if (tam_buf_append(&b, chunk, (size_t)r) != TAM_OK) {
			rc = tam_err_set(err, TAM_ENOMEM, "%s: out of memory", path);
			break;
		}
	}
	close(fd);
	OPENSSL_cleanse(chunk, sizeof(chunk));
	if (rc != TAM_OK) {
		tam_buf_free(&b);
		return rc;
	}
	if (b.data == NULL && tam_buf_append(&b, "", 0) != TAM_OK)
		return tam_err_set(err, TAM_ENOMEM, "%s: out of memory", path);
	*out = b.data;
	*len = b.len;
	return TAM_OK;
}

int
tam_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
    struct tam_err *err)
{
	char tmp[PATH_MAX];
	const uint8_t *p = data;
	size_t off = 0;
	int fd, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return tam_err_set(err, TAM_EINVAL, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return tam_err_set(err, TAM_EIO, "%s: %s", tmp, strerror(errno));
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		fd = -1;
		goto fail;
	}
	return TAM_OK;
fail:
	n = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return tam_err_set(err, TAM_EIO, "%s: %s", path, strerror(n));
}

int
tam_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = pwrite(fd, b, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int
tam_pread_all(int fd, void *p, size_t n, uint64_t off)
{
	uint8_t *b = p;

	while (n > 0) {
		ssize_t r = pread(fd, b, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		b += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

int
tam_tmpfile(const char *dir, int *fd, struct tam_err *err)
{
	char path[4096];
	int n, f;

	*fd = -1;
	if (dir == NULL || dir[0] == '\0')
		dir = getenv("TMPDIR") != NULL && getenv("TMPDIR")[0] == '/' ? getenv("TMPDIR") : "/tmp";
	n = snprintf(path, sizeof(path), "%s/.otrp-spool-XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return tam_err_set(err, TAM_EINVAL, "spool directory path too long");
	if ((f = mkstemp(path)) < 0)
		return tam_err_set(err, TAM_EIO, "cannot create a spool file in %s: %s", dir,
		    strerror(errno));
	if (unlink(path) != 0) {
		int e = errno;
		close(f);
		return tam_err_set(err, TAM_EIO, "cannot unlink spool file %s: %s", path, strerror(e));
	}
	*fd = f;
	return TAM_OK;
}

int64_t
tam_now(void)
{
	return (int64_t)time(NULL);
}

int64_t
tam_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
tam_strlcpy_checked(char *dst, const char *src, size_t dstsize)
{
	size_t n = strlen(src);

	if (n >= dstsize)
		return TAM_EINVAL;
	memcpy(dst, src, n + 1);
	return TAM_OK;
}

int
tam_pem_no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

bool
tam_valid_name(const char *s, size_t max)
{
	size_t n = 0;

	if (s == NULL)
		return false;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		if (n + 1 >= max)
			return false;
		if (!is_b64_core(c) && c != '.' && c != '_' && c != ':' && c != '-')
			return false;
	}
	return n > 0;
}

bool
tam_list_has(const char *list, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; *p != '\0';) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, item, n) == 0)
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

static bool
field_bare(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '_' || c == ':' || c == '/' || c == '@' || c == '-';
}

int
tam_field_value(const char *v, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	bool bare = v[0] != '\0';
	size_t n = 0;

	for (const char *p = v; *p != '\0' && bare; p++)
		bare = field_bare((unsigned char)*p);
	if (bare) {
		n = strlen(v);
		if (n >= size)
			goto full;
		memcpy(out, v, n + 1);
		return (int)n;
	}
	if (size < 3)
		goto full;
	out[n++] = '"';
	for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
		if (n + 5 >= size)
			goto full;
		if (*p == '"' || *p == '\\') {
			out[n++] = '\\';
			out[n++] = (char)*p;
		} else if (*p < 0x20 || *p >= 0x7f) {
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 0xf];
		} else {
			out[n++] = (char)*p;
		}
	}
	out[n++] = '"';
	out[n] = '\0';
	return (int)n;
full:
	if (size > 0)
		out[0] = '\0';
	return -1;
}
