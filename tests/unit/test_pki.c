// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/pki. The group setup runs pki/otrp-pki.sh twice into a
 * temporary directory (PKI "a" is trusted, PKI "b" is an unrelated one) and
 * makes the negative fixtures with the openssl CLI, so every certificate
 * here is fresh and nothing secret is committed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/x509.h>

#include "tam/jose.h"
#include "tam/limits.h"
#include "tam/pki.h"
#include "tam/util.h"

#define TAMID "https://tam.unit.example/otrp"

struct fx {
	char dir[64];           /* mkdtemp root; "a" and "b" PKIs live under it */
	char script[4096];      /* path of otrp-pki.sh */
	struct pki_trust *trust; /* anchor: root of PKI a */
	X509 *root_a;           /* a/root/ca.crt */
	X509 *tee_ca;           /* a/tee/ca.crt */
	X509 *sp_ca;            /* a/sp/ca.crt */
	X509 *tee1;             /* RSA-2048 TEE leaf */
	X509 *tee_ec;           /* EC P-256 TEE leaf (issue --ec) */
	X509 *tee_old;          /* expired TEE leaf (issue --expired) */
	X509 *badku;            /* TEE leaf with keyEncipherment only */
	X509 *weak;             /* RSA-1024 TEE leaf */
	X509 *sha1;             /* TEE leaf signed with SHA-1 */
	X509 *codesign;         /* TEE-CA leaf, extendedKeyUsage codeSigning only */
	X509 *broker;           /* TEE-CA leaf, extendedKeyUsage clientAuth only */
	X509 *teeoid;           /* TEE-CA leaf, extendedKeyUsage TEE_OID only */
	X509 *teetls;           /* TEE-CA leaf, extendedKeyUsage clientAuth and TEE_OID */
	X509 *sp1;              /* SP leaf */
	X509 *tam;              /* TAM leaf, SAN URI = TAMID */
	X509 *root_b;           /* b/root/ca.crt */
	X509 *tee_ca_b;         /* b/tee/ca.crt */
	X509 *tee1_b;           /* b/tee/tee1.crt */
	X509 *dns_only;         /* self-signed, SAN dNSName only */
	X509 *dns_uri;          /* self-signed, SAN dNSName then URI */
};

