/* SPDX-License-Identifier: MIT */
/*
 * Compile-time bounds on everything that comes from the network or a file.
 * Each is an overridable macro; the runtime limits (body size, TTLs) are
 * configuration with these as defaults.
 */
#ifndef TAM_LIMITS_H
#define TAM_LIMITS_H

#ifndef TAM_MAX_BODY_BYTES
#define TAM_MAX_BODY_BYTES (1u << 20)        /* default OTrP POST body limit */
#endif
#ifndef TAM_MAX_TA_BYTES
#define TAM_MAX_TA_BYTES (512u << 20)        /* SP-signed TA bundle; limits.max_upload's ceiling */
#endif
#ifndef TAM_MAX_AIST_DEVICES
#define TAM_MAX_AIST_DEVICES 64              /* aist-profile devices: each answer tries their keys */
#endif
#ifndef TAM_MAX_PDATA_BYTES
#define TAM_MAX_PDATA_BYTES (1000u << 10)    /* personalization data of a TA version (in one API body) */
#endif
#ifndef TAM_MAX_CERT_BYTES
#define TAM_MAX_CERT_BYTES (16u << 10)       /* one DER certificate */
#endif
#ifndef TAM_MAX_CHAIN_CERTS
#define TAM_MAX_CHAIN_CERTS 8                /* x5c / cacert entries */
#endif
#ifndef TAM_MAX_PEM_BYTES
#define TAM_MAX_PEM_BYTES (256u << 10)       /* key or certificate file */
#endif
#ifndef TAM_MAX_SDS
#define TAM_MAX_SDS 64                       /* SDs one DSI may list */
#endif
#ifndef TAM_MAX_TAS
#define TAM_MAX_TAS 256                      /* TAs one DSI may list */
#endif
#ifndef TAM_MAX_ASSIGNMENTS
#define TAM_MAX_ASSIGNMENTS 1024             /* assignments per device */
#endif
#ifndef TAM_AUDIT_REFUSALS_PER_MINUTE
#define TAM_AUDIT_REFUSALS_PER_MINUTE 60     /* API refusals and downloads audited a minute per client */
#endif
#ifndef TAM_MAX_TA_REQUIRES
#define TAM_MAX_TA_REQUIRES 16               /* TAs one TA version may require */
#endif
#ifndef TAM_MAX_REQUIRE_DEPTH
#define TAM_MAX_REQUIRE_DEPTH 64             /* requirement chain followed for implied assignments */
#endif

#define TAM_SPID_MAX 64                      /* SP id, bytes incl. NUL */
#define TAM_SDNAME_MAX 64                    /* SD name, bytes incl. NUL */
#define TAM_TAID_MAX 64                      /* TA id (UUID text), incl. NUL */
#define TAM_TANAME_MAX 128                   /* friendly TA name, incl. NUL */
#define TAM_VERSION_MAX 32                   /* TA version text, incl. NUL */
#define TAM_TEENAME_MAX 128                  /* TEE routing name, incl. NUL */
#define TAM_DID_HEX 65                       /* SHA-256 hex + NUL */
#define TAM_RID_MAX 64                       /* rid/tid as received, incl. NUL */
#define TAM_NAME_MAX 64                      /* operator-chosen labels */
#define TAM_OID_MAX 128                      /* an OID in dotted numbers, incl. NUL */

#define TAM_DEFAULT_REQUEST_TTL 300          /* seconds a rid stays answerable */
#ifndef TAM_RETRY_BASE_SECONDS
#define TAM_RETRY_BASE_SECONDS 300           /* first wait after a TEE refused an operation */
#endif
#ifndef TAM_RETRY_MAX_SECONDS
#define TAM_RETRY_MAX_SECONDS 86400          /* the wait doubles per refusal up to this */
#endif
#define TAM_BUSY_RETRY_SECONDS 30           /* Retry-After for a broker whose TEE was busy */
#ifndef TAM_STREAM_ABOVE_BYTES
#define TAM_STREAM_ABOVE_BYTES (2u << 20)    /* default limits.stream_ta_above: larger sealed TAs
                                                are streamed from the database as they are sent */
#endif
#ifndef TAM_STREAMS
#define TAM_STREAMS 4                        /* default limits.streamed_answers (all devices) */
#endif
#ifndef TAM_STREAMS_PER_DEVICE
#define TAM_STREAMS_PER_DEVICE 1             /* default limits.streamed_answers_per_device */
#endif
#ifndef TAM_STREAM_RETRY_SECONDS
#define TAM_STREAM_RETRY_SECONDS 10          /* Retry-After of a 503 when no stream is free */
#endif

#endif
