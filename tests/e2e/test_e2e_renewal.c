// SPDX-License-Identifier: MIT
/*
 * TEE certificates end to end: what a certificate must be for, and renewal.
 * A broker's TLS client certificate (extendedKeyUsage clientAuth) issued by
 * the TEE CA is not a TEE and registers nothing. A new certificate for the
 * key of a known device, chaining to the TEE CA, unrevoked and fit for a
 * TEE, is a renewal: the same device record (id, name, assignments, history)
 * with the new certificate and did, audited; the same key under an
 * untrusted CA, a revoked certificate or a TLS one is refused and changes
 * nothing. A raw-key device that presents a trusted certificate for its key
 * is renewed the same way. With trust.tee_eku, only certificates listing it
 * are TEEs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "e2e.h"
#include "tam/pki.h"
#include "tam/util.h"

/* A private-arc OID for trust.tee_eku. */
#define TEE_OID "1.3.6.1.4.1.55555.7.1"

static struct e2e_env env;
static char opt_dir[400];

/*
 * A certificate for key (a path), issued by the TEE CA of the PKI pki:
 * serial, and extendedKeyUsage eku ("" for none), as NAME.crt in dir.
 */
static int
reissue(const char *pki, const char *key, const char *name, unsigned serial, const char *eku)
{
	return e2e_sh("cd %s && openssl req -new -key %s -subj '/O=OTrP Test/OU=TEE/CN=%s' "
	    "-out %s.csr 2>/dev/null && printf 'basicConstraints=critical,CA:FALSE\\n"
	    "keyUsage=critical,digitalSignature,keyEncipherment\\nsubjectKeyIdentifier=hash\\n"
	    "authorityKeyIdentifier=keyid:always\\n%s%s\\n' >%s.ext && "
	    "openssl x509 -req -in %s.csr -CA %s/tee/ca.crt -CAkey %s/tee/ca.key -set_serial %u "
	    "-days 30 -sha256 -extfile %s.ext -out %s.crt 2>/dev/null", env.dir, key, name, name,
	    eku[0] != '\0' ? "extendedKeyUsage=" : "", eku, name, name, pki, pki, serial, name,
	    name);
}

static int
group_setup(void **state)
{
	const char *b = getenv("TAM_BUILD_DIR");
	const char *extra[] = { "-o", opt_dir, NULL };
	char anchors[320], key[320];

	(void)state;
	if (b == NULL)
		b = "build";
	if (e2e_setup(&env) != 0)
		return -1;
	snprintf(anchors, sizeof(anchors), "%s/anchors", env.dir);
	snprintf(opt_dir, sizeof(opt_dir), "trust.anchor_dir=%s", anchors);
	/*
	 * tee1's key: renewed (B), revoked (C), from another PKI (X), as a TLS
	 * client (T), with the TEE OID (E)
	 */
	snprintf(key, sizeof(key), "%s/tee/tee1.key", env.pki);
	if (reissue(env.pki, key, "tee1-b", 0x7e5701, "") != 0 ||
	    reissue(env.pki, key, "tee1-c", 0x7e5702, "") != 0 ||
	    e2e_sh("cp %s/tee1-c.crt %s/tee/tee1-c.crt", env.dir, env.pki) != 0 ||
	    reissue(env.pki2, key, "tee1-x", 0x7e5703, "") != 0 ||
	    reissue(env.pki, key, "tee1-t", 0x7e5704, "clientAuth") != 0 ||
	    reissue(env.pki, key, "tee1-e", 0x7e5706, TEE_OID) != 0)
		return -1;
	/* a broker's own key and clientAuth certificate, from the TEE CA as older PKIs did */
	snprintf(key, sizeof(key), "%s/brk.key", env.dir);
	if (e2e_sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s "
	    "2>/dev/null", key) != 0 ||
	    reissue(env.pki, key, "brk", 0x7e5705, "clientAuth") != 0)
		return -1;
	/* the TEE CA beside its CRL, which revokes tee1-c */
	if (e2e_sh("sh %s/../pki/otrp-pki.sh revoke %s tee tee1-c >/dev/null", b, env.pki) != 0 ||
	    e2e_sh("mkdir -p %s && cp %s/tee/ca.crt %s/tee-ca.pem && cp %s/tee/ca.crl %s/tee-ca.crl",
	    anchors, env.pki, anchors, env.pki, anchors) != 0)
		return -1;
	return e2e_start(&env, extra);
}