static int
run(const struct fx *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Run a shell command, its output appended to DIR/setup.log. */
static int
run(const struct fx *f, const char *fmt, ...)
{
	char cmd[8192], full[8400];
	va_list ap;
	int n, st;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	n = snprintf(full, sizeof(full), "( %s ) >>'%s/setup.log' 2>&1", cmd, f->dir);
	if (n < 0 || (size_t)n >= sizeof(full))
		return -1;
	st = system(full);
	if (st != 0) {
		fprintf(stderr, "setup command failed (%d): %s\n", st, cmd);
		snprintf(full, sizeof(full), "tail -n 20 '%s/setup.log' >&2", f->dir);
		if (system(full) != 0)
			fprintf(stderr, "(no log)\n");
		return -1;
	}
	return 0;
}

static int
read_file(const struct fx *f, const char *rel, uint8_t **data, size_t *len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
	return tam_file_read(path, TAM_MAX_PEM_BYTES, data, len, NULL);
}

static X509 *
load(const struct fx *f, const char *rel)
{
	struct tam_err err = { 0 };
	uint8_t *data = NULL;
	size_t len = 0;
	X509 *x = NULL;

	if (read_file(f, rel, &data, &len) != TAM_OK)
		return NULL;
	if (pki_cert_load(data, len, &x, &err) != TAM_OK)
		fprintf(stderr, "%s: %s\n", rel, err.msg);
	free(data);
	return x;
}

static bool
find_script(struct fx *f)
{
	const char *e = getenv("TAM_PKI_SCRIPT");

	if (e != NULL)
		return tam_strlcpy_checked(f->script, e, sizeof(f->script)) == TAM_OK;
	e = getenv("TAM_BUILD_DIR");
	if (e != NULL) {
		snprintf(f->script, sizeof(f->script), "%s/../pki/otrp-pki.sh", e);
		if (access(f->script, R_OK) == 0)
			return true;
	}
	snprintf(f->script, sizeof(f->script), "pki/otrp-pki.sh");
	return access(f->script, R_OK) == 0;
}

/* A private-arc OID for the TEE extendedKeyUsage tests. */
#define TEE_OID "1.3.6.1.4.1.55555.7.1"

/* openssl CLI fixtures under a/tee, signed by the TEE CA of PKI a. */
#define LEAF_EXT "basicConstraints=critical,CA:FALSE\\nkeyUsage=critical,%s\\n" \
	"subjectKeyIdentifier=hash\\nauthorityKeyIdentifier=keyid:always\\n"

static int
make_leaf(const struct fx *f, const char *name, int bits, const char *ku, const char *md)
{
	return run(f, "cd '%s/a/tee' && "
	    "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:%d -out %s.key && "
	    "openssl req -new -key %s.key -subj '/O=OTrP Test/OU=TEE/CN=%s' -out %s.csr && "
	    "printf '" LEAF_EXT "' >%s.ext && "
	    "openssl x509 -req -in %s.csr -CA ca.crt -CAkey ca.key -set_serial 0x%x -%s "
	    "-days 30 -extfile %s.ext -out %s.crt",
	    f->dir, bits, name, name, name, name, ku, name, name, (unsigned)bits, md, name,
	    name);
}

static int
group_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	*state = f;
	snprintf(f->dir, sizeof(f->dir), "%s", "/tmp/test_pki.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	if (!find_script(f) || strchr(f->script, '\'') != NULL) {
		fprintf(stderr, "otrp-pki.sh not found: run from the source tree or set "
		    "TAM_PKI_SCRIPT or TAM_BUILD_DIR\n");
		return -1;
	}
	if (run(f, "sh '%s' --tamid '%s' '%s/a'", f->script, TAMID, f->dir) != 0 ||
	    run(f, "sh '%s' issue --ec '%s/a' tee tee-ec", f->script, f->dir) != 0 ||
	    run(f, "sh '%s' issue --expired '%s/a' tee tee-old", f->script, f->dir) != 0 ||
	    run(f, "sh '%s' '%s/b'", f->script, f->dir) != 0 ||
	    make_leaf(f, "badku", 2048, "keyEncipherment", "sha256") != 0 ||
	    make_leaf(f, "weak", 1024, "digitalSignature", "sha256") != 0 ||
	    make_leaf(f, "sha1", 2048, "digitalSignature", "sha1") != 0 ||
	    make_leaf(f, "codesign", 2048, "digitalSignature\\nextendedKeyUsage=codeSigning",
		"sha256") != 0 ||
	    make_leaf(f, "broker", 2048, "digitalSignature\\nextendedKeyUsage=clientAuth",
		"sha256") != 0 ||
	    make_leaf(f, "teeoid", 2048, "digitalSignature\\nextendedKeyUsage=" TEE_OID,
		"sha256") != 0 ||
	    make_leaf(f, "teetls", 2048, "digitalSignature\\nextendedKeyUsage=clientAuth,"
		TEE_OID, "sha256") != 0 ||
	    run(f, "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		"-nodes -keyout dns.key -subj /CN=cn.example.test -days 2 "
		"-addext subjectAltName=DNS:dns.example.test,email:x@example.test "
		"-out dns-only.crt && "
		"openssl req -x509 -key dns.key -subj /CN=cn.example.test -days 2 "
		"-addext subjectAltName=DNS:first.example.test,URI:urn:tam:second "
		"-out dns-uri.crt", f->dir) != 0)
		return -1;
	f->root_a = load(f, "a/root/ca.crt");
	f->tee_ca = load(f, "a/tee/ca.crt");
	f->sp_ca = load(f, "a/sp/ca.crt");
	f->tee1 = load(f, "a/tee/tee1.crt");
	f->tee_ec = load(f, "a/tee/tee-ec.crt");
	f->tee_old = load(f, "a/tee/tee-old.crt");
	f->badku = load(f, "a/tee/badku.crt");
	f->weak = load(f, "a/tee/weak.crt");
	f->sha1 = load(f, "a/tee/sha1.crt");
	f->codesign = load(f, "a/tee/codesign.crt");
	f->broker = load(f, "a/tee/broker.crt");
	f->teeoid = load(f, "a/tee/teeoid.crt");
	f->teetls = load(f, "a/tee/teetls.crt");
	f->sp1 = load(f, "a/sp/sp1.crt");
	f->tam = load(f, "a/tam/tam.crt");
	f->root_b = load(f, "b/root/ca.crt");
	f->tee_ca_b = load(f, "b/tee/ca.crt");
	f->tee1_b = load(f, "b/tee/tee1.crt");
	f->dns_only = load(f, "dns-only.crt");
	f->dns_uri = load(f, "dns-uri.crt");
	if (!f->root_a || !f->tee_ca || !f->sp_ca || !f->tee1 || !f->tee_ec || !f->tee_old ||
	    !f->badku || !f->weak || !f->sha1 || !f->sp1 || !f->tam || !f->root_b ||
	    !f->tee_ca_b || !f->tee1_b || !f->dns_only || !f->dns_uri || !f->codesign ||
	    !f->broker || !f->teeoid || !f->teetls)
		return -1;
	if (pki_trust_new(&f->trust, NULL) != TAM_OK ||
	    pki_trust_add(f->trust, f->root_a, NULL) != TAM_OK)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	int rc = 0;

	if (f == NULL)
		return 0;
	X509 *all[] = { f->root_a, f->tee_ca, f->sp_ca, f->tee1, f->tee_ec, f->tee_old, f->badku,
		f->weak, f->sha1, f->sp1, f->tam, f->root_b, f->tee_ca_b, f->tee1_b, f->dns_only,
		f->dns_uri, f->codesign, f->broker, f->teeoid, f->teetls };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		X509_free(all[i]);
	pki_trust_free(f->trust);
	if (f->dir[0] != '\0' && strcmp(f->dir, "/tmp/test_pki.XXXXXX") != 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
		rc = system(cmd) == 0 ? 0 : -1;
	}
	free(f);
	return rc;
}

/* A new stack holding references to the given certificates. */
static STACK_OF(X509) *
stack_of(X509 *a, X509 *b)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	assert_non_null(sk);
	assert_int_equal(X509_add_cert(sk, a, X509_ADD_FLAG_UP_REF), 1);
	if (b != NULL)
		assert_int_equal(X509_add_cert(sk, b, X509_ADD_FLAG_UP_REF), 1);
	return sk;
}

static int
verify(const struct fx *f, X509 *leaf, X509 *inter, int64_t now, struct tam_err *err)
{
	STACK_OF(X509) *sk = inter != NULL ? stack_of(inter, NULL) : NULL;
	int rc = pki_verify_chain(f->trust, leaf, sk, now, PKI_PURPOSE_SIGNER, err);

	sk_X509_pop_free(sk, X509_free);
	return rc;
}

/* ---- chain validation ---- */

static void
test_verify_rsa_leaf_ok(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	STACK_OF(X509) *chain = NULL;
	uint8_t *pem = NULL;
	size_t len = 0;
	X509 *leaf;

	assert_int_equal(verify(f, f->tee1, f->tee_ca, 0, &err), TAM_OK);
	/* the -chain.pem bundle is leaf + intermediate, ready for x5c */
	assert_int_equal(read_file(f, "a/tee/tee1-chain.pem", &pem, &len), TAM_OK);
	assert_int_equal(pki_certs_from_pem(pem, len, &chain, &err), TAM_OK);
	assert_int_equal(sk_X509_num(chain), 2);
	leaf = sk_X509_shift(chain);
	assert_int_equal(X509_cmp(leaf, f->tee1), 0);
	assert_int_equal(pki_verify_chain(f->trust, leaf, chain, 0, PKI_PURPOSE_SIGNER, &err), TAM_OK);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	free(pem);
}

static void
test_verify_ec_leaf_ok(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };

	assert_int_equal(verify(f, f->tee_ec, f->tee_ca, 0, &err), TAM_OK);
	assert_int_equal(verify(f, f->sp1, f->sp_ca, 0, &err), TAM_OK);
}

