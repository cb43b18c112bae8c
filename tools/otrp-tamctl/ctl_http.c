// SPDX-License-Identifier: MIT
/*
 * The REST transport: the same requests over HTTP(S) with libcurl and a
 * bearer token. Only http and https, no redirects, no proxies: a token goes
 * to the URL the operator named and nowhere else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "tamctl.h"

/* JSON answers are small; anything bigger is not one of ours. */
#define MAX_JSON_ANSWER (64u << 20)

struct sink {
	CURL *h;
	struct tam_buf body;          /* JSON answers (and error answers of downloads) */
	FILE *file;                   /* downloads: where a 200 body goes */
	bool too_big;
};

static size_t
on_body(char *p, size_t size, size_t n, void *cls)
{
	struct sink *s = cls;
	long status = 0;

	n *= size;
	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
	if (s->file != NULL && status == 200)
		return fwrite(p, 1, n, s->file) == n ? n : 0;
	if (s->body.len + n > MAX_JSON_ANSWER) {
		s->too_big = true;
		return 0;
	}
	return tam_buf_append(&s->body, p, n) == TAM_OK ? n : 0;
}

/* base + path + "?" + escaped query. */
static char *
make_url(CURL *h, const char *base, const char *path, const char *const *query)
{
	struct tam_buf u = { 0 };
	size_t blen = strlen(base);
	char sep = '?';
	int rc;

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	rc = tam_buf_append(&u, base, blen);
	if (rc == TAM_OK)
		rc = tam_buf_append(&u, path, strlen(path));
	for (size_t i = 0; rc == TAM_OK && query != NULL && query[i] != NULL &&
	    query[i + 1] != NULL; i += 2) {
		char *v = curl_easy_escape(h, query[i + 1], 0);
		if (v == NULL) {
			rc = TAM_ENOMEM;
			break;
		}
		if ((rc = tam_buf_append(&u, &sep, 1)) == TAM_OK &&
		    (rc = tam_buf_append(&u, query[i], strlen(query[i]))) == TAM_OK &&
		    (rc = tam_buf_append(&u, "=", 1)) == TAM_OK)
			rc = tam_buf_append(&u, v, strlen(v));
		curl_free(v);
		sep = '&';
	}
	if (rc == TAM_OK)
		rc = tam_buf_append(&u, "", 1);
	if (rc != TAM_OK) {
		tam_buf_free(&u);
		return NULL;
	}
	return (char *)u.data;
}

static bool
url_allowed(const char *url)
{
	return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

int
ctl_http_request(struct ctl *c, const char *method, const char *path,
    const char *const *query, const char *body, size_t len, const char *upload_file,
    const char *const *headers, const char *out_file, struct ctl_resp *r)
{
	struct curl_slist *hl = NULL, *tmp;
	char errbuf[CURL_ERROR_SIZE] = "", line[700], part[4200];
	struct sink s = { 0 };
	FILE *up = NULL;
	char *url = NULL;
	struct stat sb;
	CURLcode cc;
	int rc = CTL_EXIT_OTHER;

	if (!url_allowed(c->url)) {
		fprintf(stderr, "otrp-tamctl: --url must start with http:// or https://\n");
		return CTL_EXIT_USAGE;
	}
	if ((s.h = curl_easy_init()) == NULL || (url = make_url(s.h, c->url, path, query)) == NULL)
		goto out;
	if (c->token != NULL) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", c->token);
		if ((tmp = curl_slist_append(hl, line)) == NULL)
			goto out;
		hl = tmp;
		tam_wipe(line, sizeof(line));
	}
	for (size_t i = 0; headers != NULL && headers[i] != NULL && headers[i + 1] != NULL; i += 2) {
		snprintf(line, sizeof(line), "%s: %s", headers[i], headers[i + 1]);
		if ((tmp = curl_slist_append(hl, line)) == NULL)
			goto out;
		hl = tmp;
	}
	if ((tmp = curl_slist_append(hl, "Accept: application/json, application/problem+json, "
	    "application/jose, application/jose+json")) == NULL)
		goto out;
	hl = tmp;
	curl_easy_setopt(s.h, CURLOPT_URL, url);
	curl_easy_setopt(s.h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s.h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(s.h, CURLOPT_PROXY, "");
	curl_easy_setopt(s.h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(s.h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(s.h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(s.h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s.h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(s.h, CURLOPT_CUSTOMREQUEST, method);
	if (c->cacert != NULL)
		curl_easy_setopt(s.h, CURLOPT_CAINFO, c->cacert);
	if (upload_file != NULL) {
		if ((up = fopen(upload_file, "rb")) == NULL || fstat(fileno(up), &sb) != 0) {
			fprintf(stderr, "otrp-tamctl: %s: %s\n", upload_file, strerror(errno));
			rc = errno == ENOENT ? CTL_EXIT_NOTFOUND : CTL_EXIT_OTHER;
			goto out;
		}
		/* UPLOAD streams from the file; CUSTOMREQUEST keeps the method POST. */
		curl_easy_setopt(s.h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(s.h, CURLOPT_READDATA, up);
		curl_easy_setopt(s.h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)sb.st_size);
	} else if (body != NULL) {
		curl_easy_setopt(s.h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(s.h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	if (out_file != NULL) {
		snprintf(part, sizeof(part), "%s.tmp", out_file);
		if ((s.file = fopen(part, "wb")) == NULL) {
			fprintf(stderr, "otrp-tamctl: %s: %s\n", part, strerror(errno));
			goto out;
		}
	}
	cc = curl_easy_perform(s.h);
	if (cc != CURLE_OK) {
		fprintf(stderr, "otrp-tamctl: %s: %s\n", c->url,
		    s.too_big ? "answer too large" : errbuf[0] ? errbuf : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(s.h, CURLINFO_RESPONSE_CODE, &r->status);
	if (s.body.len > 0)
		r->json = json_loadb((const char *)s.body.data, s.body.len, 0, NULL);
	rc = CTL_EXIT_OK;
	if (s.file != NULL) {
		if (fclose(s.file) != 0 || (r->status == 200 && rename(part, out_file) != 0)) {
			fprintf(stderr, "otrp-tamctl: cannot write %s: %s\n", out_file, strerror(errno));
			rc = CTL_EXIT_OTHER;
		}
		s.file = NULL;
		if (r->status != 200 || rc != CTL_EXIT_OK)
			unlink(part);
	}
out:
	if (s.file != NULL) {
		fclose(s.file);
		unlink(part);
	}
	if (up != NULL)
		fclose(up);
	curl_slist_free_all(hl);
	curl_easy_cleanup(s.h);
	free(url);
	tam_buf_free(&s.body);
	return rc;
}