static int
group_teardown(void **state)
{
	(void)state;
	return e2e_group_end(&env);
}

/*
 * One session of a mock TEE with key and certificate (NULL: raw key) as
 * given, cacert its CA, its state in state-<label> (the same label: the
 * same TEE); the final HTTP status, and the error in res.
 */
static long
session(const char *key, const char *cert, const char *cacert, const char *label,
    struct mock_session_result *res)
{
	struct mock_tee_cfg cfg = { 0 };
	struct tam_err err = { 0 };
	struct mock_tee *mt = NULL;
	char st[320], anchor[320];

	memset(res, 0, sizeof(*res));
	snprintf(st, sizeof(st), "%s/state-%s", env.dir, label);
	snprintf(anchor, sizeof(anchor), "%s/root/ca.crt", env.pki);
	cfg.state_dir = st;
	cfg.key_path = key;
	cfg.cert_path = cert;
	cfg.cacert_path = cert != NULL ? cacert : NULL;
	cfg.tam_anchor_path = anchor;
	cfg.tee_name = label;
	assert_int_equal(mock_tee_open(&cfg, &mt, &err), 0);
	if (mock_tee_run_session(mt, env.url, res, &err) != 0 && res->error[0] == '\0')
		snprintf(res->error, sizeof(res->error), "%s", err.msg);
	mock_tee_close(mt);
	return res->final_status;
}

/* tee1's key with the certificate at path; its state is tee1's. */
static long
tee1_with(const char *cert, const char *cacert, struct mock_session_result *res)
{
	char key[320];

	snprintf(key, sizeof(key), "%s/tee/tee1.key", env.pki);
	return session(key, cert, cacert, "tee1", res);
}

/* Lowercase hex SHA-256 of the DER of the certificate file at path: its did. */
static void
did_of(const char *path, char hex[TAM_DID_HEX])
{
	uint8_t *data = NULL, did[32];
	X509 *x = NULL;
	size_t len = 0;

	assert_int_equal(tam_file_read(path, 1 << 16, &data, &len, NULL), TAM_OK);
	assert_int_equal(pki_cert_load(data, len, &x, NULL), TAM_OK);
	assert_int_equal(pki_cert_sha256(x, did), TAM_OK);
	tam_hex_encode(did, 32, hex);
	X509_free(x);
	free(data);
}

/* The stored did of the device named name, in hex. */
static void
stored_did(const char *name, char hex[TAM_DID_HEX])
{
	char sql[200];
	uint8_t *did = NULL;
	size_t len = 0;

	snprintf(sql, sizeof(sql), "SELECT did FROM devices WHERE name = '%s'", name);
	assert_int_equal(e2e_db_blob(&env, sql, &did, &len), 0);
	assert_int_equal(len, 32);
	tam_hex_encode(did, 32, hex);
	free(did);
}

static long long
renewals(void)
{
	return e2e_db_scalar(&env, "SELECT count(*) FROM audit WHERE action = 'device.cert_renewed'");
}

/* A broker's clientAuth certificate from the TEE CA is no TEE: 403, nothing registered. */
static void
test_broker_certificate_is_no_tee(void **state)
{
	struct mock_session_result res;
	char key[320], cert[320], ca[320];
	long long devices = e2e_db_scalar(&env, "SELECT count(*) FROM devices");

	(void)state;
	snprintf(key, sizeof(key), "%s/brk.key", env.dir);
	snprintf(cert, sizeof(cert), "%s/brk.crt", env.dir);
	snprintf(ca, sizeof(ca), "%s/tee/ca.crt", env.pki);
	assert_int_equal(session(key, cert, ca, "brk", &res), 403);
	assert_non_null(strstr(res.error, "cert_invalid"));
	assert_non_null(strstr(res.error, "extendedKeyUsage names TLS"));
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM devices"), devices);
	assert_int_equal(e2e_db_scalar(&env,
	    "SELECT count(*) FROM audit WHERE action = 'device.register'"), 0);
}