static void
test_verify_missing_intermediate(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };

	assert_int_equal(verify(f, f->tee1, NULL, 0, &err), TAM_ECERT_UNTRUSTED);
	assert_non_null(strstr(err.msg, "issuer"));
	assert_non_null(strstr(err.msg, "CN=tee1"));
	/* an intermediate of the wrong role does not help either */
	assert_int_equal(verify(f, f->tee1, f->sp_ca, 0, &err), TAM_ECERT_UNTRUSTED);
}

static void
test_verify_other_pki(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };

	/* same names as PKI a, other keys: the key identifiers do not match */
	assert_int_equal(verify(f, f->tee1_b, f->tee_ca_b, 0, &err), TAM_ECERT_UNTRUSTED);
	/* a's TEE CA did not sign b's leaf */
	assert_int_equal(verify(f, f->tee1_b, f->tee_ca, 0, &err), TAM_ECERT_UNTRUSTED);
	/* a self-signed certificate that is no anchor */
	assert_int_equal(verify(f, f->root_b, NULL, 0, &err), TAM_ECERT_UNTRUSTED);
	assert_non_null(strstr(err.msg, "self-signed"));
}

static void
test_verify_expired(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };

	assert_int_equal(verify(f, f->tee_old, f->tee_ca, 0, &err), TAM_ECERT_EXPIRED);
	assert_non_null(strstr(err.msg, "expired"));
	assert_non_null(strstr(err.msg, "CN=tee-old"));
	/* a valid leaf checked after its notAfter */
	assert_int_equal(verify(f, f->tee1, f->tee_ca, pki_cert_not_after(f->tee1) + 86400, &err),
	    TAM_ECERT_EXPIRED);
}

static void
test_verify_not_yet_valid(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	int64_t now = (int64_t)time(NULL);

	assert_int_equal(verify(f, f->tee1, f->tee_ca, now - 7 * 86400, &err), TAM_ECERT_EXPIRED);
	assert_non_null(strstr(err.msg, "not yet valid"));
	/* an explicit time inside every validity period passes */
	assert_int_equal(verify(f, f->tee1, f->tee_ca, now + 86400, &err), TAM_OK);
}

static void
test_verify_bad_key_usage(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };

	assert_int_equal(verify(f, f->badku, f->tee_ca, 0, &err), TAM_ECERT_INVALID);
	assert_non_null(strstr(err.msg, "digitalSignature"));
	assert_non_null(strstr(err.msg, "CN=badku"));
	/* a CA certificate is no signing leaf either */
	assert_int_equal(verify(f, f->tee_ca, NULL, 0, &err), TAM_ECERT_INVALID);
}

static void
test_verify_weak(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };

	assert_int_equal(verify(f, f->weak, f->tee_ca, 0, &err), TAM_ECERT_INVALID);
	assert_non_null(strstr(err.msg, "too weak"));
	assert_int_equal(verify(f, f->sha1, f->tee_ca, 0, &err), TAM_ECERT_INVALID);
	assert_non_null(strstr(err.msg, "too weak"));
}

/* Verify leaf under the TEE CA alone for purpose; the error code. */
static int
verify_for(const struct pki_trust *t, X509 *leaf, enum pki_purpose p, struct tam_err *err)
{
	return pki_verify_chain(t, leaf, NULL, 0, p, err);
}

/*
 * Purposes: a codeSigning-only leaf is no TLS client; a clientAuth-only
 * (broker) leaf is no TEE; a leaf without extendedKeyUsage is both; with a
 * TEE OID configured only a leaf listing it is a TEE.
 */
static void
test_verify_purpose(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	struct pki_trust *t = NULL;

	assert_int_equal(pki_trust_new(&t, &err), TAM_OK);
	assert_int_equal(pki_trust_add(t, f->tee_ca, &err), TAM_OK);
	assert_int_equal(verify_for(t, f->codesign, PKI_PURPOSE_SIGNER, &err), TAM_OK);
	assert_int_equal(verify_for(t, f->codesign, PKI_PURPOSE_TLS_CLIENT, &err), TAM_ECERT_INVALID);
	assert_non_null(strstr(err.msg, "lacks clientAuth"));
	assert_int_equal(verify_for(t, f->codesign, PKI_PURPOSE_TEE, &err), TAM_OK);
	assert_int_equal(verify_for(t, f->broker, PKI_PURPOSE_TLS_CLIENT, &err), TAM_OK);
	assert_int_equal(verify_for(t, f->broker, PKI_PURPOSE_TEE, &err), TAM_ECERT_INVALID);
	assert_non_null(strstr(err.msg, "not a TEE identity"));
	assert_int_equal(verify_for(t, f->tee1, PKI_PURPOSE_TLS_CLIENT, &err), TAM_OK);
	assert_int_equal(verify_for(t, f->tee1, PKI_PURPOSE_TEE, &err), TAM_OK);
	assert_int_equal(verify_for(t, f->teeoid, PKI_PURPOSE_TEE, &err), TAM_OK);

	assert_int_equal(pki_trust_set_tee_eku(t, "clientAuth", &err), TAM_EINVAL);
	assert_int_equal(pki_trust_set_tee_eku(t, TEE_OID, &err), TAM_OK);
	assert_int_equal(verify_for(t, f->teeoid, PKI_PURPOSE_TEE, &err), TAM_OK);
	assert_int_equal(verify_for(t, f->tee1, PKI_PURPOSE_TEE, &err), TAM_ECERT_INVALID);
	assert_non_null(strstr(err.msg, "trust.tee_eku"));
	assert_int_equal(verify_for(t, f->broker, PKI_PURPOSE_TEE, &err), TAM_ECERT_INVALID);
	/* the OID does not make a TLS client certificate a TEE */
	assert_int_equal(verify_for(t, f->teetls, PKI_PURPOSE_TEE, &err), TAM_ECERT_INVALID);
	assert_non_null(strstr(err.msg, "names TLS"));
	/* The OID is for TEEs only: other purposes are unchanged. */
	assert_int_equal(verify_for(t, f->tee1, PKI_PURPOSE_TLS_CLIENT, &err), TAM_OK);
	assert_int_equal(pki_trust_set_tee_eku(t, "", &err), TAM_OK);
	assert_int_equal(verify_for(t, f->tee1, PKI_PURPOSE_TEE, &err), TAM_OK);
	pki_trust_free(t);
}

