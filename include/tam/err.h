/* SPDX-License-Identifier: MIT */
/*
 * Error codes shared by every module. Functions return 0 or a negative TAM_E*
 * code and, when the caller passes one, fill a struct tam_err with a sentence
 * for humans. The code is what callers branch on; the message is for logs.
 */
#ifndef TAM_ERR_H
#define TAM_ERR_H

#include <stddef.h>

enum tam_errcode {
	TAM_OK = 0,
	TAM_EINVAL = -1,            /* bad argument or malformed local input */
	TAM_ENOMEM = -2,
	TAM_EIO = -3,               /* file or socket I/O */
	TAM_ENOTFOUND = -4,         /* no such record */
	TAM_ECONFLICT = -5,         /* record exists, or lost a race */
	TAM_ECRYPTO = -6,           /* internal crypto library failure */
	TAM_EDB = -7,               /* database failure */
	TAM_EMALFORMED = -10,       /* peer message: bad JSON or structure */
	TAM_EUNSUPPORTED = -11,     /* peer message: version or feature */
	TAM_EALG = -12,             /* algorithm not allowed or not fit for the key */
	TAM_ESIGNATURE = -13,       /* signature does not verify */
	TAM_EDECRYPT = -14,         /* any decryption failure, one code for all */
	TAM_ECERT_UNTRUSTED = -15,  /* chain does not reach a trust anchor */
	TAM_ECERT_EXPIRED = -16,    /* a certificate in the chain is out of date */
	TAM_ECERT_INVALID = -17,    /* certificate unusable (key usage, key size) */
	TAM_EDEVICE_UNKNOWN = -18,  /* no certificate and no enrolled key */
	TAM_EDEVICE_MISMATCH = -19, /* response names or is signed by another device */
	TAM_ERID_UNKNOWN = -20,     /* rid never issued */
	TAM_ERID_REPLAYED = -21,    /* rid already answered */
	TAM_ERID_EXPIRED = -22,     /* rid timed out or was superseded */
	TAM_EMSG_UNEXPECTED = -23,  /* message type does not answer the pending request */
	TAM_ETOO_LARGE = -24,       /* input exceeds a configured limit */
	TAM_EDENIED = -25,          /* device decommissioned or operation not allowed */
	TAM_EUSAGE = -26,           /* command-line usage error */
	TAM_EVERSION = -27,         /* peer message: protocol version we do not speak */
	TAM_ECERT_REVOKED = -28,    /* a certificate in the chain is revoked (CRL) */
	TAM_ERATE_LIMITED = -29,    /* the client spent its budget for this kind of request */
	TAM_EQUOTA = -40,           /* a tenant's storage quota would be exceeded */
	TAM_EBUSY = -42,            /* a bounded resource is in use: try again later */
};

#define TAM_ERR_MSG_MAX 256

struct tam_err {
	int code;                   /* last TAM_E* code set */
	char msg[TAM_ERR_MSG_MAX];  /* human-readable detail, never secret */
	/*
	 * Optional stable name of the precise failure, for machine-readable
	 * error bodies ("ta.version_not_newer"); a static string, NULL if none.
	 */
	const char *kind;
};

/* Record code and message in *e (if non-NULL), clear kind, and return code. */
int tam_err_set(struct tam_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* tam_err_set with a kind. */
int tam_err_setk(struct tam_err *e, int code, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Stable lower-case name of a code, for logs and JSON error bodies. */
const char *tam_err_name(int code);

#endif
