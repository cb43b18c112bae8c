// SPDX-License-Identifier: MIT
/*
 * otrp-loadgen: many devices' GetDeviceState rounds against a running
 * otrp-tamd on 127.0.0.1, and the crypto floor of the same rounds.
 *
 *   otrp-loadgen --url URL --pid PID --tee-key K --tee-cert C --tee-ca C
 *                --tam-cert C --tam-key K --anchor C --sessions N --concurrency C
 *   otrp-loadgen --url URL --pid PID --open N        (N sessions left open; RSS)
 *   otrp-loadgen --url URL --pid PID --install DIR --devices N --anchor C [--prefix P]
 *                [--versus Q]
 *                (N mock TEEs P1..PN (dev1..) of the PKI in DIR, each installing what
 *                 is assigned to it; prints server CPU per install session and
 *                 the AES-256-CBC + copy floor of 1 MiB; with --versus, Q1..QN
 *                 take turns with them, and the difference per device and its
 *                 ratio to the floor are printed too)
 *
 * Each session is what a device with nothing to install does: an empty POST,
 * the TAM's signed GetDeviceStateRequest, the device's signed answer with
 * its DSI encrypted to the TAM, and the TAM's 204. The device side is cheap
 * on purpose (the DSI is encrypted once; only the signature is per session,
 * over the rid and tid the TAM chose) so the load generator leaves the CPU to
 * the server. The server's CPU time comes from its threads' run time in
 * /proc/PID/task/TID/schedstat (nanoseconds), else /proc/PID/stat (ticks).
 *
 * The floor is the cryptography the server cannot avoid per session, timed
 * here with the same library calls on one core: signing the request with the
 * TAM key, verifying the device's signature, decrypting its DSI with the TAM
 * key, and validating the device's certificate chain.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "mock_tee.h"
#include "tam/jose.h"
#include "tam/pki.h"
#include "tam/util.h"

#define MEDIA "application/otrp+json"

struct opts {
	const char *url, *tee_key, *tee_cert, *tee_ca, *tam_cert, *tam_key, *anchor, *install;
	const char *prefix, *versus;
	long pid;
	long sessions, concurrency, open, devices;
};

static struct opts o = { .sessions = 1000, .concurrency = 8, .prefix = "dev" };
static struct jose_key *tee_key;
static json_t *edsi;              /* the DSI, encrypted once to the TAM key */
static atomic_long next_session, failures;
static double *latencies;