static void
test_verify_chain_too_long(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	STACK_OF(X509) *sk = sk_X509_new_null();

	assert_non_null(sk);
	for (int i = 0; i < TAM_MAX_CHAIN_CERTS; i++)
		assert_int_equal(X509_add_cert(sk, f->tee_ca, X509_ADD_FLAG_UP_REF), 1);
	assert_int_equal(pki_verify_chain(f->trust, f->tee1, sk, 0, PKI_PURPOSE_SIGNER, &err),
	    TAM_ECERT_INVALID);
	sk_X509_pop_free(sk, X509_free);
}

static void
test_trust_anchor_must_be_ca(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	struct pki_trust *t = NULL;

	assert_int_equal(pki_trust_new(&t, &err), TAM_OK);
	assert_int_equal(pki_trust_count(t), 0);
	assert_int_equal(pki_trust_add(t, f->tee1, &err), TAM_ECERT_INVALID);
	assert_non_null(strstr(err.msg, "not a CA"));
	assert_int_equal(pki_trust_count(t), 0);
	assert_int_equal(pki_trust_add(t, f->root_a, &err), TAM_OK);
	assert_int_equal(pki_trust_add(t, f->root_a, &err), TAM_OK);
	assert_int_equal(pki_trust_count(t), 1);
	assert_int_equal(pki_trust_add(t, f->root_b, &err), TAM_OK);
	assert_int_equal(pki_trust_count(t), 2);
	pki_trust_free(t);
	pki_trust_free(NULL);
}

static void
test_trust_role_ca_alone(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	struct pki_trust *t = NULL;
	STACK_OF(X509) *sk;

	/* trusting the TEE CA alone accepts TEE leaves but not SP leaves of the same root */
	assert_int_equal(pki_trust_new(&t, &err), TAM_OK);
	assert_int_equal(pki_trust_add(t, f->tee_ca, &err), TAM_OK);
	assert_int_equal(pki_verify_chain(t, f->tee1, NULL, 0, PKI_PURPOSE_SIGNER, &err), TAM_OK);
	sk = stack_of(f->sp_ca, f->root_a);
	assert_int_equal(pki_verify_chain(t, f->sp1, sk, 0, PKI_PURPOSE_SIGNER, &err),
	    TAM_ECERT_UNTRUSTED);
	sk_X509_pop_free(sk, X509_free);
	pki_trust_free(t);
}

/* ---- parsing and identities ---- */

static void
test_pem_parsing(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	STACK_OF(X509) *sk = NULL;
	uint8_t *pem = NULL, *cut;
	size_t len = 0;
	X509 *x = NULL;
	const char *garbage = "hello, not a certificate\n";

	assert_int_equal(read_file(f, "a/tam/tam-chain.pem", &pem, &len), TAM_OK);
	assert_int_equal(pki_certs_from_pem(pem, len, &sk, &err), TAM_OK);
	assert_int_equal(sk_X509_num(sk), 2);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), f->tam), 0);
	sk_X509_pop_free(sk, X509_free);
	/* one certificate was asked for, two were given */
	assert_int_equal(pki_cert_load(pem, len, &x, &err), TAM_EINVAL);
	assert_null(x);
	/* cut inside the second block */
	cut = pem + len - 100;
	assert_int_equal(pki_certs_from_pem(pem, (size_t)(cut - pem), &sk, &err), TAM_EMALFORMED);
	assert_null(sk);
	free(pem);
	assert_int_equal(pki_certs_from_pem((const uint8_t *)garbage, strlen(garbage), &sk, &err),
	    TAM_EMALFORMED);
	assert_int_equal(pki_certs_from_pem((const uint8_t *)"", 0, &sk, &err), TAM_EMALFORMED);
	assert_int_equal(pki_cert_load((const uint8_t *)garbage, strlen(garbage), &x, &err),
	    TAM_EMALFORMED);
	assert_null(x);
}

static void
test_der_parsing(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	uint8_t *der = NULL, *longer;
	size_t len = 0;
	X509 *x = NULL;
	const uint8_t junk[] = { 0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x00 };

	assert_int_equal(run(f, "openssl x509 -in '%s/a/tee/tee1.crt' -outform DER -out '%s/tee1.der'",
	    f->dir, f->dir), 0);
	assert_int_equal(read_file(f, "tee1.der", &der, &len), TAM_OK);
	assert_int_equal(pki_cert_load(der, len, &x, &err), TAM_OK);
	assert_int_equal(X509_cmp(x, f->tee1), 0);
	X509_free(x);
	x = NULL;
	assert_int_equal(pki_cert_from_der(der, len, &x, &err), TAM_OK);
	X509_free(x);
	x = NULL;
	longer = malloc(len + 1);
	assert_non_null(longer);
	memcpy(longer, der, len);
	longer[len] = 0;
	assert_int_equal(pki_cert_from_der(longer, len + 1, &x, &err), TAM_EMALFORMED);
	assert_non_null(strstr(err.msg, "trailing"));
	assert_int_equal(pki_cert_from_der(der, len - 1, &x, &err), TAM_EMALFORMED);
	assert_null(x);
	free(longer);
	free(der);
	assert_int_equal(pki_cert_load(junk, sizeof(junk), &x, &err), TAM_EMALFORMED);
	assert_int_equal(pki_cert_from_der(junk, 0, &x, &err), TAM_EMALFORMED);
	assert_null(x);
	/* our own DER encoding round-trips */
	assert_int_equal(pki_cert_to_der(f->tee_ec, &der, &len, &err), TAM_OK);
	assert_int_equal(pki_cert_from_der(der, len, &x, &err), TAM_OK);
	assert_int_equal(X509_cmp(x, f->tee_ec), 0);
	X509_free(x);
	free(der);
}

static void
test_sha256_matches_openssl(void **state)
{
	struct fx *f = *state;
	uint8_t h[32];
	char hex[65], cmd[512], line[128] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "openssl x509 -in '%s/a/tee/tee1.crt' -outform DER | sha256sum",
	    f->dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	assert_int_equal(pclose(p), 0);
	assert_int_equal(pki_cert_sha256(f->tee1, h), TAM_OK);
	tam_hex_encode(h, sizeof(h), hex);
	assert_memory_equal(line, hex, 64);
	/* and differs for another certificate */
	assert_int_equal(pki_cert_sha256(f->tee_ec, h), TAM_OK);
	tam_hex_encode(h, sizeof(h), hex);
	assert_memory_not_equal(line, hex, 64);
}

