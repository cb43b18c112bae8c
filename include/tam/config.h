/* SPDX-License-Identifier: MIT */
/*
 * The daemon's configuration: one table of keys (section, name, type, bounds,
 * default, help) that drives the file parser (libinih), the command-line
 * overrides, the documentation checks and --check-config. Nothing else
 * decides what a valid setting is.
 */
#ifndef TAM_CONFIG_H
#define TAM_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tam/err.h"
#include "tam/limits.h"
#include "tam/util.h"

#define TAM_CONFIG_DEFAULT_PATH "/etc/otrp-tamd/otrp-tamd.conf"
#define TAM_CONFIG_MAX_BYTES (64u << 10)
#define TAM_CONFIG_PATH_MAX 1024

struct tam_config {
	/* [otrp]: the listener brokers talk to */
	char otrp_address[64];                    /* numeric address to bind */
	unsigned otrp_port;                       /* 0: the kernel picks */
	char otrp_path[128];                      /* endpoint path */
	char otrp_tls_cert[TAM_CONFIG_PATH_MAX];  /* PEM chain; empty: plain HTTP */
	char otrp_tls_key[TAM_CONFIG_PATH_MAX];   /* PEM key for tls_cert */
	char otrp_tls_client_ca[TAM_CONFIG_PATH_MAX]; /* PEM CAs; set: client certificates required */
	char otrp_tls_client_crl[TAM_CONFIG_PATH_MAX]; /* CRLs of those CAs; "": none checked */
	/* [api]: health, metrics (and the REST API) */
	bool api_enabled;
	char api_address[64];
	unsigned api_port;
	char api_tls_cert[TAM_CONFIG_PATH_MAX];
	char api_tls_key[TAM_CONFIG_PATH_MAX];
	char api_tls_client_ca[TAM_CONFIG_PATH_MAX];
	char api_tls_client_crl[TAM_CONFIG_PATH_MAX];
	/* [database] */
	char db_path[TAM_CONFIG_PATH_MAX];
	/* [identity]: overrides what `otrp-tamctl init` stored */
	char tam_key[TAM_CONFIG_PATH_MAX];
	char tam_cert[TAM_CONFIG_PATH_MAX];
	char tamid[256];
	char alt_key[TAM_CONFIG_PATH_MAX];        /* second identity, other algorithm; "": none */
	char alt_cert[TAM_CONFIG_PATH_MAX];
	char ocsp_dir[TAM_CONFIG_PATH_MAX];       /* DER OCSP responses to staple; "": none */
	char ocsp_stale[8];                       /* "refuse" or "warn" */
	/* [aist]: the AIST interop profile (docs/interop-aist.md) */
	char aist_path[128];                      /* its endpoint on the OTrP listener; "": off */
	char aist_tam_key[TAM_CONFIG_PATH_MAX];   /* the TAM key its device builds carry */
	/* [trust] */
	char trust_anchor_dir[TAM_CONFIG_PATH_MAX]; /* extra TEE anchors, *.pem / *.crt */
	bool auto_register;                       /* register new certificate TEEs */
	char tee_eku[TAM_OID_MAX];                /* OID TEE certificates must list; "": none */
	/* [limits] */
	size_t max_body;                          /* bytes of one OTrP POST body */
	size_t max_upload;                        /* bytes of one TA bundle upload */
	size_t sp_quota_bytes;                    /* bytes of bundles one SP may store; 0: no limit */
	unsigned sp_quota_versions;               /* TA versions one SP may store; 0: no limit */
	int64_t request_ttl;                      /* seconds a request stays answerable */
	unsigned threads;                         /* server threads */
	unsigned connection_limit;                /* concurrent connections, all clients */
	unsigned per_ip_connection_limit;         /* concurrent connections per client address */
	unsigned connection_timeout;              /* seconds of inactivity before closing */
	unsigned header_timeout;                  /* seconds in all for a request's headers */
	unsigned body_timeout;                    /* seconds in all for a request's body */
	unsigned open_rate;                       /* session opens a minute per client; 0: no limit */
	unsigned open_burst;                      /* ... at most this many at once */
	unsigned failure_rate;                    /* failed OTrP messages a minute per client; 0: none */
	unsigned failure_burst;
	unsigned shutdown_timeout;                /* seconds SIGTERM waits for sessions in flight */
	size_t stream_ta_above;                   /* bytes of a sealed TA above which it is streamed */
	unsigned streamed_answers;                /* streamed TA answers in flight, all devices */
	unsigned streamed_answers_per_device;     /* ... for one device */
	/* [retention] */
	int64_t keep_sessions;                    /* seconds finished sessions and requests stay */
	int64_t keep_audit;                       /* seconds audit rows stay; 0: for ever */
	int64_t keep_withdrawn;                   /* seconds withdrawn bundles stay; 0: for ever */
	int64_t housekeeping_every;               /* seconds between housekeeping rounds */
	/* [log] */
	int log_level;                            /* enum tam_log_level */
};

enum tam_config_type {
	TAM_CFG_STRING,      /* bounded text */
	TAM_CFG_PATH,        /* bounded file system path, empty allowed */
	TAM_CFG_ADDRESS,     /* numeric IPv4 or IPv6 address */
	TAM_CFG_UINT,        /* unsigned within [min, max] */
	TAM_CFG_SIZE,        /* bytes within [min, max]; accepts K, M, G suffixes */
	TAM_CFG_SECONDS,     /* seconds within [min, max]; accepts s, m, h, d suffixes */
	TAM_CFG_BOOL,        /* yes/no, true/false, on/off, 1/0 */
	TAM_CFG_LOGLEVEL,    /* error, warn, info, debug */
};

struct tam_config_key {
	const char *section;
	const char *name;
	enum tam_config_type type;
	size_t offset;                            /* into struct tam_config */
	size_t size;                              /* bytes of the field */
	uint64_t min, max;                        /* numeric bounds */
	const char *def;                          /* default, as written in the file */
	bool reloadable;                          /* takes effect on SIGHUP */
	const char *help;                         /* one line */
};

/* Every key, in documentation order. */
const struct tam_config_key *tam_config_keys(size_t *n);

/* Fill every field with its default. */
void tam_config_defaults(struct tam_config *c);

/*
 * Apply a configuration text over c. Every error names source, the line and
 * the key: unknown sections and keys, bad values, duplicates, overlong
 * lines. On error c may be partly changed: parse into a copy.
 */
int tam_config_parse(const char *text, size_t len, const char *source, struct tam_config *c,
    struct tam_err *err) TAM_WUR;
/* Read path (at most TAM_CONFIG_MAX_BYTES) and parse it over c. */
int tam_config_load(const char *path, struct tam_config *c, struct tam_err *err) TAM_WUR;
/* Set one key from text, as the file would ("otrp.port", "8080"). */
int tam_config_set(struct tam_config *c, const char *dotted_key, const char *value,
    struct tam_err *err) TAM_WUR;
/* Checks across keys (TLS key without certificate, ...). */
int tam_config_validate(const struct tam_config *c, struct tam_err *err) TAM_WUR;
/*
 * Describe what differs between two configurations, one "key: old -> new"
 * per changed key, into out; *restart_needed is set if a changed key is not
 * reloadable.
 */
void tam_config_diff(const struct tam_config *a, const struct tam_config *b, char *out,
    size_t outlen, bool *restart_needed);

#endif