struct buf {
	char *p;
	size_t n;
};

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("otrp-loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double
now_s(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	uint8_t *d = NULL;

	if (path == NULL || tam_file_read(path, 1 << 20, &d, len, NULL) != TAM_OK)
		die("cannot read %s", path ? path : "(missing option)");
	return d;
}

/* The first certificate of a PEM file (a chain file starts with its leaf). */
static X509 *
cert_file(const char *path)
{
	size_t len;
	uint8_t *d = slurp(path, &len);
	STACK_OF(X509) *sk = NULL;
	X509 *x;

	if (pki_certs_from_pem(d, len, &sk, NULL) != TAM_OK)
		die("%s: not a certificate", path);
	x = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	free(d);
	return x;
}

static struct jose_key *
key_file(const char *path)
{
	size_t len;
	uint8_t *d = slurp(path, &len);
	struct jose_key *k = NULL;

	if (jose_key_from_pem(d, len, &k, NULL) != TAM_OK)
		die("%s: not a key", path);
	tam_wipe(d, len);
	free(d);
	return k;
}

static char *
b64_of_cert(X509 *x)
{
	uint8_t *der = NULL;
	size_t len = 0;
	char *s = NULL;

	if (pki_cert_to_der(x, &der, &len, NULL) != TAM_OK || tam_b64_encode(der, len, &s) != TAM_OK)
		die("cannot encode a certificate");
	free(der);
	return s;
}

static const char *
kw_for(const struct jose_key *k)
{
	return jose_key_type(k) == JOSE_KTY_EC_P256 ? JOSE_ALG_ECDH_ES_A128KW : JOSE_ALG_RSA1_5;
}

/* The DSI this device always reports, encrypted once to the TAM. */
static void
make_edsi(void)
{
	X509 *tee = cert_file(o.tee_cert), *ca = cert_file(o.tee_ca), *tam = cert_file(o.tam_cert);
	struct jose_key *tam_pub = NULL;
	char *tee_b64 = b64_of_cert(tee), *ca_b64 = b64_of_cert(ca), *text;
	json_t *dsi;

	dsi = json_pack("{s:{s:{s:s,s:s,s:s,s:[s],s:{s:s,s:[]},s:[]}}}", "dsi", "tee", "name",
	    "bench", "ver", "1.0", "cert", tee_b64, "cacert", ca_b64, "sdlist", "cnt", "0", "sd",
	    "teeaiklist");
	if (dsi == NULL || (text = json_dumps(dsi, JSON_COMPACT)) == NULL ||
	    pki_cert_public_key(tam, &tam_pub, NULL) != TAM_OK ||
	    jose_jwe_encrypt(tam_pub, kw_for(tam_pub), JOSE_ENC_A128CBC_HS256, JOSE_JWE_GENERAL,
	    (const uint8_t *)text, strlen(text), &edsi, NULL) != TAM_OK)
		die("cannot build the DSI");
	free(text);
	json_decref(dsi);
	jose_key_free(tam_pub);
	free(tee_b64);
	free(ca_b64);
	X509_free(tee);
	X509_free(ca);
	X509_free(tam);
}

static size_t
collect(char *data, size_t size, size_t n, void *userp)
{
	struct buf *b = userp;
	char *p = realloc(b->p, b->n + size * n + 1);

	if (p == NULL)
		return 0;
	memcpy(p + b->n, data, size * n);
	b->p = p;
	b->n += size * n;
	b->p[b->n] = '\0';
	return size * n;
}

static long
post(CURL *h, struct curl_slist *hdrs, const char *body, size_t len, struct buf *b)
{
	long status = 0;

	b->n = 0;
	curl_easy_setopt(h, CURLOPT_URL, o.url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	if (curl_easy_perform(h) != CURLE_OK)
		return 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* The device's answer to one GetDeviceStateRequest: its rid and tid, signed. */
static char *
answer(const char *req, size_t len)
{
	json_t *doc = json_loadb(req, len, 0, NULL), *tbs = NULL, *body, *jws = NULL, *wrap;
	struct jose_jws *in = NULL;
	const uint8_t *payload;
	char *text = NULL, *out = NULL;
	size_t plen;

	if (doc == NULL || jose_jws_parse(json_object_get(doc, "GetDeviceStateRequest"), &in,
	    NULL) != TAM_OK)
		goto out;
	payload = jose_jws_payload_unverified(in, &plen);
	if ((tbs = json_loadb((const char *)payload, plen, 0, NULL)) == NULL)
		goto out;
	body = json_object_get(tbs, "GetDeviceStateTBSRequest");
	wrap = json_pack("{s:{s:s,s:s,s:O,s:O,s:b,s:O}}", "GetDeviceTEEStateTBSResponse", "ver",
	    "1.0", "status", "pass", "rid", json_object_get(body, "rid"), "tid",
	    json_object_get(body, "tid"), "signerreq", 0, "edsi", edsi);
	if (wrap == NULL || (text = json_dumps(wrap, JSON_COMPACT)) == NULL) {
		json_decref(wrap);
		goto out;
	}
	json_decref(wrap);
	if (jose_jws_sign(tee_key, jose_key_sig_alg(tee_key), NULL, NULL, (const uint8_t *)text,
	    strlen(text), &jws, NULL) != TAM_OK)
		goto out;
	wrap = json_pack("{s:[{s:O}]}", "GetDeviceStateResponse", "GetDeviceTEEStateResponse", jws);
	out = wrap != NULL ? json_dumps(wrap, JSON_COMPACT) : NULL;
	json_decref(wrap);
out:
	free(text);
	json_decref(jws);
	jose_jws_free(in);
	json_decref(tbs);
	json_decref(doc);
	return out;
}

static void *
worker(void *arg)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	struct buf b = { 0 };
	long i;

	(void)arg;
	hdrs = curl_slist_append(hdrs, "Content-Type: " MEDIA);
	hdrs = curl_slist_append(hdrs, "Accept: " MEDIA);
	while ((i = atomic_fetch_add(&next_session, 1)) < o.sessions) {
		double t0 = now_s(CLOCK_MONOTONIC);
		char *ans;
		if (post(h, hdrs, "", 0, &b) != 200 || (ans = answer(b.p, b.n)) == NULL) {
			atomic_fetch_add(&failures, 1);
			continue;
		}
		if (post(h, hdrs, ans, strlen(ans), &b) != 204)
			atomic_fetch_add(&failures, 1);
		free(ans);
		latencies[i] = now_s(CLOCK_MONOTONIC) - t0;
	}
	free(b.p);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return NULL;
}

/*
 * CPU time of a process, in seconds: the sum of its threads' run time from
 * /proc/PID/task/TID/schedstat (nanoseconds; the server's threads live as
 * long as it does), else utime + stime from /proc/PID/stat (clock ticks).
 */
static double
cpu_of(long pid)
{
	char path[320], line[2048], *p;
	unsigned long ut = 0, st = 0;
	unsigned long long ns = 0, sum = 0;
	struct dirent *e;
	bool ok = false;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	if ((d = opendir(path)) != NULL) {
		ok = true;
		while (ok && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%ld/task/%.64s/schedstat", pid, e->d_name);
			ok = (f = fopen(path, "r")) != NULL && fscanf(f, "%llu", &ns) == 1;
			if (f != NULL)
				fclose(f);
			sum += ns;
		}
		closedir(d);
		if (ok)
			return (double)sum / 1e9;
	}
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL || fgets(line, sizeof(line), f) == NULL)
		die("cannot read %s", path);
	fclose(f);
	/* Fields after the command name, which is in parentheses and may hold spaces. */
	p = strrchr(line, ')');
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		die("cannot parse %s", path);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long
status_kb(long pid, const char *field)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, strlen(field)) == 0)
			kb = strtol(line + strlen(field) + 1, NULL, 10);
	fclose(f);
	return kb;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* CPU seconds per call of fn, on this thread. */