static void
test_tamid(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	char id[128], tiny[8];

	assert_int_equal(pki_cert_tamid(f->tam, id, sizeof(id), &err), TAM_OK);
	assert_string_equal(id, TAMID);
	/* exactly fitting, then one byte short */
	assert_int_equal(pki_cert_tamid(f->tam, id, strlen(TAMID) + 1, &err), TAM_OK);
	assert_int_equal(pki_cert_tamid(f->tam, id, strlen(TAMID), &err), TAM_ETOO_LARGE);
	assert_int_equal(pki_cert_tamid(f->tam, tiny, sizeof(tiny), &err), TAM_ETOO_LARGE);
	/* URI before dNSName whatever the order in the SAN; dNSName before CN */
	assert_int_equal(pki_cert_tamid(f->dns_uri, id, sizeof(id), &err), TAM_OK);
	assert_string_equal(id, "urn:tam:second");
	assert_int_equal(pki_cert_tamid(f->dns_only, id, sizeof(id), &err), TAM_OK);
	assert_string_equal(id, "dns.example.test");
	/* no SAN: the subject CN */
	assert_int_equal(pki_cert_tamid(f->tee1, id, sizeof(id), &err), TAM_OK);
	assert_string_equal(id, "tee1");
}

static void
test_cert_properties(void **state)
{
	struct fx *f = *state;
	char subj[256], tiny[10];
	int64_t na = pki_cert_not_after(f->tee1), now = (int64_t)time(NULL);

	assert_true(pki_cert_is_ca(f->root_a));
	assert_true(pki_cert_is_ca(f->tee_ca));
	assert_false(pki_cert_is_ca(f->tee1));
	assert_true(pki_cert_is_self_signed(f->root_a));
	assert_false(pki_cert_is_self_signed(f->tee_ca));
	assert_false(pki_cert_is_self_signed(f->tee1));
	pki_cert_subject(f->tee1, subj, sizeof(subj));
	assert_string_equal(subj, "CN=tee1,OU=TEE,O=OTrP Test");
	pki_cert_subject(f->tee1, tiny, sizeof(tiny));
	assert_string_equal(tiny, "CN=tee1,O");
	/* 825 days from issue, give or take a few minutes */
	assert_true(na > now + 824 * 86400 && na <= now + 825 * 86400);
	assert_true(pki_cert_not_after(f->tee_old) < now);
}

static void
test_cert_public_key(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	struct jose_key *pub = NULL, *priv = NULL, *other = NULL;
	uint8_t *pem = NULL;
	size_t len = 0;

	assert_int_equal(pki_cert_public_key(f->tee_ec, &pub, &err), TAM_OK);
	assert_false(jose_key_is_private(pub));
	assert_int_equal(jose_key_type(pub), JOSE_KTY_EC_P256);
	assert_int_equal(read_file(f, "a/tee/tee-ec.key", &pem, &len), TAM_OK);
	assert_int_equal(jose_key_from_pem(pem, len, &priv, &err), TAM_OK);
	assert_true(jose_key_equal_public(pub, priv));
	assert_int_equal(pki_cert_public_key(f->tee1, &other, &err), TAM_OK);
	assert_int_equal(jose_key_type(other), JOSE_KTY_RSA);
	assert_false(jose_key_equal_public(pub, other));
	tam_wipe(pem, len);
	free(pem);
	jose_key_free(pub);
	jose_key_free(priv);
	jose_key_free(other);
}

/* ---- signer ---- */

static int
load_signer(const struct fx *f, const char *key, const char *chain, const char *tamid,
    struct pki_signer **s, struct tam_err *err)
{
	char path[512];
	uint8_t *pem = NULL;
	size_t len = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", f->dir, key);
	rc = read_file(f, chain, &pem, &len);
	assert_int_equal(rc, TAM_OK);
	rc = pki_signer_load(path, pem, len, tamid, s, err);
	free(pem);
	return rc;
}

static void
test_signer_load(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	struct pki_signer *s = NULL;
	uint8_t *der = NULL, *dec = NULL;
	size_t len = 0, dlen = 0;
	const json_t *x5c;
	X509 *want[2];

	assert_int_equal(load_signer(f, "a/tam/tam.key", "a/tam/tam-chain.pem", NULL, &s, &err),
	    TAM_OK);
	assert_string_equal(pki_signer_tamid(s), TAMID);
	assert_string_equal(pki_signer_alg(s), "RS256");
	assert_int_equal(X509_cmp(pki_signer_cert(s), f->tam), 0);
	assert_false(jose_key_is_private(pki_signer_public(s)));
	assert_int_equal(sk_X509_num(pki_signer_chain(s)), 2);
	/* x5c: standard base64 DER of leaf then intermediate */
	x5c = pki_signer_x5c(s);
	assert_true(json_is_array(x5c));
	assert_int_equal(json_array_size(x5c), 2);
	want[0] = f->tam;
	want[1] = load(f, "a/tam/ca.crt");
	assert_non_null(want[1]);
	for (size_t i = 0; i < 2; i++) {
		const char *b64 = json_string_value(json_array_get(x5c, i));

		assert_non_null(b64);
		assert_null(strchr(b64, '-'));
		assert_null(strchr(b64, '_'));
		assert_int_equal(tam_b64_decode_any(b64, strlen(b64), &dec, &dlen), TAM_OK);
		assert_int_equal(pki_cert_to_der(want[i], &der, &len, &err), TAM_OK);
		assert_int_equal(dlen, len);
		assert_memory_equal(dec, der, len);
		free(dec);
		free(der);
	}
	X509_free(want[1]);
	pki_signer_free(s);
	pki_signer_free(NULL);

	/* an explicit tamid wins over the certificate */
	assert_int_equal(load_signer(f, "a/tam/tam.key", "a/tam/tam-chain.pem", "urn:x:tam",
	    &s, &err), TAM_OK);
	assert_string_equal(pki_signer_tamid(s), "urn:x:tam");
	pki_signer_free(s);
	s = NULL;

	/* EC leaf signs with ES256 */
	assert_int_equal(load_signer(f, "a/tee/tee-ec.key", "a/tee/tee-ec-chain.pem", NULL, &s,
	    &err), TAM_OK);
	assert_string_equal(pki_signer_alg(s), "ES256");
	assert_string_equal(pki_signer_tamid(s), "tee-ec");
	pki_signer_free(s);
}