/*
 * tee1 (enrolled with certificate A) holds an assigned TA, then presents
 * certificate B for the same key: the same device, B recorded, audited.
 */
static void
test_renewal_keeps_the_device(void **state)
{
	struct mock_session_result res;
	char a[320], b[320], ca[320], did_a[TAM_DID_HEX], did_b[TAM_DID_HEX], sql[400];
	long long id;

	(void)state;
	snprintf(a, sizeof(a), "%s/tee/tee1.crt", env.pki);
	snprintf(b, sizeof(b), "%s/tee1-b.crt", env.dir);
	snprintf(ca, sizeof(ca), "%s/tee/ca.crt", env.pki);
	did_of(a, did_a);
	did_of(b, did_b);
	assert_int_equal(e2e_ctl(&env, "assign tee1 " E2E_TAID " >/dev/null"), 0);
	assert_int_equal(tee1_with(a, ca, &res), 204);
	assert_int_equal(e2e_db_has_ta(&env, "tee1", E2E_TAID), 1);
	id = e2e_db_scalar(&env, "SELECT id FROM devices WHERE name = 'tee1'");

	assert_int_equal(tee1_with(b, ca, &res), 204);
	assert_string_equal(res.error, "");
	assert_int_equal(e2e_db_scalar(&env, "SELECT id FROM devices WHERE name = 'tee1'"), id);
	stored_did("tee1", sql);
	assert_string_equal(sql, did_b);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM assignments WHERE device_id = %lld", id);
	assert_int_equal(e2e_db_scalar(&env, sql), 1);
	assert_int_equal(e2e_db_has_ta(&env, "tee1", E2E_TAID), 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE action = 'device.cert_renewed'"
	    " AND object = 'device:%s' AND detail = 'old=%s new=%s was=cert'", did_b, did_a,
	    did_b);
	assert_int_equal(e2e_db_scalar(&env, sql), 1);
	/* B is now the device's certificate: the next session is no renewal */
	assert_int_equal(tee1_with(b, ca, &res), 204);
	assert_int_equal(renewals(), 1);
	/* a valid certificate for another key remains another device */
	snprintf(a, sizeof(a), "%s/tee/tee2.key", env.pki);
	snprintf(b, sizeof(b), "%s/tee/tee2.crt", env.pki);
	assert_int_equal(session(a, b, ca, "tee2", &res), 204);
	assert_int_equal(e2e_db_scalar(&env, "SELECT count(*) FROM devices"), 2);
}

/* The same key, but a certificate that is not a trusted, current TEE one: nothing changes. */
static void
test_renewal_needs_a_valid_tee_certificate(void **state)
{
	static const struct {
		const char *cert;      /* under env.dir */
		const char *ca_pki;    /* which PKI's TEE CA to send along: 1 ours, 2 the other */
		const char *why;
	} bad[] = {
		{ "tee1-x.crt", "2", "cert_untrusted" },
		{ "tee1-c.crt", "1", "revoked" },
		{ "tee1-t.crt", "1", "extendedKeyUsage names TLS" },
	};
	struct mock_session_result res;
	char cert[320], ca[320], before[TAM_DID_HEX], after[TAM_DID_HEX];
	long long n = renewals();

	(void)state;
	stored_did("tee1", before);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(cert, sizeof(cert), "%s/%s", env.dir, bad[i].cert);
		snprintf(ca, sizeof(ca), "%s/tee/ca.crt", bad[i].ca_pki[0] == '2' ? env.pki2 : env.pki);
		assert_int_equal(tee1_with(cert, ca, &res), 403);
		if (strstr(res.error, bad[i].why) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].cert, res.error, bad[i].why);
		stored_did("tee1", after);
		assert_string_equal(after, before);
	}
	assert_int_equal(renewals(), n);
}