static double
per_call(void (*fn)(void *), void *arg, int n)
{
	double t0 = now_s(CLOCK_THREAD_CPUTIME_ID);

	for (int i = 0; i < n; i++)
		fn(arg);
	return (now_s(CLOCK_THREAD_CPUTIME_ID) - t0) / n;
}

struct floor_ctx {
	struct pki_signer *tam;
	struct jose_key *tee_pub;
	struct pki_trust *trust;
	X509 *tee_cert;
	STACK_OF(X509) *chain;
	json_t *signed_answer;
	char payload[512];
};

static void
f_sign(void *a)
{
	struct floor_ctx *c = a;
	json_t *j = NULL;

	if (pki_signer_sign(c->tam, NULL, true, (const uint8_t *)c->payload, strlen(c->payload), &j,
	    NULL) != TAM_OK)
		die("floor: sign");
	json_decref(j);
}

static void
f_verify(void *a)
{
	struct floor_ctx *c = a;
	struct jose_jws *j = NULL;

	if (jose_jws_parse(c->signed_answer, &j, NULL) != TAM_OK ||
	    jose_jws_verify(j, c->tee_pub, NULL) != TAM_OK)
		die("floor: verify");
	jose_jws_free(j);
}

static void
f_decrypt(void *a)
{
	struct floor_ctx *c = a;
	uint8_t *pt = NULL;
	size_t len = 0;

	if (pki_signer_decrypt(c->tam, edsi, &pt, &len, NULL) != TAM_OK)
		die("floor: decrypt");
	free(pt);
}

static void
f_chain(void *a)
{
	struct floor_ctx *c = a;

	if (pki_verify_chain(c->trust, c->tee_cert, c->chain, 0, PKI_PURPOSE_TEE, NULL) != TAM_OK)
		die("floor: chain");
}

static double
measure_floor(double parts[4])
{
	struct floor_ctx c = { 0 };
	size_t len;
	uint8_t *chain = slurp(o.tam_cert, &len);
	X509 *anchor = cert_file(o.anchor);
	json_t *sig = NULL;

	if (pki_signer_load(o.tam_key, chain, len, NULL, &c.tam, NULL) != TAM_OK)
		die("floor: cannot load the TAM key (mode 0600?)");
	free(chain);
	if (jose_key_public(tee_key, &c.tee_pub, NULL) != TAM_OK)
		die("floor: TEE key");
	snprintf(c.payload, sizeof(c.payload), "{\"GetDeviceStateTBSRequest\":{\"ver\":\"1.0\","
	    "\"rid\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"tid\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"ocspdat\":[],"
	    "\"supportedsigalgs\":[\"RS256\",\"ES256\"]}}");
	if (jose_jws_sign(tee_key, jose_key_sig_alg(tee_key), NULL, NULL,
	    (const uint8_t *)c.payload, strlen(c.payload), &sig, NULL) != TAM_OK)
		die("floor: TEE sign");
	c.signed_answer = sig;
	c.tee_cert = cert_file(o.tee_cert);
	c.chain = sk_X509_new_null();
	sk_X509_push(c.chain, cert_file(o.tee_ca));
	if (pki_trust_new(&c.trust, NULL) != TAM_OK || pki_trust_add(c.trust, anchor, NULL) != TAM_OK)
		die("floor: trust");
	parts[0] = per_call(f_sign, &c, 200);
	parts[1] = per_call(f_verify, &c, 400);
	parts[2] = per_call(f_decrypt, &c, 200);
	parts[3] = per_call(f_chain, &c, 400);
	pki_signer_free(c.tam);
	jose_key_free(c.tee_pub);
	pki_trust_free(c.trust);
	X509_free(c.tee_cert);
	X509_free(anchor);
	sk_X509_pop_free(c.chain, X509_free);
	json_decref(sig);
	return parts[0] + parts[1] + parts[2] + parts[3];
}