static void
test_signer_drops_root(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	struct pki_signer *s = NULL;

	assert_int_equal(run(f, "cd '%s' && cat a/tam/tam.crt a/tam/ca.crt a/root/ca.crt >full.pem "
	    "&& cat a/tam/tam.crt a/sp/ca.crt >wrong.pem", f->dir), 0);
	assert_int_equal(load_signer(f, "a/tam/tam.key", "full.pem", NULL, &s, &err), TAM_OK);
	assert_int_equal(sk_X509_num(pki_signer_chain(s)), 2);
	assert_int_equal(json_array_size(pki_signer_x5c(s)), 2);
	pki_signer_free(s);
	s = NULL;
	/* an intermediate that did not issue the leaf */
	assert_int_equal(load_signer(f, "a/tam/tam.key", "wrong.pem", NULL, &s, &err), TAM_EINVAL);
	assert_null(s);
}

static void
test_signer_key_mode(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	struct pki_signer *s = NULL;
	char path[512];

	assert_int_equal(run(f, "cp '%s/a/tam/tam.key' '%s/open.key' && chmod 0644 '%s/open.key'",
	    f->dir, f->dir, f->dir), 0);
	assert_int_equal(load_signer(f, "open.key", "a/tam/tam-chain.pem", NULL, &s, &err),
	    TAM_EINVAL);
	assert_non_null(strstr(err.msg, "must be mode 0600"));
	assert_null(s);
	snprintf(path, sizeof(path), "%s/open.key", f->dir);
	/* 0640 is refused too; 0400 is fine */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(load_signer(f, "open.key", "a/tam/tam-chain.pem", NULL, &s, &err),
	    TAM_EINVAL);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(load_signer(f, "open.key", "a/tam/tam-chain.pem", NULL, &s, &err), TAM_OK);
	pki_signer_free(s);
	s = NULL;
	assert_int_equal(load_signer(f, "missing.key", "a/tam/tam-chain.pem", NULL, &s, &err),
	    TAM_ENOTFOUND);
	assert_null(s);
}

static void
test_signer_mismatch(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	struct pki_signer *s = NULL;

	assert_int_equal(load_signer(f, "a/tam/tam.key", "a/sp/sp1-chain.pem", NULL, &s, &err),
	    TAM_EINVAL);
	assert_non_null(strstr(err.msg, "does not match"));
	assert_null(s);
	/* a public key file is no signer key */
	assert_int_equal(run(f, "cd '%s' && openssl pkey -in a/tam/tam.key -pubout -out pub.key "
	    "&& chmod 0600 pub.key", f->dir), 0);
	assert_int_equal(load_signer(f, "pub.key", "a/tam/tam-chain.pem", NULL, &s, &err),
	    TAM_EINVAL);
	assert_non_null(strstr(err.msg, "no private key"));
	assert_null(s);
}

static void
test_signer_sign_verify(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	struct pki_signer *s = NULL;
	struct jose_key *pub = NULL, *other = NULL;
	struct jose_jws *jws = NULL;
	const uint8_t msg[] = "{\"GetDeviceStateTBSRequest\":{\"ver\":\"1.0\"}}";
	const uint8_t *pl;
	json_t *out = NULL;
	size_t n = 0;

	assert_int_equal(load_signer(f, "a/tam/tam.key", "a/tam/tam-chain.pem", NULL, &s, &err),
	    TAM_OK);
	assert_int_equal(pki_signer_sign(s, NULL, true, msg, sizeof(msg) - 1, &out, &err), TAM_OK);
	assert_int_equal(jose_jws_parse(out, &jws, &err), TAM_OK);
	assert_string_equal(jose_jws_alg(jws), "RS256");
	assert_non_null(jose_jws_unprotected(jws));
	assert_true(json_equal(json_object_get(jose_jws_unprotected(jws), "x5c"),
	    (json_t *)pki_signer_x5c(s)));
	pl = jose_jws_payload_unverified(jws, &n);
	assert_int_equal(n, sizeof(msg) - 1);
	assert_memory_equal(pl, msg, n);
	assert_int_equal(pki_cert_public_key(f->tam, &pub, &err), TAM_OK);
	assert_int_equal(jose_jws_verify(jws, pub, &err), TAM_OK);
	/* another RSA key must not verify it */
	assert_int_equal(pki_cert_public_key(f->tee1, &other, &err), TAM_OK);
	assert_int_not_equal(jose_jws_verify(jws, other, &err), TAM_OK);
	jose_jws_free(jws);
	json_decref(out);
	out = NULL;
	/* without x5c there is no unprotected header */
	assert_int_equal(pki_signer_sign(s, NULL, false, msg, sizeof(msg) - 1, &out, &err), TAM_OK);
	assert_null(json_object_get(out, "header"));
	json_decref(out);
	jose_key_free(pub);
	jose_key_free(other);
	pki_signer_free(s);
}

static void
test_signer_decrypt(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	struct pki_signer *s = NULL, *sp = NULL;
	const uint8_t msg[] = "device state information";
	json_t *jwe = NULL;
	uint8_t *pt = NULL;
	size_t n = 0;

	assert_int_equal(load_signer(f, "a/tam/tam.key", "a/tam/tam-chain.pem", NULL, &s, &err),
	    TAM_OK);
	assert_int_equal(jose_jwe_encrypt(pki_signer_public(s), JOSE_ALG_RSA_OAEP,
	    JOSE_ENC_A128CBC_HS256, JOSE_JWE_GENERAL, msg, sizeof(msg) - 1, &jwe, &err), TAM_OK);
	assert_int_equal(pki_signer_decrypt(s, jwe, &pt, &n, &err), TAM_OK);
	assert_int_equal(n, sizeof(msg) - 1);
	assert_memory_equal(pt, msg, n);
	free(pt);
	pt = NULL;
	/* another private key cannot open it */
	assert_int_equal(load_signer(f, "a/sp/sp1.key", "a/sp/sp1-chain.pem", NULL, &sp, &err),
	    TAM_OK);
	assert_int_equal(pki_signer_decrypt(sp, jwe, &pt, &n, &err), TAM_EDECRYPT);
	assert_null(pt);
	json_decref(jwe);
	pki_signer_free(sp);
	pki_signer_free(s);
}

