// SPDX-License-Identifier: MIT
/*
 * The mock TEE's broker: OTrP over HTTP with libcurl. It opens a session with
 * an empty POST and then carries each TAM request to mock_tee_process and
 * each answer back, until the TAM says 204. Tests must never leave the
 * machine, so only http://127.0.0.1 and http://localhost URLs are accepted,
 * proxies from the environment are ignored and redirects are not followed.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "tam/limits.h"
#include "tam/otrp.h"
#include "mock_tee.h"

/* A TAM message can carry a whole TA; a reply larger than this is a runaway. */
#define MOCK_HTTP_MAX_BODY ((size_t)TAM_MAX_TA_BYTES * 2)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void
curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* http://127.0.0.1[:port][/path] or http://localhost[:port][/path], nothing else. */
static bool
url_is_loopback(const char *url)
{
	static const char *const hosts[] = { "127.0.0.1", "localhost" };
	const char *p;
	size_t n;

	if (strncmp(url, "http://", 7) != 0)
		return false;
	p = url + 7;
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		n = strlen(hosts[i]);
		if (strncasecmp(p, hosts[i], n) != 0)
			continue;
		p += n;
		if (*p == ':') {
			p++;
			if (*p < '0' || *p > '9')
				return false;
			while (*p >= '0' && *p <= '9')
				p++;
		}
		/* Anything but a path here (a '@', a '.', another host) is refused. */
		return *p == '\0' || *p == '/';
	}
	return false;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct tam_buf *b = arg;
	size_t n = size * nmemb;

	if (b->len + n > MOCK_HTTP_MAX_BODY || tam_buf_append(b, data, n) != TAM_OK)
		return 0;
	return n;
}

static char source[24];               /* "host!127.x.y.z" for CURLOPT_INTERFACE, or "" */

int
mock_http_set_source(const char *addr)
{
	struct in_addr a;

	if (addr == NULL) {
		source[0] = '\0';
		return TAM_OK;
	}
	if (inet_pton(AF_INET, addr, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127)
		return TAM_EINVAL;
	snprintf(source, sizeof(source), "host!%s", addr);
	return TAM_OK;
}

int
mock_http_post(const char *url, const char *content_type, const char *accept,
    const uint8_t *body, size_t len, struct mock_http_resp *out, struct tam_err *err)
{
	struct curl_slist *hdrs = NULL, *h;
	struct tam_buf b = { 0 };
	char line[256], *ct = NULL;
	CURL *c = NULL;
	CURLcode cc;
	curl_off_t wait = 0;
	int rc = TAM_OK;

	memset(out, 0, sizeof(*out));
	if (url == NULL || !url_is_loopback(url))
		return tam_err_set(err, TAM_EINVAL, "refusing non-loopback URL %.128s",
		    url != NULL ? url : "(null)");
	if (pthread_once(&curl_once, curl_init) != 0 || curl_init_rc != CURLE_OK)
		return tam_err_set(err, TAM_EIO, "libcurl cannot be initialised");
	c = curl_easy_init();
	if (c == NULL)
		return tam_err_set(err, TAM_ENOMEM, "curl_easy_init failed");
	/* An empty value makes libcurl drop the header it would add by itself. */
	snprintf(line, sizeof(line), "Content-Type:%s%.200s", content_type ? " " : "",
	    content_type ? content_type : "");
	h = curl_slist_append(hdrs, line);
	if (h != NULL) {
		hdrs = h;
		snprintf(line, sizeof(line), "Accept:%s%.200s", accept ? " " : "",
		    accept ? accept : "");
		h = curl_slist_append(hdrs, line);
	}
	if (h != NULL) {
		hdrs = h;
		h = curl_slist_append(hdrs, "Expect:");
	}
	if (h == NULL) {
		rc = tam_err_set(err, TAM_ENOMEM, "out of memory");
		goto out;
	}
	hdrs = h;
	if ((source[0] != '\0' && curl_easy_setopt(c, CURLOPT_INTERFACE, source) != CURLE_OK) ||
	    curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOPROXY, "*") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)MOCK_HTTP_TIMEOUT) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)MOCK_HTTP_TIMEOUT) != CURLE_OK ||
	    /* A server that refuses a large body answers before it: wait for that, even under load. */
	    curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 10000L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS,
	    len > 0 ? (const char *)body : "") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b) != CURLE_OK) {
		rc = tam_err_set(err, TAM_EIO, "libcurl refused an option");
		goto out;
	}
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		rc = tam_err_set(err, TAM_EIO, "POST %.128s: %s", url, curl_easy_strerror(cc));
		goto out;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status) != CURLE_OK) {
		rc = tam_err_set(err, TAM_EIO, "POST %.128s: no status", url);
		goto out;
	}
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
		snprintf(out->content_type, sizeof(out->content_type), "%s", ct);
	if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &wait) == CURLE_OK)
		out->retry_after = (long)wait;
	out->body = (char *)b.data;
	out->len = b.len;
	b.data = NULL;