/* One device's whole session (GetDeviceState, CreateSD, InstallTA). */
static void
install_one(long i, const char *dir, const char *prefix)
{
	char state[1200], key[1200], cert[1200], ca[1200];
	struct mock_tee_cfg cfg = { 0 };
	struct mock_session_result res;
	struct tam_err err = { 0 };
	struct mock_tee *mt = NULL;

	snprintf(state, sizeof(state), "%s/state-%s%ld", dir, prefix, i);
	snprintf(key, sizeof(key), "%s/tee/%s%ld.key", dir, prefix, i);
	snprintf(cert, sizeof(cert), "%s/tee/%s%ld.crt", dir, prefix, i);
	snprintf(ca, sizeof(ca), "%s/tee/ca.crt", dir);
	cfg.state_dir = state;
	cfg.key_path = key;
	cfg.cert_path = cert;
	cfg.cacert_path = ca;
	cfg.tam_anchor_path = o.anchor;
	cfg.tee_name = "bench";
	if (mock_tee_open(&cfg, &mt, &err) != TAM_OK)
		die("mock TEE dev%ld: %s", i, err.msg);
	if (mock_tee_run_session(mt, o.url, &res, &err) != TAM_OK || res.n_requests != 3)
		die("dev%ld: the session did not install (%s; %d requests)", i, err.msg,
		    res.n_requests);
	mock_tee_close(mt);
}

static void
f_aes_copy(void *a)
{
	uint8_t *buf = a, key[32] = { 1 }, iv[16] = { 2 }, *ct = NULL, *copy;
	size_t ct_len = 0;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0;

	ct = malloc((1u << 20) + 16);
	copy = malloc(1u << 20);
	if (ctx == NULL || ct == NULL || copy == NULL ||
	    EVP_EncryptInit_ex2(ctx, EVP_aes_256_cbc(), key, iv, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &n1, buf, 1 << 20) != 1 ||
	    EVP_EncryptFinal_ex(ctx, ct + n1, &n2) != 1)
		die("floor: AES");
	ct_len = (size_t)n1 + (size_t)n2;
	memcpy(copy, ct, ct_len < (1u << 20) ? ct_len : (1u << 20));
	EVP_CIPHER_CTX_free(ctx);
	free(ct);
	free(copy);
}

static void
install_run(void)
{
	double sum = 0, vs = 0, floor, c0;
	uint8_t *buf = calloc(1, 1u << 20);

	if (buf == NULL)
		die("out of memory");
	/* Taken turn about, the two kinds of session see the same machine: its noise cancels out. */
	for (long i = 1; i <= o.devices; i++) {
		c0 = cpu_of(o.pid);
		install_one(i, o.install, o.prefix);
		sum += cpu_of(o.pid) - c0;
		if (o.versus != NULL) {
			c0 = cpu_of(o.pid);
			install_one(i, o.install, o.versus);
			vs += cpu_of(o.pid) - c0;
		}
	}
	floor = per_call(f_aes_copy, buf, 50);
	sum /= (double)o.devices;
	vs /= (double)o.devices;
	printf("install_devices=%ld server_cpu_ms_per_install_session=%.3f", o.devices, sum * 1e3);
	if (o.versus != NULL)
		printf(" versus_ms=%.3f difference_ms=%.3f", vs * 1e3, (sum - vs) * 1e3);
	printf(" aes_copy_1mib_floor_ms=%.3f", floor * 1e3);
	if (o.versus != NULL)
		printf(" ratio=%.2f", (sum - vs) / floor);
	printf("\n");
	free(buf);
}