/* CRLs: a revoked leaf is refused, others pass, an expired CRL fails closed, bad CRLs parse as errors. */
static void
test_crl(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	struct pki_trust *t = NULL;
	STACK_OF(X509_CRL) *crls = NULL, *again = NULL;
	STACK_OF(X509) *sk;
	uint8_t *pem = NULL, *der = NULL, *p;
	size_t len = 0;
	int n;

	assert_int_equal(run(f, "sh '%s' revoke '%s/a' tee tee1", f->script, f->dir), 0);
	assert_int_equal(read_file(f, "a/tee/ca.crl", &pem, &len), TAM_OK);
	assert_int_equal(pki_crls_load(pem, len, &crls, &err), TAM_OK);
	assert_int_equal(sk_X509_CRL_num(crls), 1);
	/* the same CRL in DER */
	n = i2d_X509_CRL(sk_X509_CRL_value(crls, 0), NULL);
	assert_true(n > 0);
	der = p = malloc((size_t)n);
	assert_non_null(der);
	assert_int_equal(i2d_X509_CRL(sk_X509_CRL_value(crls, 0), &p), n);
	assert_int_equal(pki_crls_load(der, (size_t)n, &again, &err), TAM_OK);
	assert_int_equal(sk_X509_CRL_num(again), 1);
	sk_X509_CRL_pop_free(again, X509_CRL_free);
	again = NULL;
	assert_int_equal(pki_crls_load(der, (size_t)n - 1, &again, &err), TAM_EMALFORMED);
	assert_int_equal(pki_crls_load((const uint8_t *)"junk", 4, &again, &err), TAM_EMALFORMED);
	assert_int_equal(pki_crls_load(pem, 0, &again, &err), TAM_EMALFORMED);
	assert_null(again);

	assert_int_equal(pki_trust_new(&t, NULL), TAM_OK);
	assert_int_equal(pki_trust_add(t, f->root_a, NULL), TAM_OK);
	assert_int_equal(pki_trust_add_crl(t, sk_X509_CRL_value(crls, 0), NULL), TAM_OK);
	assert_int_equal(pki_trust_count(t), 1);
	assert_int_equal(pki_trust_crl_count(t), 1);
	sk = stack_of(f->tee_ca, NULL);
	assert_int_equal(pki_verify_chain(t, f->tee1, sk, 0, PKI_PURPOSE_SIGNER, &err), TAM_ECERT_REVOKED);
	assert_non_null(strstr(err.msg, "revoked"));
	/* not listed: passes (only the leaf is checked; the tee CA has no CRL from the root anyway) */
	assert_int_equal(pki_verify_chain(t, f->tee_ec, sk, 0, PKI_PURPOSE_SIGNER, &err), TAM_OK);
	/* the CRL is good for 30 days: after that the chain fails, it does not pass unchecked */
	assert_int_equal(pki_verify_chain(t, f->tee_ec, sk, tam_now() + 40 * 86400,
	    PKI_PURPOSE_SIGNER, &err),
	    TAM_ECERT_INVALID);
	assert_non_null(strstr(err.msg, "CRL"));
	/* another PKI's leaf is untrusted, not revoked */
	sk_X509_pop_free(sk, X509_free);
	sk = stack_of(f->tee_ca_b, NULL);
	assert_int_equal(pki_verify_chain(t, f->tee1_b, sk, 0, PKI_PURPOSE_SIGNER, &err),
	    TAM_ECERT_UNTRUSTED);
	sk_X509_pop_free(sk, X509_free);
	pki_trust_free(t);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	free(der);
	free(pem);
}