/* A raw-key device that presents a trusted certificate for its key becomes a certificate device. */
static void
test_raw_key_device_gets_a_certificate(void **state)
{
	struct mock_session_result res;
	char key[320], cert[320], ca[320], did[TAM_DID_HEX], now[TAM_DID_HEX], sql[400];
	long long id, n = renewals();

	(void)state;
	snprintf(key, sizeof(key), "%s/tee/tee3.key", env.pki);
	snprintf(cert, sizeof(cert), "%s/tee/tee3.crt", env.pki);
	snprintf(ca, sizeof(ca), "%s/tee/ca.crt", env.pki);
	assert_int_equal(e2e_sh("openssl pkey -in %s -pubout -out %s/tee3.pub", key, env.dir), 0);
	assert_int_equal(e2e_ctl(&env, "device enroll --key %s/tee3.pub --name raw3 >/dev/null",
	    env.dir), 0);
	assert_int_equal(session(key, NULL, NULL, "tee3", &res), 204);
	id = e2e_db_scalar(&env, "SELECT id FROM devices WHERE name = 'raw3'");
	stored_did("raw3", did);

	assert_int_equal(session(key, cert, ca, "tee3", &res), 204);
	assert_int_equal(e2e_db_scalar(&env, "SELECT id FROM devices WHERE name = 'raw3'"), id);
	assert_int_equal(e2e_db_scalar(&env,
	    "SELECT count(*) FROM devices WHERE name = 'raw3' AND key_kind = 'cert'"), 1);
	did_of(cert, now);
	stored_did("raw3", sql);
	assert_string_equal(sql, now);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE action = 'device.cert_renewed'"
	    " AND detail = 'old=%s new=%s was=rawkey'", did, now);
	assert_int_equal(e2e_db_scalar(&env, sql), 1);
	assert_int_equal(renewals(), n + 1);
	/* known by certificate now: the key id alone no longer names it */
	assert_int_equal(session(key, NULL, NULL, "tee3", &res), 403);
}

/*
 * With trust.tee_eku, a TEE certificate without that OID is refused, known
 * device or not; tee1's certificate that lists it renews tee1.
 */
static void
test_tee_eku_required(void **state)
{
	const char *extra[] = { "-o", opt_dir, "-o", "trust.tee_eku=" TEE_OID, NULL };
	struct mock_session_result res;
	char key[320], cert[320], ca[320], did[TAM_DID_HEX], now[TAM_DID_HEX];
	long long n = renewals();

	(void)state;
	assert_int_equal(e2e_stop(&env), 0);
	assert_int_equal(e2e_start(&env, extra), 0);
	snprintf(key, sizeof(key), "%s/tee/tee2.key", env.pki);
	snprintf(cert, sizeof(cert), "%s/tee/tee2.crt", env.pki);
	snprintf(ca, sizeof(ca), "%s/tee/ca.crt", env.pki);
	assert_int_equal(session(key, cert, ca, "tee2", &res), 403);
	assert_non_null(strstr(res.error, "extendedKeyUsage lacks"));
	snprintf(cert, sizeof(cert), "%s/tee1-b.crt", env.dir);
	assert_int_equal(tee1_with(cert, ca, &res), 403);
	snprintf(cert, sizeof(cert), "%s/tee1-e.crt", env.dir);
	did_of(cert, now);
	assert_int_equal(tee1_with(cert, ca, &res), 204);
	stored_did("tee1", did);
	assert_string_equal(did, now);
	assert_int_equal(renewals(), n + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_broker_certificate_is_no_tee),
		cmocka_unit_test(test_renewal_keeps_the_device),
		cmocka_unit_test(test_renewal_needs_a_valid_tee_certificate),
		cmocka_unit_test(test_raw_key_device_gets_a_certificate),
		cmocka_unit_test(test_tee_eku_required),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