out:
	tam_buf_free(&b);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc;
}

void
mock_http_resp_clear(struct mock_http_resp *r)
{
	if (r == NULL)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Is the media type (before any parameters) application/otrp+json? */
static bool
is_otrp_type(const char *ct)
{
	size_t n = strlen(OTRP_MEDIA_TYPE);

	return strncasecmp(ct, OTRP_MEDIA_TYPE, n) == 0 && (ct[n] == '\0' || ct[n] == ';' ||
	    ct[n] == ' ');
}

int
mock_tee_run_session(struct mock_tee *mt, const char *url, struct mock_session_result *res,
    struct tam_err *err)
{
	struct mock_http_resp r = { 0 };
	struct tam_err e = { 0 };
	char *answer = NULL;
	size_t answer_len = 0;
	int rc = TAM_OK;

	memset(res, 0, sizeof(*res));
	if (url == NULL || !url_is_loopback(url)) {
		rc = tam_err_set(&e, TAM_EINVAL, "refusing non-loopback URL %.128s",
		    url != NULL ? url : "(null)");
		goto out;
	}
	for (;;) {
		if (res->rounds >= MOCK_SESSION_MAX_ROUNDS) {
			rc = tam_err_set(&e, TAM_EIO, "no 204 after %d POSTs", res->rounds);
			break;
		}
		rc = mock_http_post(url, answer != NULL ? OTRP_MEDIA_TYPE : NULL, OTRP_MEDIA_TYPE,
		    (const uint8_t *)answer, answer_len, &r, &e);
		res->rounds++;
		free(answer);
		answer = NULL;
		answer_len = 0;
		if (rc != TAM_OK)
			break;
		res->final_status = r.status;
		if (r.status == 204) {
			if (r.len != 0)
				rc = tam_err_set(&e, TAM_EMALFORMED, "204 with a %zu-byte body",
				    r.len);
			break;
		}
		if (r.status != 200) {
			rc = tam_err_set(&e, TAM_EIO, "HTTP %ld (%s): %.160s", r.status,
			    r.content_type, r.body != NULL ? r.body : "");
			break;
		}
		if (!is_otrp_type(r.content_type)) {
			rc = tam_err_set(&e, TAM_EMALFORMED, "200 with Content-Type \"%s\"",
			    r.content_type);
			break;
		}
		rc = mock_tee_process(mt, (const uint8_t *)r.body, r.len, &answer, &answer_len, &e);
		if (mock_tee_last_request(mt)[0] != '\0' &&
		    res->n_requests < MOCK_SESSION_MAX_RECORDED)
			snprintf(res->requests[res->n_requests++], MOCK_NAME_MAX, "%s",
			    mock_tee_last_request(mt));
		if (rc != TAM_OK)
			break;
		if (res->n_outcomes < MOCK_SESSION_MAX_RECORDED)
			snprintf(res->outcomes[res->n_outcomes++], MOCK_OUTCOME_MAX, "%s",
			    mock_tee_last_outcome(mt));
		mock_http_resp_clear(&r);
	}
out:
	if (rc != TAM_OK) {
		snprintf(res->error, sizeof(res->error), "%s", e.msg);
		if (err != NULL)
			*err = e;
	}
	mock_http_resp_clear(&r);
	free(answer);
	return rc;
}