/* OCSP: the TAM's staple (order, status, dates) and a relying party's full check. */
static void
test_ocsp(void **state)
{
	struct fx *f = *state;
	struct tam_err err = { 0 };
	uint8_t *leaf_der = NULL, *ca_der = NULL, *pem = NULL, *old_leaf = NULL;
	size_t leaf_len = 0, ca_len = 0, len = 0, old_leaf_len = 0;
	STACK_OF(X509) *chain = NULL;
	json_t *good = NULL;
	X509 *tam_c, *tam_ca_c;
	int64_t now = tam_now();

	assert_int_equal(run(f, "sh '%s' '%s/c' && sh '%s' ocsp '%s/c'", f->script, f->dir,
	    f->script, f->dir), 0);
	assert_int_equal(read_file(f, "c/tam/ocsp/tam.der", &leaf_der, &leaf_len), TAM_OK);
	assert_int_equal(read_file(f, "c/tam/ocsp/ca.der", &ca_der, &ca_len), TAM_OK);
	assert_int_equal(read_file(f, "c/tam/tam-chain.pem", &pem, &len), TAM_OK);
	assert_int_equal(pki_certs_from_pem(pem, len, &chain, &err), TAM_OK);
	assert_int_equal(sk_X509_num(chain), 2);
	tam_c = sk_X509_value(chain, 0);
	tam_ca_c = sk_X509_value(chain, 1);

	/* in whatever order the files come, the staple is in chain order */
	{
		const uint8_t *ders[2] = { ca_der, leaf_der };
		size_t lens[2] = { ca_len, leaf_len };
		char *b64 = NULL;
		assert_int_equal(pki_ocsp_staple(chain, ders, lens, 2, now, &good, &err), TAM_OK);
		assert_int_equal(json_array_size(good), 2);
		assert_int_equal(tam_b64_encode(leaf_der, leaf_len, &b64), TAM_OK);
		assert_string_equal(json_string_value(json_array_get(good, 0)), b64);
		free(b64);
		json_decref(good);
		/* a week and a day later they are stale: none passes */
		assert_int_equal(pki_ocsp_staple(chain, ders, lens, 2, now + 8 * 86400, &good, &err),
		    TAM_ECERT_EXPIRED);
		assert_non_null(strstr(err.msg, "expired"));
		assert_int_equal(json_array_size(good), 0);
		json_decref(good);
		/* one missing: the other still goes out, the problem is named */
		assert_int_equal(pki_ocsp_staple(chain, ders, lens, 1, now, &good, &err),
		    TAM_ECERT_EXPIRED);
		assert_non_null(strstr(err.msg, "no response"));
		assert_int_equal(json_array_size(good), 1);
		json_decref(good);
		/* a response with a byte after it is not one response (and is freed) */
		{
			uint8_t *longer = malloc(leaf_len + 1);
			assert_non_null(longer);
			memcpy(longer, leaf_der, leaf_len);
			longer[leaf_len] = 0;
			ders[1] = longer;
			lens[1] = leaf_len + 1;
			assert_int_equal(pki_ocsp_staple(chain, ders, lens, 2, now, &good, &err),
			    TAM_EMALFORMED);
			assert_non_null(strstr(err.msg, "not one DER OCSP response"));
			json_decref(good);
			free(longer);
		}
		/* not an OCSP response */
		ders[1] = (const uint8_t *)"junk";
		lens[1] = 4;
		assert_int_equal(pki_ocsp_staple(chain, ders, lens, 2, now, &good, &err),
		    TAM_EMALFORMED);
		json_decref(good);
	}

	/* the relying party: signature to its anchor, the certificate named, good, current */
	assert_int_equal(pki_ocsp_check(f->trust, leaf_der, leaf_len, tam_c, tam_ca_c, chain, now,
	    &err), TAM_ECERT_UNTRUSTED);   /* PKI c's root is not PKI a's */
	{
		struct pki_trust *tc = NULL;
		X509 *root_c = load(f, "c/root/ca.crt");
		assert_non_null(root_c);
		assert_int_equal(pki_trust_new(&tc, NULL), TAM_OK);
		assert_int_equal(pki_trust_add(tc, root_c, NULL), TAM_OK);
		assert_int_equal(pki_ocsp_check(tc, leaf_der, leaf_len, tam_c, tam_ca_c, chain, now,
		    &err), TAM_OK);
		assert_int_equal(pki_ocsp_check(tc, ca_der, ca_len, tam_ca_c, root_c, chain, now, &err),
		    TAM_OK);
		assert_int_equal(pki_ocsp_check(tc, leaf_der, leaf_len, tam_c, tam_ca_c, chain,
		    now + 8 * 86400, &err), TAM_ECERT_EXPIRED);
		/* the CA's response does not speak for the leaf */
		assert_int_equal(pki_ocsp_check(tc, ca_der, ca_len, tam_c, tam_ca_c, chain, now, &err),
		    TAM_ECERT_UNTRUSTED);
		/* revoked */
		assert_int_equal(run(f, "sh '%s' revoke '%s/c' tam tam && sh '%s' ocsp '%s/c'",
		    f->script, f->dir, f->script, f->dir), 0);
		old_leaf = leaf_der;
		old_leaf_len = leaf_len;
		leaf_der = NULL;
		assert_int_equal(read_file(f, "c/tam/ocsp/tam.der", &leaf_der, &leaf_len), TAM_OK);
		assert_int_equal(pki_ocsp_check(tc, leaf_der, leaf_len, tam_c, tam_ca_c, chain, now,
		    &err), TAM_ECERT_REVOKED);
		{
			const uint8_t *ders[1] = { leaf_der };
			size_t lens[1] = { leaf_len };
			assert_int_equal(pki_ocsp_staple(chain, ders, lens, 1, now, &good, &err),
			    TAM_ECERT_REVOKED);
			json_decref(good);
		}
		/* an older good response beside the revoked one does not hide it */
		{
			const uint8_t *ders[3] = { old_leaf, leaf_der, ca_der };
			size_t lens[3] = { old_leaf_len, leaf_len, ca_len };
			assert_int_equal(pki_ocsp_staple(chain, ders, lens, 3, now, &good, &err),
			    TAM_ECERT_REVOKED);
			assert_non_null(strstr(err.msg, "revoked"));
			assert_int_equal(json_array_size(good), 1);
			json_decref(good);
			/* and of two good ones, either serves: the staple is complete */
			ders[1] = old_leaf;
			lens[1] = old_leaf_len;
			assert_int_equal(pki_ocsp_staple(chain, ders, lens, 3, now, &good, &err), TAM_OK);
			assert_int_equal(json_array_size(good), 2);
			json_decref(good);
		}
		pki_trust_free(tc);
		X509_free(root_c);
	}
	sk_X509_pop_free(chain, X509_free);
	free(pem);
	free(leaf_der);
	free(old_leaf);
	free(ca_der);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_rsa_leaf_ok),
		cmocka_unit_test(test_verify_ec_leaf_ok),
		cmocka_unit_test(test_verify_missing_intermediate),
		cmocka_unit_test(test_verify_purpose),
		cmocka_unit_test(test_verify_other_pki),
		cmocka_unit_test(test_verify_expired),
		cmocka_unit_test(test_verify_not_yet_valid),
		cmocka_unit_test(test_verify_bad_key_usage),
		cmocka_unit_test(test_verify_weak),
		cmocka_unit_test(test_verify_chain_too_long),
		cmocka_unit_test(test_trust_anchor_must_be_ca),
		cmocka_unit_test(test_trust_role_ca_alone),
		cmocka_unit_test(test_crl),
		cmocka_unit_test(test_ocsp),
		cmocka_unit_test(test_pem_parsing),
		cmocka_unit_test(test_der_parsing),
		cmocka_unit_test(test_sha256_matches_openssl),
		cmocka_unit_test(test_tamid),
		cmocka_unit_test(test_cert_properties),
		cmocka_unit_test(test_cert_public_key),
		cmocka_unit_test(test_signer_load),
		cmocka_unit_test(test_signer_drops_root),
		cmocka_unit_test(test_signer_key_mode),
		cmocka_unit_test(test_signer_mismatch),
		cmocka_unit_test(test_signer_sign_verify),
		cmocka_unit_test(test_signer_decrypt),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