/* Open n sessions and leave them waiting; report the server's memory. */
static void
open_sessions(void)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: " MEDIA);
	struct buf b = { 0 };
	long ok = 0;

	for (long i = 0; i < o.open; i++)
		ok += post(h, hdrs, "", 0, &b) == 200;
	printf("open_sessions=%ld answered=%ld server_rss_kb=%ld server_peak_rss_kb=%ld\n", o.open,
	    ok, status_kb(o.pid, "VmRSS:"), status_kb(o.pid, "VmHWM:"));
	free(b.p);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' }, { "pid", required_argument, NULL, 'p' },
		{ "tee-key", required_argument, NULL, 'k' }, { "tee-cert", required_argument, NULL, 'c' },
		{ "tee-ca", required_argument, NULL, 'a' }, { "tam-cert", required_argument, NULL, 't' },
		{ "tam-key", required_argument, NULL, 'K' }, { "anchor", required_argument, NULL, 'r' },
		{ "sessions", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'C' },
		{ "open", required_argument, NULL, 'o' }, { "install", required_argument, NULL, 'i' },
		{ "devices", required_argument, NULL, 'd' }, { "prefix", required_argument, NULL, 'P' },
		{ "versus", required_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	double floor_parts[4], floor, t0, t1, c0, c1, wall, cpu;
	pthread_t *th;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'u': o.url = optarg; break;
		case 'p': o.pid = strtol(optarg, NULL, 10); break;
		case 'k': o.tee_key = optarg; break;
		case 'c': o.tee_cert = optarg; break;
		case 'a': o.tee_ca = optarg; break;
		case 't': o.tam_cert = optarg; break;
		case 'K': o.tam_key = optarg; break;
		case 'r': o.anchor = optarg; break;
		case 'n': o.sessions = strtol(optarg, NULL, 10); break;
		case 'C': o.concurrency = strtol(optarg, NULL, 10); break;
		case 'o': o.open = strtol(optarg, NULL, 10); break;
		case 'i': o.install = optarg; break;
		case 'd': o.devices = strtol(optarg, NULL, 10); break;
		case 'P': o.prefix = optarg; break;
		case 'v': o.versus = optarg; break;
		default: return 2;
		}
	}
	/* Loopback only: the benchmark never talks to anything else. */
	if (o.url == NULL || (strncmp(o.url, "http://127.0.0.1:", 17) != 0 &&
	    strncmp(o.url, "http://localhost:", 17) != 0) || o.pid <= 0)
		die("--url http://127.0.0.1:PORT/... and --pid are required");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (o.open > 0) {
		open_sessions();
		return 0;
	}
	if (o.install != NULL) {
		if (o.devices <= 0 || o.anchor == NULL)
			die("--install needs --devices and --anchor");
		install_run();
		return 0;
	}
	if (o.sessions <= 0 || o.concurrency <= 0 || o.concurrency > 1024)
		die("bad --sessions or --concurrency");
	tee_key = key_file(o.tee_key);
	make_edsi();
	floor = measure_floor(floor_parts);
	if ((latencies = calloc((size_t)o.sessions, sizeof(*latencies))) == NULL ||
	    (th = calloc((size_t)o.concurrency, sizeof(*th))) == NULL)
		die("out of memory");
	c0 = cpu_of(o.pid);
	t0 = now_s(CLOCK_MONOTONIC);
	for (long i = 0; i < o.concurrency; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (long i = 0; i < o.concurrency; i++)
		pthread_join(th[i], NULL);
	t1 = now_s(CLOCK_MONOTONIC);
	c1 = cpu_of(o.pid);
	wall = t1 - t0;
	cpu = (c1 - c0) / (double)o.sessions;
	qsort(latencies, (size_t)o.sessions, sizeof(*latencies), cmp_double);
	printf("sessions=%ld failures=%ld concurrency=%ld wall_s=%.3f sessions_per_s=%.1f "
	    "p50_ms=%.2f p99_ms=%.2f server_cpu_ms_per_session=%.3f floor_ms=%.3f ratio=%.2f "
	    "floor_parts_ms=sign:%.3f,verify:%.3f,decrypt:%.3f,chain:%.3f server_rss_kb=%ld\n",
	    o.sessions, atomic_load(&failures), o.concurrency, wall, (double)o.sessions / wall,
	    latencies[o.sessions / 2] * 1e3, latencies[(o.sessions * 99) / 100] * 1e3, cpu * 1e3,
	    floor * 1e3, cpu / floor, floor_parts[0] * 1e3, floor_parts[1] * 1e3,
	    floor_parts[2] * 1e3, floor_parts[3] * 1e3, status_kb(o.pid, "VmRSS:"));
	free(latencies);
	free(th);
	jose_key_free(tee_key);
	json_decref(edsi);
	curl_global_cleanup();
	return atomic_load(&failures) == 0 ? 0 : 1;
}
